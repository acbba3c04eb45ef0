"""Test backends for forwarding: a counting kubespan gRPC receiver and a scripted HTTP server."""

from __future__ import annotations

import gzip
import http.server
import socket
import threading
import time
from typing import Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from kubespan.pipeline import Pipeline
from kubespan.receive.settings import ReceiverSettings


def make_request(spans: int, start: int = 0, attrs: dict | None = None, service: str = "svc") -> bytes:
    """A request with `spans` spans whose trace ids encode start..start+spans-1."""
    resource_spans = ResourceSpans()
    resource_spans.resource.attributes.add(key="service.name", value=AnyValue(string_value=service))
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "test"
    for i in range(start, start + spans):
        span = scope.spans.add(
            trace_id=(i + 1).to_bytes(16, "big"),
            span_id=(i + 1).to_bytes(8, "big"),
            name=f"span-{i}",
            kind=2,
            start_time_unix_nano=1_700_000_000_000_000_000 + i,
            end_time_unix_nano=1_700_000_000_000_100_000 + i,
        )
        for key, value in (attrs or {}).items():
            span.attributes.append(_kv(key, value))
    return ExportTraceServiceRequest(resource_spans=[resource_spans]).SerializeToString()


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def span_names(raw: bytes) -> list[str]:
    request = ExportTraceServiceRequest.FromString(raw)
    return [s.name for r in request.resource_spans for ss in r.scope_spans for s in ss.spans]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Counting:
    """A consumer recording every span name it receives, with a condition to wait on."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.requests = 0
        self.cond = threading.Condition()

    def consume_traces(self, batch) -> None:
        with self.cond:
            self.names.extend(batch.spans.name)
            self.requests += 1
            self.cond.notify_all()

    def wait_for(self, spans: int, timeout: float = 10.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.names) >= spans, timeout)


class GrpcBackend:
    """kubespan's own gRPC receiver feeding a `Counting` consumer, restartable on one port."""

    def __init__(self, port: int = 0, counting: Counting | None = None) -> None:
        self.port = port
        self.counting = counting or Counting()
        self._receiver = None

    def start(self) -> "GrpcBackend":
        from kubespan.receive.grpc_server import GrpcReceiver

        pipeline = Pipeline(consumers=[self.counting])
        self._receiver = GrpcReceiver(pipeline, ReceiverSettings(), f"127.0.0.1:{self.port}")
        self.port = int(self._receiver.start().rpartition(":")[2])
        return self

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.stop(0.5)
            self._receiver = None


Responder = Callable[[bytes, dict], tuple[int, dict, bytes]]


class HttpBackend:
    """A plain HTTP server: decodes gzip protobuf, counts spans, answers via `responder`."""

    def __init__(self, responder: Responder | None = None, port: int = 0, counting: Counting | None = None) -> None:
        self.counting = counting or Counting()
        self.headers: list[dict] = []
        self.responder = responder
        backend = self

        self._sockets: set = set()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                backend._sockets.add(self.connection)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                backend.headers.append(headers)
                status, extra, payload = (200, {}, b"\x0a\x00")
                if backend.responder is not None:
                    status, extra, payload = backend.responder(body, headers)
                if self.path == "/v1/traces" and status == 200:
                    backend.count(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def count(self, body: bytes) -> None:
        names = span_names(body)
        with self.counting.cond:
            self.counting.names.extend(names)
            self.counting.requests += 1
            self.counting.cond.notify_all()

    def stop(self) -> None:
        """Stop accepting and cut every keep-alive connection, like a backend going down."""
        self.server.shutdown()
        self.server.server_close()
        for sock in list(self._sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.01) -> bool:
    """Poll `predicate` (for state without a condition, e.g. counters)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
