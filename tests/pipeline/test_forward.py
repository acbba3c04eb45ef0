"""Forwarding to a second in-process OTLP receiver over gRPC and HTTP, outages, errors."""

from __future__ import annotations

import dataclasses
import threading

import grpc
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from kubespan.forward.forwarder import Forwarder
from kubespan.forward.retry import Backoff, RetryableError, SendResult
from kubespan.forward.settings import ForwardSettings, QueueSettings, RetrySettings, parse_queue_size, redact
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.pipeline import Pipeline
from kubespan.stats import Counters
from tests.support.forward_helpers import GrpcBackend, HttpBackend, free_port, make_request, wait_until

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"

FAST = RetrySettings(initial_interval=0.01, max_interval=0.05, max_elapsed_time=30.0)


def batch(spans: int, start: int = 0):
    return decode_request(make_request(spans, start), new_attribute_table())[0]


def settings(url: str, **changes) -> ForwardSettings:
    base = ForwardSettings.from_url(url)
    return dataclasses.replace(base, retry=changes.pop("retry", FAST), timeout=changes.pop("timeout", 2.0), **changes)


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_forward_grpc_bytes_unchanged(compression: str) -> None:
    backend = GrpcBackend().start()
    counters = Counters()
    forwarder = Forwarder(settings(f"grpc://127.0.0.1:{backend.port}", compression=compression), counters)
    try:
        for i in range(5):
            forwarder.consume_traces(batch(100, i * 100))
        assert backend.counting.wait_for(500)
    finally:
        forwarder.close(5)
        backend.stop()
    assert sorted(backend.counting.names) == sorted(f"span-{i}" for i in range(500))
    assert counters.get("forward_sent_spans") == 500
    assert counters.get("forward_sent_requests") == 5
    assert counters.get("forward_dropped_spans") == 0


def test_forward_http_with_headers_and_gzip() -> None:
    backend = HttpBackend()
    counters = Counters()
    config = settings(backend.url, headers=(("Authorization", "Bearer s3cret"), ("X-Tenant", "a")), compression="gzip")
    forwarder = Forwarder(config, counters)
    try:
        forwarder.consume_traces(batch(50))
        assert backend.counting.wait_for(50)
    finally:
        forwarder.close(5)
        backend.stop()
    assert backend.headers[0]["authorization"] == "Bearer s3cret"
    assert backend.headers[0]["content-encoding"] == "gzip"
    assert backend.headers[0]["content-type"] == "application/x-protobuf"
    assert "s3cret" not in config.describe()
    assert "s3cret" not in str(forwarder.status())
    assert counters.get("forward_sent_spans") == 50


def test_forward_http_to_kubespan_http_receiver() -> None:
    """kubespan's own OTLP/HTTP receiver as the backend (gzip protobuf POST /v1/traces)."""
    from kubespan.receive.http_server import HttpReceiver
    from kubespan.receive.settings import ReceiverSettings
    from tests.support.forward_helpers import Counting

    counting = Counting()
    receiver = HttpReceiver(Pipeline(consumers=[counting]), ReceiverSettings(), "127.0.0.1:0")
    address = receiver.start()
    counters = Counters()
    forwarder = Forwarder(settings(f"http://{address}", compression="gzip"), counters)
    try:
        for i in range(4):
            forwarder.consume_traces(batch(25, i * 25))
        assert counting.wait_for(100)
    finally:
        forwarder.close(5)
        receiver.stop()
    assert sorted(counting.names) == sorted(f"span-{i}" for i in range(100))
    assert counters.get("forward_sent_spans") == 100


