"""Forwarding settings: where to send, how, and the Collector's exporter defaults.

`ForwardSettings.from_url` parses `--forward URL`; the Collector config loader and
`OTEL_EXPORTER_OTLP_*` build the same object, so every front end forwards alike.
Defaults are the Collector's OTLP exporter (otlp-spec §5): gzip (except `--forward`
to a loopback address, sent uncompressed), 5 s per attempt,
a queue of 1000 requests, retries from 5 s ×1.5 ±50 % up to 30 s, give up at 5 min.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

GRPC = "grpc"
HTTP = "http"
TRACES_PATH = "/v1/traces"
DEFAULT_PORTS = {"grpc": 4317, "http": 4318, "grpcs": 443, "https": 443}
"""A URL without a port: plaintext means a local OTLP receiver (4317/4318); TLS means a
remote endpoint behind a load balancer, and 443, as the Collector and the SDKs dial it."""
DEFAULT_QUEUE_SIZE = 1000
DEFAULT_CONSUMERS = 4
"""Sender threads per target. The Collector uses 10 goroutines; in Python, sends run in
grpc/zlib without the GIL and 4 threads keep a loopback backend busy, while more only
add GIL hand-offs that slow the receiving thread."""
DEFAULT_TIMEOUT_S = 5.0
SECRET_HINTS = ("authorization", "token", "key", "secret", "password", "cookie", "auth")
"""Header names whose values are never shown (matched as substrings)."""


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """`retry_on_failure`: exponential backoff with jitter (cenkalti's algorithm)."""

    enabled: bool = True
    initial_interval: float = 5.0
    max_interval: float = 30.0
    max_elapsed_time: float = 300.0  # 0 = retry forever
    multiplier: float = 1.5
    randomization_factor: float = 0.5


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """`sending_queue`: bounded, never blocks the receiver (`block_on_overflow: false`)."""

    size: int = DEFAULT_QUEUE_SIZE
    sizer: str = "requests"  # "requests" or "spans"
    consumers: int = DEFAULT_CONSUMERS


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Client TLS: `insecure` means plaintext; the rest applies when TLS is on."""

    insecure: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False
    server_name: str | None = None


@dataclass(frozen=True, slots=True)
class ForwardSettings:
    """One forwarding target (an exporter)."""

    name: str
    protocol: str  # GRPC or HTTP
    target: str  # gRPC: host:port; HTTP: full URL including the traces path
    headers: tuple[tuple[str, str], ...] = ()
    compression: str = "gzip"  # "gzip" or "none"
    timeout: float = DEFAULT_TIMEOUT_S
    tls: TlsSettings = field(default_factory=TlsSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    queue: QueueSettings = field(default_factory=QueueSettings)

    @classmethod
    def from_url(cls, url: str, name: str | None = None) -> ForwardSettings:
        """`grpc://h:p`, `grpcs://h:p`, `http://h:p[/base]`, `https://h:p[/base]`."""
        from kubespan.forward.urls import WANT, shown, url_problem

        problem = url_problem(url)
        if problem:
            raise ValueError(f"invalid forward URL {shown(url)!r}: {problem}; {WANT}")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        name = name or shown(url)
        compression = "none" if is_loopback_host(parts.hostname) else "gzip"
        netloc = parts.netloc.rpartition("@")[2]
        if parts.port is None:
            netloc += f":{DEFAULT_PORTS[scheme]}"
        if scheme in ("grpc", "grpcs"):
            return cls(name, GRPC, netloc, tls=TlsSettings(insecure=scheme == "grpc"), compression=compression)
        path = parts.path.rstrip("/")
        if not path.endswith(TRACES_PATH):
            path += TRACES_PATH
        tls = TlsSettings(insecure=scheme == "http")
        return cls(name, HTTP, f"{scheme}://{netloc}{path}", tls=tls, compression=compression)

    def with_options(self, **changes) -> ForwardSettings:
        return replace(self, **changes)

    def describe(self) -> str:
        """A one-line, secret-free description for logs."""
        scheme = "grpcs" if self.protocol == GRPC and not self.tls.insecure else self.protocol
        where = self.target if self.protocol == HTTP else f"{scheme}://{self.target}"
        headers = ", ".join(f"{k}={redact(k, v)}" for k, v in self.headers)
        return f"{where} ({self.compression}{'; headers ' + headers if headers else ''})"


def is_loopback_host(host: str | None) -> bool:
    """localhost, 127.0.0.0/8 or ::1: `--forward` skips gzip there (CPU for no bandwidth saved)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redact(key: str, value: str) -> str:
    """The value to show for a header: secrets become `<redacted>`."""
    lowered = key.lower()
    if any(hint in lowered for hint in SECRET_HINTS):
        return "<redacted>"
    return value


def parse_header(text: str) -> tuple[str, str]:
    """`KEY=VALUE` (or `KEY: VALUE`) for `--forward-header`."""
    for sep in ("=", ":"):
        key, found, value = text.partition(sep)
        if found and key.strip():
            return key.strip(), value.strip()
    raise ValueError(f"invalid header {text.split('=')[0]!r}: want KEY=VALUE")


def parse_queue_size(text: str) -> tuple[int, str]:
    """`1000`, `1000requests` or `200000spans` → (size, sizer)."""
    lowered = text.strip().lower()
    for suffix, sizer in (("requests", "requests"), ("spans", "spans"), ("items", "spans")):
        if lowered.endswith(suffix):
            lowered, chosen = lowered[: -len(suffix)], sizer
            break
    else:
        chosen = "requests"
    if not lowered.isdigit() or int(lowered) <= 0:
        raise ValueError(f"invalid queue size {text!r}: want N, Nrequests or Nspans (N > 0)")
    return int(lowered), chosen
