"""OTLP/gRPC receiver: `TraceService/Export`, plus logs and metrics accepted and counted.

Requests arrive as raw bytes (no generated deserializer), so the edge decoder parses
them once and the original bytes can be forwarded untouched. Error codes follow the
Collector: undecodable → INTERNAL, full consumer → UNAVAILABLE (with RetryInfo),
too large → RESOURCE_EXHAUSTED (enforced by grpc after decompression). With a token,
an interceptor answers UNAUTHENTICATED before the request message is even read.
"""

from __future__ import annotations

from concurrent import futures

import grpc
from google.protobuf import duration_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from kubespan.otlp.decode import UndecodableRequest
from kubespan.pipeline import Backpressure, PermanentError, Pipeline
from kubespan.receive.refusals import MISSING, WRONG, RefusalLog, grpc_peer
from kubespan.receive.settings import (
    SUCCESS_PROTOBUF,
    ReceiverSettings,
    check_can_listen,
    listen_address,
)

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
HANDLER_THREADS = 2
"""gRPC handler threads when decoding in this process: decoding holds the GIL, so more only
contend for it (8 were no faster than 2, proto_notes/receivers.md). With a
decode pool, add one per worker so that every worker has a request to decode."""
RETRY_AFTER_SECONDS = 1
"""The retry delay suggested to clients when a consumer is full."""
MAX_CONNECTION_IDLE_S = 300.0
"""A connection without any call for this long gets GOAWAY and is closed (clients reconnect on
their next export); grpc's default is never."""
HANDSHAKE_TIMEOUT_S = 20.0
"""A connection that has not sent its HTTP/2 preface and SETTINGS (after TLS, if any) within this
is closed; grpc's default kept such a socket open for more than 8 s in our check (proto_notes/load.md)."""


class GrpcReceiver:
    """The OTLP/gRPC server. `start()` returns the bound `host:port`."""

    def __init__(self, pipeline: Pipeline, settings: ReceiverSettings, address: str,
                 handler_threads: int = HANDLER_THREADS, refusals: RefusalLog | None = None) -> None:
        self.pipeline = pipeline
        self.refusals = refusals or RefusalLog(pipeline.counters)
        self.handler_threads = handler_threads
        self.settings = settings
        self.address = address
        self._server: grpc.Server | None = None
        self.max_connection_idle = MAX_CONNECTION_IDLE_S
        self.handshake_timeout = HANDSHAKE_TIMEOUT_S

    def start(self) -> str:
        check_can_listen(self.address)
        limit = self.settings.max_recv_bytes
        interceptors = [TokenInterceptor(self.settings, self.refusals)] if self.settings.token else []
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.handler_threads, thread_name_prefix="grpc-recv"),
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.so_reuseport", 0),
                ("grpc.max_connection_idle_ms", int(self.max_connection_idle * 1000)),
                ("grpc.server_handshake_timeout_ms", int(self.handshake_timeout * 1000)),
            ],
        )
        server.add_generic_rpc_handlers(
            [
                _service(TRACE_SERVICE, self._export_traces),
                _service(LOGS_SERVICE, self._export_logs),
                _service(METRICS_SERVICE, self._export_metrics),
            ]
        )
        address = listen_address(self.address)
        port = self._bind(server, address)
        server.start()
        self._server = server
        return f"{address.rpartition(':')[0]}:{port}"

    def stop(self, grace: float | None = 2.0) -> None:
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def _bind(self, server: grpc.Server, address: str) -> int:
        if not self.settings.tls:
            return server.add_insecure_port(address)
        self.settings.server_ssl_context()  # clear errors for unreadable files; grpc only says "failed to bind"
        return server.add_secure_port(address, _server_credentials(self.settings))

    def _export_traces(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            result = self.pipeline.export_traces(raw)
        except UndecodableRequest as exc:
            self.pipeline.count_invalid_request()
            context.abort(grpc.StatusCode.INTERNAL, f"grpc: error unmarshalling request: {exc}")
        except Backpressure as exc:
            context.abort_with_status(_unavailable(str(exc)))
        except PermanentError as exc:
            context.abort(grpc.StatusCode.INTERNAL, str(exc))
        if not result.rejected_spans and not result.error_message:
            return SUCCESS_PROTOBUF
        partial = ExportTracePartialSuccess(
            rejected_spans=result.rejected_spans, error_message=result.error_message
        )
        return ExportTraceServiceResponse(partial_success=partial).SerializeToString()

    def _export_logs(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        request = self._parse_other(ExportLogsServiceRequest, raw, context)
        records = sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
        self.pipeline.count_other_signal("logs", records)
        return SUCCESS_PROTOBUF

    def _export_metrics(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        request = self._parse_other(ExportMetricsServiceRequest, raw, context)
        metrics = sum(len(s.metrics) for r in request.resource_metrics for s in r.scope_metrics)
        self.pipeline.count_other_signal("metrics", metrics)
        return SUCCESS_PROTOBUF

    def _parse_other(self, message_type, raw: bytes, context: grpc.ServicerContext):
        try:
            return message_type.FromString(raw)
        except DecodeError as exc:
            self.pipeline.count_invalid_request()
            context.abort(grpc.StatusCode.INTERNAL, f"grpc: error unmarshalling request: {exc}")


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuses calls without `authorization: Bearer TOKEN` from their metadata alone.

    The refusal is a request-streaming handler that never pulls the request, so an
    unauthenticated caller's message is neither read nor decoded.
    """

    def __init__(self, settings: ReceiverSettings, refusals: RefusalLog) -> None:
        self.settings = settings
        self._refuse = {reason: grpc.stream_unary_rpc_method_handler(_refusal(refusals, reason))
                        for reason in (MISSING, WRONG)}

    def intercept_service(self, continuation, handler_call_details: grpc.HandlerCallDetails):
        values = [v for k, v in handler_call_details.invocation_metadata or () if k == "authorization"]
        if len(values) == 1 and self.settings.authorized(values[0]):
            return continuation(handler_call_details)
        return self._refuse[MISSING if not values else WRONG]


def _refusal(refusals: RefusalLog, reason: str):
    """The handler answering UNAUTHENTICATED; it counts and logs the caller's address (known only here)."""

    def refuse(_requests, context: grpc.ServicerContext) -> bytes:
        refusals.refused(grpc_peer(context.peer()), reason)
        context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")
        return b""  # not reached: abort raises

    return refuse


def _service(name: str, handler) -> grpc.GenericRpcHandler:
    method = grpc.unary_unary_rpc_method_handler(handler)
    return grpc.method_handlers_generic_handler(name, {"Export": method})


def _unavailable(message: str) -> grpc.Status:
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=RETRY_AFTER_SECONDS))
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message)
    status.details.add().Pack(retry)
    return rpc_status.to_status(status)


def _server_credentials(settings: ReceiverSettings) -> grpc.ServerCredentials:
    assert settings.tls_key and settings.tls_cert  # only called with TLS on
    with open(settings.tls_key, "rb") as key, open(settings.tls_cert, "rb") as cert:
        pair = (key.read(), cert.read())
    client_ca = None
    if settings.tls_client_ca:
        with open(settings.tls_client_ca, "rb") as ca:
            client_ca = ca.read()
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
