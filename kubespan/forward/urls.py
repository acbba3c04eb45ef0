"""What is wrong with a `--forward` URL, in one line, and the near-misses worth a warning."""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("grpc", "grpcs", "http", "https")
WANT = "want grpc://HOST:PORT, grpcs://HOST:PORT, http://HOST:PORT or https://HOST:PORT"
TRACES_PATH = "/v1/traces"


def shown(url: str) -> str:
    """`url` with any password in it replaced, for messages and names."""
    parts = urlsplit(url)
    if "@" not in parts.netloc or parts.password is None:
        return url
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return parts._replace(netloc=f"{user}:<redacted>@{parts.netloc.rpartition('@')[2]}").geturl()


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a forward target, or None when it can."""
    if "://" not in url:
        return "no scheme"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return f"unknown scheme {parts.scheme!r}"
    if not parts.hostname:
        return "no host"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port when it is read
    except ValueError:
        return f"the port {parts.netloc.rpartition(':')[2]!r} is not a number from 0 to 65535"
    if parts.query or parts.fragment:
        return "a query or fragment (?… #…) has no meaning here"
    return None


def url_warnings(url: str) -> list[str]:
    """Mistakes that still make a URL: a path that looks like a misspelt `/v1/traces`, a gRPC path."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path:
        return []
    if parts.scheme.lower() in ("grpc", "grpcs"):
        return [(f"gRPC targets have no path: {parts.path} is ignored, spans go to the OTLP/gRPC service at "
                 f"{parts.netloc}")]
    if path.endswith(TRACES_PATH):
        return []
    segments = path.lower().split("/")
    if not ({"v1", "trace", "traces", "span", "spans"} & set(segments) or segments[-1].startswith("trac")):
        return []  # a base path (`https://h/otlp`): /v1/traces is added, as intended
    base = path[: path.lower().rfind("/v1")] if "/v1" in path.lower() else path.rpartition("/")[0]
    sent = f"{parts.scheme}://{parts.netloc}{path}{TRACES_PATH}"
    meant = f"{parts.scheme}://{parts.netloc}{base}{TRACES_PATH}"
    return [f"spans go to {sent} (the path is a base; {TRACES_PATH} is added): did you mean {meant}?"]
