"""Receiver settings shared by the gRPC and HTTP servers, and their common checks."""

from __future__ import annotations

import errno
import hashlib
import hmac
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field

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
    token: str | None = field(default=None, repr=False)  # never shown, not even in a repr
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None

    @property
    def max_recv_bytes(self) -> int:
        return int(self.max_recv_mib * 1024 * 1024)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    @property
    def client_auth(self) -> bool:
        """True when callers must prove who they are: a token or client certificates."""
        return bool(self.token or (self.tls and self.tls_client_ca))

    def authorized(self, header: str | None) -> bool:
        """Check an `authorization` value against `Bearer TOKEN` in constant time.

        The scheme is case-insensitive (RFC 7235). Both sides are hashed first so the
        comparison takes the same time whatever the length of the value sent.
        """
        if not self.token:
            return True
        scheme, _, credentials = (header or "").partition(" ")
        given = hashlib.sha256(credentials.encode("utf-8", "surrogatepass")).digest()
        expected = hashlib.sha256(self.token.encode()).digest()
        matches = hmac.compare_digest(given, expected)
        return matches and scheme.lower() == "bearer"

    def server_ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of the HTTP receiver; also validates the files for gRPC."""
        if not (self.tls_cert and self.tls_key):
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot load --tls-cert {self.tls_cert} / --tls-key {self.tls_key}: {exc}") from None
        if self.tls_client_ca:
            try:
                context.load_verify_locations(self.tls_client_ca)
            except (OSError, ValueError) as exc:
                raise ValueError(f"cannot load --tls-client-ca {self.tls_client_ca}: {exc}") from None
            context.verify_mode = ssl.CERT_REQUIRED
        return context


def split_host_port(address: str) -> tuple[str, int]:
    """Parse `host:port` or `[v6]:port`; raise ValueError with a clear message."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid address {address!r}: want HOST:PORT")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def listen_address(address: str) -> str:
    """The `host:port` to bind: an empty host (`:4317`) means loopback, not every interface."""
    host, port = split_host_port(address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ListenError(OSError):
    """A receiver cannot listen where it was asked to; the message is one line for the user."""


def check_can_listen(address: str) -> None:
    """Raise `ListenError` when `address` cannot be bound (in use, not ours, not allowed).

    Checked with a socket of our own before the server binds, because grpc core answers
    a port in use with a log line, a `GRPC_VERBOSITY` hint and a bare RuntimeError.
    """
    host, port = split_host_port(address)
    shown = listen_address(address)
    try:
        candidates = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ListenError(f"cannot listen on {shown}: {host!r} is not a name or address of this machine") from None
    failures = []
    for family, kind, proto, _, sockaddr in candidates:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as both servers bind
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise listen_error(shown, exc) from None
                failures.append(exc)
    if failures and len(failures) == len(candidates):  # a name binds where it can (localhost without ::1)
        raise listen_error(shown, failures[0])


def listen_error(shown: str, exc: OSError) -> ListenError:
    """The one-line explanation of a failed bind."""
    if exc.errno == errno.EADDRINUSE:
        return ListenError(f"{shown} is already in use (is another kubespan or a Collector running?)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return ListenError(f"cannot listen on {shown}: not an address of this machine")
    if exc.errno == errno.EACCES:
        return ListenError(f"cannot listen on {shown}: permission denied (ports below 1024 need privileges)")
    return ListenError(f"cannot listen on {shown}: {exc.strerror or exc}")


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
