"""`--forward-env`: a forward target from the standard `OTEL_EXPORTER_OTLP_*` variables.

Honoured: `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `_PROTOCOL` (`grpc`, `http/protobuf`;
default `http/protobuf` as the spec says), `_HEADERS` (`k=v,k2=v2`, URL-encoded
values), `_COMPRESSION`, `_TIMEOUT` (milliseconds), `_CERTIFICATE` and `_INSECURE`.
A generic endpoint gets `/v1/traces` appended for HTTP; a traces endpoint is used as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from kubespan.forward.settings import GRPC, HTTP, ForwardSettings, TlsSettings

PREFIX = "OTEL_EXPORTER_OTLP_"


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(f"{PREFIX}TRACES_{name}") or environ.get(f"{PREFIX}{name}")
    return value.strip() if value else None


def settings_from_env(environ: Mapping[str, str]) -> ForwardSettings | None:
    """The target the variables describe, or None when no endpoint is set."""
    traces_endpoint = environ.get(f"{PREFIX}TRACES_ENDPOINT", "").strip()
    endpoint = traces_endpoint or environ.get(f"{PREFIX}ENDPOINT", "").strip()
    if not endpoint:
        return None
    protocol = (_get(environ, "PROTOCOL") or "http/protobuf").lower()
    if protocol not in ("grpc", "http/protobuf"):
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: kubespan forwards grpc or http/protobuf")
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    insecure = parts.scheme == "http" or (_get(environ, "INSECURE") or "").lower() == "true"
    tls = TlsSettings(insecure=insecure, ca_file=_get(environ, "CERTIFICATE"))
    name = f"$OTEL_EXPORTER_OTLP_{'TRACES_' if traces_endpoint else ''}ENDPOINT"
    if protocol == "grpc":
        target = parts.netloc or endpoint
        settings = ForwardSettings(name, GRPC, target if parts.port else f"{target}:4317", tls=tls)
    else:
        path = parts.path if traces_endpoint else parts.path.rstrip("/") + "/v1/traces"
        netloc = parts.netloc if parts.port else f"{parts.netloc}:4318"
        settings = ForwardSettings(name, HTTP, f"{parts.scheme}://{netloc}{path or '/'}", tls=tls)
    compression = (_get(environ, "COMPRESSION") or "").lower()
    changes: dict = {
        "headers": parse_env_headers(_get(environ, "HEADERS") or ""),
        "compression": "gzip" if compression == "gzip" else "none",  # the spec's default is none
    }
    timeout = _get(environ, "TIMEOUT")
    if timeout:
        changes["timeout"] = float(timeout) / 1000.0
    return settings.with_options(**changes)


def parse_env_headers(text: str) -> tuple[tuple[str, str], ...]:
    """W3C-baggage-like `key=value,key2=value2` with URL-encoded values."""
    headers = []
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers.append((unquote(key.strip()), unquote(value.strip())))
    return tuple(headers)
