"""One port for HTTP/1.1 and gRPC: a connection that opens with HTTP/2's preface goes to the gRPC server,
every other one to aiohttp.

Tempo serves its HTTP API and its streaming gRPC API (`tempopb.StreamingQuerier`) on one port; Grafana and
`tempo-cli --use-grpc` expect that. The query API does the same: each accepted connection (after the TLS
handshake, when TLS is on) is sniffed on its first bytes. HTTP/2 with prior knowledge (h2c, or h2 chosen by
ALPN) starts with `PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n`; such a connection is relayed byte for byte to
kubespan's grpcio server, which listens only on a Unix socket in a private directory (0700). Anything else
is handed, with the bytes already read, to aiohttp's own protocol, untouched.

TLS: the API's context offers ALPN `http/1.1` first and `h2` second, so an HTTP client that offers both
(Go's, Grafana's, curl's) keeps HTTP/1.1 with aiohttp, and a gRPC client (which offers only `h2`) gets
HTTP/2. The bearer token is checked by the gRPC service itself (kubespan.api.grpc_querier).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from aiohttp import web

LOG = logging.getLogger("kubespan.api")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SNIFF_TIMEOUT_S = 30.0
"""A connection that has not said what it speaks by then is closed."""
ALPN = ["http/1.1", "h2"]
"""Server preference: HTTP/1.1 for whoever offers it, h2 for gRPC clients (they offer only h2)."""


def with_alpn(context: ssl.SSLContext | None) -> ssl.SSLContext | None:
    if context is not None:
        context.set_alpn_protocols(ALPN)
    return context


class _Relay(asyncio.Protocol):
    """The gRPC server's side of a relayed connection: what it sends goes back to the client."""

    def __init__(self, front: SniffingProtocol) -> None:
        self.front = front
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.front.transport is not None and not self.front.transport.is_closing():
            self.front.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.front.close()

    def pause_writing(self) -> None:  # the gRPC server reads slowly: stop reading the client
        if self.front.transport is not None:
            self.front.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.front.transport is not None and not self.front.transport.is_closing():
            self.front.transport.resume_reading()


class SniffingProtocol(asyncio.Protocol):
    """Reads up to the length of HTTP/2's preface, then becomes aiohttp's protocol or a relay to gRPC."""

    def __init__(self, http_factory: Callable[[], asyncio.Protocol], grpc_socket: str) -> None:
        self.http_factory = http_factory
        self.grpc_socket = grpc_socket
        self.transport: asyncio.Transport | None = None
        self._head = b""
        self._relay: _Relay | None = None
        self._pending: list[bytes] = []
        self._closed = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._timer = asyncio.get_running_loop().call_later(SNIFF_TIMEOUT_S, self._undecided)

    def _undecided(self) -> None:
        if self._relay is None and self.transport is not None and self.transport.get_protocol() is self:
            self.close()

    def data_received(self, data: bytes) -> None:
        if self._relay is not None:
            self._forward(data)
            return
        self._head += data
        if PREFACE.startswith(self._head):
            return  # could still be HTTP/2: wait for more
        if self._head.startswith(PREFACE):
            self._start_relay()
        else:
            self._hand_to_http()

    def eof_received(self) -> bool | None:
        if self._relay is None and not self._closed:
            self._hand_to_http()
            return None
        if self._relay is not None and self._relay.transport is not None and self._relay.transport.can_write_eof():
            self._relay.transport.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._stop_timer()
        if self._relay is not None and self._relay.transport is not None:
            self._relay.transport.close()

    def pause_writing(self) -> None:  # the client reads slowly: stop reading the gRPC server
        if self._relay is not None and self._relay.transport is not None:
            self._relay.transport.pause_reading()

    def resume_writing(self) -> None:
        if self._relay is not None and self._relay.transport is not None:
            self._relay.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # ------------------------------------------------------------------ the two ways
    def _hand_to_http(self) -> None:
        """aiohttp takes over the transport, as if it had accepted the connection itself."""
        assert self.transport is not None
        self._stop_timer()
        protocol = self.http_factory()
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        if self._head:
            protocol.data_received(self._head)
        self._head = b""

    def _start_relay(self) -> None:
        assert self.transport is not None
        self._stop_timer()
        self._relay = _Relay(self)
        self._pending.append(self._head)
        self._head = b""
        self.transport.pause_reading()
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        relay = self._relay
        assert relay is not None
        try:
            await asyncio.get_running_loop().create_unix_connection(lambda: relay, self.grpc_socket)
        except OSError as exc:
            LOG.warning("api: gRPC server unreachable: %s", exc.strerror or type(exc).__name__)
            self.close()
            return
        for chunk in self._pending:
            self._forward(chunk)
        self._pending.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        if self._closed and relay.transport is not None:
            relay.transport.close()

    def _forward(self, data: bytes) -> None:
        relay = self._relay.transport if self._relay is not None else None
        if relay is None:
            self._pending.append(data)
        elif not relay.is_closing():
            relay.write(data)


class FrontSite(web.TCPSite):
    """aiohttp's TCP site, with each connection sniffed first (HTTP/2 to `grpc_socket`)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, grpc_socket: str,
                 ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(runner, host, port, ssl_context=with_alpn(ssl_context))
        self.grpc_socket = grpc_socket

    async def start(self) -> None:
        await web.BaseSite.start(self)
        http_factory = self._runner.server
        assert http_factory is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: SniffingProtocol(http_factory, self.grpc_socket), self._host, self._port,
            ssl=self._ssl_context, backlog=self._backlog)

