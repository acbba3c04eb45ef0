"""Receiver settings shared by the gRPC and HTTP servers, and their common checks."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

DEFAULT_GRPC = "127.0.0.1:4317"
DEFAULT_HTTP = "127.0.0.1:4318"
DEFAULT_MAX_RECV_MIB = 64.0
"""Largest accepted request after decompression; OTLP 1.11 recommends 64 MiB."""
SUCCESS_PROTOBUF = b"\x0a\x00"
"""The Collector always serialises an empty `partial_success`: field 1, length 0."""


@dataclass(slots=True)
class ReceiverSettings:
    """Where and how the receivers listen. `None` disables a protocol."""

    grpc: str | None = DEFAULT_GRPC
    http: str | None = DEFAULT_HTTP
    max_recv_mib: float = DEFAULT_MAX_RECV_MIB
    token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None

    @property
    def max_recv_bytes(self) -> int:
        return int(self.max_recv_mib * 1024 * 1024)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    def authorized(self, header: str | None) -> bool:
        """Check an `authorization` value against the token in constant time."""
        if not self.token:
            return True
        expected = f"Bearer {self.token}".encode()
        return hmac.compare_digest((header or "").encode(), expected)


def split_host_port(address: str) -> tuple[str, int]:
    """Parse `host:port` or `[v6]:port`; raise ValueError with a clear message."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid address {address!r}: want HOST:PORT")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