def test_forward_through_pipeline_from_receiver_to_receiver() -> None:
    """A front receiver whose pipeline forwards to a second receiver: same spans arrive."""
    backend = GrpcBackend().start()
    counters = Counters()
    forwarder = Forwarder(settings(f"grpc://127.0.0.1:{backend.port}"), counters)
    front = Pipeline(consumers=[forwarder], counters=counters)
    try:
        raw = make_request(20)
        front.export_traces(raw)
        assert backend.counting.wait_for(20)
    finally:
        forwarder.close(5)
        backend.stop()
    assert len(backend.counting.names) == 20


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_outage_nothing_lost_within_queue(protocol: str) -> None:
    """Backend starts late, stops, restarts: every queued span arrives exactly once."""
    port = free_port()
    counters = Counters()
    logs: list[str] = []
    url = f"grpc://127.0.0.1:{port}" if protocol == "grpc" else f"http://127.0.0.1:{port}"
    forwarder = Forwarder(settings(url, timeout=1.0), counters, log=logs.append)
    backend = _Restartable(protocol, port)
    try:
        for i in range(10):
            forwarder.consume_traces(batch(10, i * 10))
        assert wait_until(lambda: counters.get("forward_retries") >= 3)
        backend.start()
        assert backend.counting.wait_for(100)
        assert wait_until(lambda: counters.get("forward_sent_spans") == 100)  # no answer in flight
        backend.stop()
        for i in range(10, 20):
            forwarder.consume_traces(batch(10, i * 10))
        assert wait_until(lambda: counters.get("forward_retries") >= 6)
        backend.start()
        assert backend.counting.wait_for(200)
    finally:
        forwarder.close(5)
        backend.stop()
    assert sorted(backend.counting.names) == sorted(f"span-{i}" for i in range(200))
    assert counters.get("forward_sent_spans") == 200
    assert counters.get("forward_dropped_spans") == 0
    assert any("retrying" in line for line in logs)
    assert any("reachable again" in line for line in logs)


class _Restartable:
    """A gRPC or HTTP backend that can stop and start again on a fixed port."""

    def __init__(self, protocol: str, port: int) -> None:
        from tests.support.forward_helpers import Counting

        self.protocol = protocol
        self.port = port
        self.counting = Counting()
        self._backend = None

    def start(self) -> None:
        if self.protocol == "grpc":
            self._backend = GrpcBackend(self.port, self.counting).start()
        else:
            self._backend = HttpBackend(port=self.port, counting=self.counting)

    def stop(self) -> None:
        if self._backend is not None:
            self._backend.stop()
            self._backend = None


def test_queue_full_drops_and_counts_without_blocking() -> None:
    counters = Counters()
    release = threading.Event()

    class Stuck:
        def send(self, raw: bytes) -> SendResult:
            release.wait(10)
            return SendResult()

        def close(self) -> None:
            pass

    config = settings("grpc://127.0.0.1:1", queue=QueueSettings(size=2, sizer="requests", consumers=1))
    forwarder = Forwarder(config, counters, sender=Stuck(), log=lambda _: None)
    forwarder.consume_traces(batch(5))  # taken by the sender, stuck
    assert wait_until(lambda: forwarder.queue_requests == 0)
    for i in range(5):
        forwarder.consume_traces(batch(5, 5 * (i + 1)))  # 2 fit, 3 dropped, none blocks
    assert forwarder.queue_requests == 2
    assert counters.get("forward_dropped_spans") == 15
    release.set()
    forwarder.close(5)
    assert counters.get("forward_sent_spans") == 15


def test_queue_sized_in_spans() -> None:
    counters = Counters()
    config = settings("grpc://127.0.0.1:1", queue=QueueSettings(size=25, sizer="spans", consumers=1))
    blocker = threading.Event()

    class Slow:
        def send(self, raw: bytes) -> SendResult:
            blocker.wait(10)
            return SendResult()

        def close(self) -> None:
            pass

    forwarder = Forwarder(config, counters, sender=Slow(), log=lambda _: None)
    forwarder.consume_traces(batch(10))
    assert wait_until(lambda: forwarder.queue_requests == 0)
    forwarder.consume_traces(batch(10))
    forwarder.consume_traces(batch(10))
    forwarder.consume_traces(batch(10))  # 30 > 25: dropped
    assert forwarder.queue_spans == 20
    assert counters.get("forward_dropped_spans") == 10
    blocker.set()
    forwarder.close(5)


def test_permanent_error_http_not_retried() -> None:
    def refuse(body, headers):
        status = status_pb2.Status(code=3, message="bad tenant header")
        return 400, {}, status.SerializeToString()

    backend = HttpBackend(refuse)
    counters = Counters()
    logs: list[str] = []
    forwarder = Forwarder(settings(backend.url), counters, log=logs.append)
    try:
        forwarder.consume_traces(batch(7))
        assert wait_until(lambda: counters.get("forward_failed_spans") == 7)
    finally:
        forwarder.close(5)
        backend.stop()
    assert len(backend.headers) == 1
    assert counters.get("forward_retries") == 0
    assert any("bad tenant header" in line and "permanent" in line for line in logs)


