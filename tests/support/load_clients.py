"""Misbehaving clients for the receiver load tests: slow, vanishing and idle connections."""

from __future__ import annotations

import select
import socket
import threading
import time
import urllib.request

import grpc

from kubespan.receive.settings import split_host_port
from tests.support.forward_helpers import make_request

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # length 0, type SETTINGS, no flags, stream 0


def connect(address: str, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(split_host_port(address), timeout=timeout)


def http_head(address: str, length: int) -> bytes:
    return (f"POST /v1/traces HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def read_status(sock: socket.socket) -> int:
    """The status code of the next HTTP/1.1 response on `sock`."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed before a status line: {data!r}")
        data += chunk
    return int(data.split(b" ", 2)[1])


class Trickle(threading.Thread):
    """Sends an OTLP/HTTP request one body byte at a time, `gap` seconds apart, until answered."""

    def __init__(self, address: str, body: bytes, gap: float) -> None:
        super().__init__(daemon=True)
        self.address, self.body, self.gap = address, body, gap
        self.status: int | None = None
        self.error: Exception | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with connect(self.address, timeout=30) as sock:
                sock.sendall(http_head(self.address, len(self.body)))
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                for index in range(len(self.body)):
                    answered = poller.poll(self.gap * 1000)  # the pace, or an early answer
                    if answered or self.stop.is_set():
                        break
                    sock.sendall(self.body[index:index + 1])
                self.status = read_status(sock)
        except OSError as exc:  # the server may cut a client that is too slow
            self.error = exc


def http_export(address: str, raw: bytes, timeout: float = 10.0) -> int:
    request = urllib.request.Request(f"http://{address}/v1/traces", data=raw, method="POST",
                                     headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


class Probe:
    """A well-behaved client on both transports, timing each Export."""

    def __init__(self, grpc_address: str, http_address: str) -> None:
        self.http_address = http_address
        self.channel = grpc.insecure_channel(grpc_address)
        self.export = self.channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        self.sent = 0
        self.slowest = 0.0

    def round(self, first: int) -> None:
        """One export over gRPC and one over HTTP, 2 spans each, numbered from `first`."""
        for send in (lambda raw: self.export(raw, timeout=10), lambda raw: http_export(self.http_address, raw)):
            began = time.monotonic()
            send(make_request(2, first + self.sent))
            self.slowest = max(self.slowest, time.monotonic() - began)
            self.sent += 2

    def close(self) -> None:
        self.channel.close()


def idle_http(address: str, count: int) -> list[socket.socket]:
    """`count` keep-alive connections, each proven accepted by one answered request, then idle."""
    sockets = [connect(address) for _ in range(count)]
    probe = f"GET /v1/traces HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n".encode()
    for sock in sockets:
        sock.sendall(probe)
    for sock in sockets:
        assert read_status(sock) == 405
    return sockets


def idle_http2(address: str, count: int) -> list[socket.socket]:
    """`count` HTTP/2 connections past the preface (the server's SETTINGS received), then idle."""
    sockets = [connect(address) for _ in range(count)]
    for sock in sockets:
        sock.sendall(HTTP2_PREFACE + EMPTY_SETTINGS)
    for sock in sockets:
        header = sock.recv(9)
        assert len(header) >= 4 and header[3] == 4, f"expected the server's SETTINGS frame, got {header!r}"
    return sockets


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _literal(name: str, value: str) -> bytes:
    """An HPACK literal header field without indexing, new name (RFC 7541 §6.2.2); short strings."""
    return b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


def grpc_abandon_mid_message(address: str, announced: int = 100_000, sent: int = 1000) -> None:
    """Start an Export whose gRPC message announces `announced` bytes, send `sent`, hang up."""
    headers = b"".join(_literal(k, v) for k, v in (
        (":method", "POST"), (":scheme", "http"), (":path", EXPORT), (":authority", address),
        ("content-type", "application/grpc"), ("te", "trailers")))
    message = b"\x00" + announced.to_bytes(4, "big") + b"\x0a" * sent
    with connect(address) as sock:
        sock.sendall(HTTP2_PREFACE + EMPTY_SETTINGS + _frame(1, 0x4, 1, headers) + _frame(0, 0, 1, message))


def http_abandon_mid_body(address: str, announced: int = 100_000, sent: int = 1000) -> None:
    """POST announcing `announced` body bytes, send `sent`, hang up."""
    with connect(address) as sock:
        sock.sendall(http_head(address, announced) + b"\x0a" * sent)


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Read until the server closes `sock` (True) or `timeout` passes without that (False)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        return False
    except ConnectionResetError:
        pass
    return True


def send_until(address: str, stop: threading.Event, spans: int = 50) -> None:
    """Export uniquely named spans until `stop`; errors (the server dying) end the loop."""
    with grpc.insecure_channel(address) as channel:
        export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        sent = 0
        while not stop.is_set():
            try:
                export(make_request(spans, sent), timeout=5)
            except grpc.RpcError:
                return
            sent += spans
