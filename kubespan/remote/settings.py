"""How to reach a remote Tempo-compatible API: its URL, credentials, TLS and limits.

Secrets (the bearer token, header values, a password in the URL) never appear in a repr, an
error message or a log line: `display_url` is the URL without its user info.
"""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass, field

DEFAULT_URL = "http://127.0.0.1:3200"
DEFAULT_LIMIT = 500
"""Traces asked for per search (`--limit`)."""
DEFAULT_TIMEOUT_S = 10.0
"""Connect and read timeout of one request."""
DEFAULT_LOOKBACK_S = 3600.0
"""The live window: traces that started in the last hour (`--since`)."""
DEFAULT_MAX_BODY_MIB = 256.0
"""The largest answer read (a trace of 50,000 spans is ~30 MiB of JSON, ~10 of protobuf)."""


class SettingsError(ValueError):
    """A URL, header or file the user gave cannot be used; `str()` is one line without secrets."""


@dataclass(frozen=True)
class RemoteSettings:
    """Everything `kubespan attach` needs to talk to the remote API."""

    url: str = DEFAULT_URL
    """Base URL (scheme, host, port, optional path prefix), without user info."""
    token: str | None = field(default=None, repr=False)
    """Sent as `Authorization: Bearer TOKEN`."""
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Extra headers (`--header K=V`), sent as given; `Authorization` here wins over the token."""
    ca_file: str | None = None
    client_cert: str | None = None
    """A client certificate chain (PEM) for a remote that asks for one (kubespan's `--tls-client-ca`)."""
    client_key: str | None = None
    """Its private key; None when `client_cert` holds it too."""
    insecure_skip_verify: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    limit: int = DEFAULT_LIMIT
    lookback_s: float = DEFAULT_LOOKBACK_S
    max_body_bytes: int = int(DEFAULT_MAX_BODY_MIB * 1024 * 1024)

    @property
    def parts(self) -> urllib.parse.SplitResult:
        return urllib.parse.urlsplit(self.url)

    @property
    def tls(self) -> bool:
        return self.parts.scheme == "https"

    @property
    def display_url(self) -> str:
        return self.url.rstrip("/")

    def request_headers(self) -> dict[str, str]:
        """The headers every request carries (credentials included)."""
        headers = {"User-Agent": "kubespan-attach", "Accept-Encoding": "gzip"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for key, value in self.headers:
            headers[key] = value
        return headers


def parse_url(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """`text` as a base URL plus the headers its user info stands for (`https://user:pass@host`
    becomes basic auth, Grafana Cloud style). A bare `host:port` means http://."""
    raw = text.strip()
    if not raw:
        raise SettingsError("the URL is empty")
    if "://" not in raw:
        raw = "http://" + raw
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise SettingsError(f"unsupported scheme {parts.scheme!r}: want http:// or https://")
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"invalid port in {_without_userinfo(parts)}") from None
    if not parts.hostname:
        raise SettingsError(f"no host in {_without_userinfo(parts)}")
    if parts.query or parts.fragment:
        raise SettingsError(f"{_without_userinfo(parts)}: a base URL takes no query or fragment")
    headers: tuple[tuple[str, str], ...] = ()
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers = (("Authorization", f"Basic {credentials}"),)
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")), headers


def _without_userinfo(parts: urllib.parse.SplitResult) -> str:
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def parse_header(text: str) -> tuple[str, str]:
    """`K=V` or `K: V` (`Authorization=Basic dXNlcjp0b2tlbg==`). Errors name the key, never the value."""
    for separator in ("=", ":"):
        key, found, value = text.partition(separator)
        key = key.strip()
        if found and key:
            if not all("!" <= char <= "~" and char != ":" for char in key):
                raise SettingsError("invalid header name: want letters, digits and -_. (not repeated here)")
            if any(char in value for char in "\r\n\0"):
                raise SettingsError(f"header {key}: the value holds a line break or NUL")
            return key, value.strip()
    raise SettingsError("invalid header: want K=V (the value is not repeated here)")