def test_permanent_error_grpc_not_retried() -> None:
    calls = []

    def handler(raw, context):
        calls.append(1)
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "tenant not allowed")

    from concurrent import futures

    server = grpc.server(futures.ThreadPoolExecutor(2))
    method = grpc.unary_unary_rpc_method_handler(handler)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(TRACE_SERVICE, {"Export": method})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    counters = Counters()
    logs: list[str] = []
    forwarder = Forwarder(settings(f"grpc://127.0.0.1:{port}"), counters, log=logs.append)
    try:
        forwarder.consume_traces(batch(3))
        assert wait_until(lambda: counters.get("forward_failed_spans") == 3)
    finally:
        forwarder.close(5)
        server.stop(0)
    assert len(calls) == 1
    assert any("PERMISSION_DENIED: tenant not allowed" in line for line in logs)


def test_http_429_retry_after_then_partial_success() -> None:
    answers = iter([(429, {"Retry-After": "0"}, b""), (503, {}, b"busy")])

    def respond(body, headers):
        for answer in answers:
            return answer
        partial = ExportTraceServiceResponse()
        partial.partial_success.rejected_spans = 2
        partial.partial_success.error_message = "2 too old"
        return 200, {}, partial.SerializeToString()

    backend = HttpBackend(respond)
    counters = Counters()
    logs: list[str] = []
    forwarder = Forwarder(settings(backend.url), counters, log=logs.append)
    try:
        forwarder.consume_traces(batch(5))
        assert backend.counting.wait_for(5)
        assert wait_until(lambda: counters.get("forward_sent_requests") == 1)
    finally:
        forwarder.close(5)
        backend.stop()
    assert counters.get("forward_retries") == 2
    assert counters.get("forward_rejected_spans") == 2
    assert counters.get("forward_sent_spans") == 3
    assert any("2 too old" in line for line in logs)


def test_gives_up_after_max_elapsed() -> None:
    counters = Counters()

    class Down:
        def send(self, raw: bytes) -> SendResult:
            raise RetryableError("UNAVAILABLE: down")

        def close(self) -> None:
            pass

    retry = RetrySettings(initial_interval=0.01, max_interval=0.02, max_elapsed_time=0.1)
    forwarder = Forwarder(settings("grpc://127.0.0.1:1", retry=retry), counters, sender=Down(), log=lambda _: None)
    forwarder.consume_traces(batch(4))
    assert wait_until(lambda: counters.get("forward_failed_spans") == 4)
    forwarder.close(1)
    assert counters.get("forward_retries") >= 2


def test_close_counts_unsent_as_dropped() -> None:
    counters = Counters()

    class Down:
        def send(self, raw: bytes) -> SendResult:
            raise RetryableError("UNAVAILABLE: down")

        def close(self) -> None:
            pass

    config = settings("grpc://127.0.0.1:1", queue=QueueSettings(consumers=1))
    forwarder = Forwarder(config, counters, sender=Down(), log=lambda _: None)
    for i in range(3):
        forwarder.consume_traces(batch(2, i * 2))
    forwarder.close(0.1)
    assert counters.get("forward_dropped_spans") == 6
    assert counters.get("forward_sent_spans") == 0


def test_backoff_sequence_and_throttle() -> None:
    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    backoff = Backoff(RetrySettings(), clock=clock)
    waits = [backoff.next_wait() for _ in range(6)]
    bases = [5, 7.5, 11.25, 16.875, 25.3125, 30]
    for wait, base in zip(waits, bases):
        assert base * 0.5 <= wait <= base * 1.5
    assert backoff.next_wait(requested=100.0) == 100.0
    clock.now = 299.0
    assert backoff.next_wait() is None
    assert Backoff(RetrySettings(enabled=False)).next_wait() is None


def test_forward_url_parsing() -> None:
    grpc_plain = ForwardSettings.from_url("grpc://jaeger:4317")
    assert (grpc_plain.protocol, grpc_plain.target, grpc_plain.tls.insecure) == ("grpc", "jaeger:4317", True)
    assert ForwardSettings.from_url("grpcs://jaeger").tls.insecure is False
    assert ForwardSettings.from_url("grpcs://jaeger").target == "jaeger:443"
    assert ForwardSettings.from_url("grpc://jaeger").target == "jaeger:4317"
    assert ForwardSettings.from_url("https://otlp.example").target == "https://otlp.example:443/v1/traces"
    assert ForwardSettings.from_url("http://h").target == "http://h:4318/v1/traces"
    assert ForwardSettings.from_url("http://h:4318/v1/traces").target == "http://h:4318/v1/traces"
    assert ForwardSettings.from_url("https://h/otlp/v1/traces/").target == "https://h:443/otlp/v1/traces"
    assert ForwardSettings.from_url("http://h:4318").target == "http://h:4318/v1/traces"
    assert ForwardSettings.from_url("https://h/otlp/").target == "https://h:443/otlp/v1/traces"
    assert ForwardSettings.from_url("grpc://jaeger:4317").compression == "gzip"
    assert ForwardSettings.from_url("grpc://127.0.0.1:4317").compression == "none"
    assert ForwardSettings.from_url("http://localhost:4318").compression == "none"
    with pytest.raises(ValueError):
        ForwardSettings.from_url("jaeger:4317")
    assert parse_queue_size("500") == (500, "requests")
    assert parse_queue_size("20000spans") == (20000, "spans")
    with pytest.raises(ValueError):
        parse_queue_size("0")
    assert redact("Authorization", "Bearer x") == "<redacted>"
    assert redact("X-Tenant", "a") == "a"


def test_unreachable_endpoint_is_not_fatal() -> None:
    """An unresolvable host (like `jaeger:4317` outside compose) is retried, never raised."""
    counters = Counters()
    logs: list[str] = []
    config = settings("grpc://unresolvable.invalid:4317", timeout=0.5)
    forwarder = Forwarder(config, counters, log=logs.append)
    forwarder.consume_traces(batch(1))
    assert wait_until(lambda: counters.get("forward_retries") >= 1)
    forwarder.close(0.1)
    assert counters.get("forward_dropped_spans") == 1
    assert logs and "retrying" in logs[0]


def _scripted_grpc_server(handler):
    from concurrent import futures

    server = grpc.server(futures.ThreadPoolExecutor(2))
    method = grpc.unary_unary_rpc_method_handler(handler)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(TRACE_SERVICE, {"Export": method})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def _status_with_retry_info(code: int, message: str, delay_nanos: int | None):
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = status_pb2.Status(code=code, message=message)
    if delay_nanos is not None:
        retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(nanos=delay_nanos))
        status.details.add().Pack(retry)
    return rpc_status.to_status(status)


def test_grpc_resource_exhausted_retried_only_with_retry_info() -> None:
    calls: list[str] = []

    def handler(raw, context):
        calls.append("x")
        if len(calls) == 1:
            context.abort_with_status(_status_with_retry_info(8, "slow down", 50_000_000))
        if len(calls) == 2:
            context.abort_with_status(_status_with_retry_info(8, "quota gone", None))
        return b"\x0a\x00"

    server, port = _scripted_grpc_server(handler)
    counters = Counters()
    logs: list[str] = []
    config = settings(f"grpc://127.0.0.1:{port}", queue=QueueSettings(consumers=1))
    forwarder = Forwarder(config, counters, log=logs.append)
    try:
        forwarder.consume_traces(batch(2))
        assert wait_until(lambda: counters.get("forward_failed_spans") == 2)
        forwarder.consume_traces(batch(3))
        assert wait_until(lambda: counters.get("forward_sent_spans") == 3)
    finally:
        forwarder.close(2)
        server.stop(0)
    assert len(calls) == 3 and counters.get("forward_retries") == 1
    assert any("RESOURCE_EXHAUSTED: quota gone" in line for line in logs)


def test_grpc_retry_info_delay_is_honoured() -> None:
    """A server asking for a delay longer than the backoff: the wait is at least that long."""
    from kubespan.forward.grpc_sender import _classify

    class Error(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.UNAVAILABLE

        def details(self):
            return "busy"

        def trailing_metadata(self):
            status = _status_with_retry_info(14, "busy", 250_000_000)
            return status.trailing_metadata

    error = _classify(Error())
    assert isinstance(error, RetryableError) and error.delay == pytest.approx(0.25)
    assert Backoff(FAST).next_wait(error.delay) == pytest.approx(0.25)


def test_http_idle_connection_closed_by_backend_is_not_a_retry() -> None:
    """A keep-alive connection the backend dropped while idle is replaced at once."""
    backend = HttpBackend()
    counters = Counters()
    forwarder = Forwarder(settings(backend.url, queue=QueueSettings(consumers=1)), counters)
    try:
        forwarder.consume_traces(batch(2))
        assert wait_until(lambda: counters.get("forward_sent_requests") == 1)
        for sock in list(backend._sockets):  # the backend's idle timeout fires
            sock.shutdown(2)
        forwarder.consume_traces(batch(3, 2))
        assert backend.counting.wait_for(5)
    finally:
        forwarder.close(2)
        backend.stop()
    assert counters.get("forward_retries") == 0 and counters.get("forward_sent_spans") == 5
