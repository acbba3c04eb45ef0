"""OTLP/HTTP receiver on aiohttp: `POST /v1/traces` (protobuf or JSON, gzip/deflate).

Status codes follow the Collector's otlphttp handler step by step: 401 without the
bearer token (checked first, like the Collector's auth extensions, so a caller without
it learns nothing else), 405 for other methods, 415 for other media types, 400 for unreadable or undecodable bodies, 413
for bodies over the limit (OTLP 1.11), 503 with Retry-After when a consumer is full.
Error bodies are a `google.rpc.Status` in the
request's encoding. Decompression is ours, streamed and capped, so a gzip bomb is
refused after `max_recv_mib` of output instead of being inflated into memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from kubespan.encode.inert import excerpt
from kubespan.encode.message_json import encode_message_json
from kubespan.otlp.decode import UndecodableRequest
from kubespan.otlp.jsoncodec import JsonDecodeError, decode_traces_json
from kubespan.pipeline import Backpressure, PermanentError, Pipeline
from kubespan.receive.grpc_server import RETRY_AFTER_SECONDS
from kubespan.receive.loop_thread import LoopThread
from kubespan.receive.refusals import RefusalLog, reason_for, socket_peer
from kubespan.receive.settings import (
    SUCCESS_PROTOBUF,
    ReceiverSettings,
    check_can_listen,
    listen_address,
    listen_error,
    split_host_port,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
SUCCESS_JSON = '{"partialSuccess":{}}'
READ_CHUNK = 64 * 1024
DECOMPRESSORS = {
    "gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "zlib": zlib.MAX_WBITS,
}
"""Supported Content-Encodings and their zlib window settings."""
KEEPALIVE_TIMEOUT_S = 60.0
"""An idle connection (none or no more requests) is closed after this (aiohttp's default: ~1 h)."""
BODY_TIMEOUT_S = 60.0
"""A request body must arrive whole within this, or the answer is 408 and the connection closes:
a client trickling bytes cannot hold a connection and a growing buffer forever."""
SHUTDOWN_GRACE_S = 2.0
"""At stop, requests in flight get this long to finish (aiohttp's default, 60 s, outlasts a
SIGTERM: a trickling client would keep `serve` from flushing its writers)."""
CLIENT_FAULTS = (ConnectionError, HttpProcessingError)
"""Errors a client causes (closing mid-request, malformed HTTP): answered, never logged."""


class _NoClientFaults(logging.Filter):
    """Drops aiohttp's tracebacks for requests the client broke or abandoned."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], CLIENT_FAULTS))


SERVER_LOG = logging.getLogger("kubespan.receive.http")
SERVER_LOG.addFilter(_NoClientFaults())


class ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


class HttpError(Exception):
    """An error answer: HTTP status and message."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class HttpReceiver:
    """The OTLP/HTTP server, run on its own event loop thread."""

    def __init__(self, pipeline: Pipeline, settings: ReceiverSettings, address: str,
                 refusals: RefusalLog | None = None) -> None:
        self.pipeline = pipeline
        self.refusals = refusals or RefusalLog(pipeline.counters)
        self.settings = settings
        self.address = address
        self._serving = LoopThread("http-recv")
        self._runner: web.AppRunner | None = None
        self.keepalive_timeout = KEEPALIVE_TIMEOUT_S
        self.body_timeout = BODY_TIMEOUT_S
        pipeline.counters.declare("aborted_requests", "timed_out_requests")

    def start(self) -> str:
        """Start serving in a background thread; return the bound `host:port`."""
        check_can_listen(self.address)
        return self._serving.start(self._serve)

    def stop(self) -> None:
        if self._runner is not None:
            self._serving.stop(self._runner.cleanup)
            self._runner = None

    async def _serve(self) -> str:
        middlewares = [self._authenticate] if self.settings.token else []
        app = web.Application(client_max_size=self.settings.max_recv_bytes + 1, middlewares=middlewares)
        app.router.add_route("*", "/v1/traces", self._traces)
        app.router.add_route("*", "/v1/logs", self._logs)
        app.router.add_route("*", "/v1/metrics", self._metrics)
        self._runner = web.AppRunner(app, auto_decompress=False, access_log=None, logger=SERVER_LOG,
                                     keepalive_timeout=self.keepalive_timeout, shutdown_timeout=SHUTDOWN_GRACE_S)
        await self._runner.setup()
        host, port = split_host_port(listen_address(self.address))
        site = web.TCPSite(self._runner, host, port, ssl_context=self.settings.server_ssl_context())
        try:
            await site.start()
        except OSError as exc:  # taken since check_can_listen: still one line, not aiohttp's [Errno 98]
            raise listen_error(listen_address(self.address), exc) from None
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        return f"{shown}:{bound[1]}"

    async def _traces(self, request: web.Request) -> web.Response:
        return await self._handle(request, self._export_traces)

    async def _logs(self, request: web.Request) -> web.Response:
        return await self._handle(request, lambda body, kind: self._count_other(body, kind, "logs"))

    async def _metrics(self, request: web.Request) -> web.Response:
        return await self._handle(request, lambda body, kind: self._count_other(body, kind, "metrics"))

    @web.middleware
    async def _authenticate(self, request: web.Request, handler) -> web.StreamResponse:
        """Runs before every route, unknown paths included: no token, no other answer."""
        authorization = request.headers.get("Authorization")
        if self.settings.authorized(authorization):
            return await handler(request)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.refusals.refused(socket_peer(peer), reason_for(authorization))
        return _error_response(HttpError(401, "missing or invalid bearer token"), request.content_type)

    async def _handle(self, request: web.Request, export) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405, text="405 method not allowed, supported: [POST]")
        kind = request.content_type
        if kind not in (PROTOBUF, JSON):
            return web.Response(
                status=415,
                text=f"415 unsupported media type, supported: [{JSON}, {PROTOBUF}]",
            )
        try:
            body = await self._read_body_in_time(request)
            payload = await asyncio.get_running_loop().run_in_executor(None, export, body, kind)
        except HttpError as exc:
            if exc.status in (400, 413):
                self.pipeline.count_invalid_request()
            response = _error_response(exc, kind)
            if exc.status == 408:
                response.force_close()  # the rest of the body is not worth waiting for
            return response
        except ClientGone:  # nobody is left to read an answer
            self.pipeline.counters.add("aborted_requests", 1)
            return web.Response(status=400, text="client closed the connection")
        return web.Response(body=payload, content_type=kind)

    async def _read_body_in_time(self, request: web.Request) -> bytes:
        try:
            return await asyncio.wait_for(self._read_body(request), self.body_timeout)
        except asyncio.TimeoutError:
            self.pipeline.counters.add("timed_out_requests", 1)
            raise HttpError(408, f"request body not received within {self.body_timeout:g} s") from None

    async def _read_body(self, request: web.Request) -> bytes:
        """Read and decompress the body, refusing anything over the limit."""
        limit = self.settings.max_recv_bytes
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity") and encoding not in DECOMPRESSORS:
            raise HttpError(400, f"unsupported Content-Encoding: {excerpt(encoding)}")
        inflater = zlib.decompressobj(DECOMPRESSORS[encoding]) if encoding in DECOMPRESSORS else None
        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in request.content.iter_chunked(READ_CHUNK):
                if inflater is not None:
                    chunk = inflater.decompress(chunk, limit - size + 1)
                    if inflater.unconsumed_tail:
                        raise HttpError(413, _too_large(limit))
                size += len(chunk)
                if size > limit:
                    raise HttpError(413, _too_large(limit))
                parts.append(chunk)
            if inflater is not None:
                parts.append(inflater.flush())
                if not inflater.eof:
                    raise HttpError(400, f"failed to decompress body: truncated {encoding} stream")
        except zlib.error as exc:
            raise HttpError(400, f"failed to decompress body: {exc}") from None
        except HttpProcessingError as exc:
            raise HttpError(400, f"malformed body: {excerpt(exc.message)}") from None
        except ConnectionError:
            raise ClientGone() from None
        return b"".join(parts)

    def _export_traces(self, body: bytes, kind: str) -> bytes:
        """Runs in a worker thread: decode, export, encode the answer."""
        try:
            if kind == JSON:
                body = decode_traces_json(body).SerializeToString()
            result = self.pipeline.export_traces(body)
        except (UndecodableRequest, JsonDecodeError) as exc:
            raise HttpError(400, str(exc)) from None
        except Backpressure as exc:
            raise HttpError(503, str(exc), retry_after=RETRY_AFTER_SECONDS) from None
        except PermanentError as exc:
            raise HttpError(500, str(exc)) from None
        if not result.rejected_spans and not result.error_message:
            return SUCCESS_PROTOBUF if kind == PROTOBUF else SUCCESS_JSON.encode()
        response = ExportTraceServiceResponse()
        response.partial_success.rejected_spans = result.rejected_spans
        response.partial_success.error_message = result.error_message
        if kind == PROTOBUF:
            return response.SerializeToString()
        return encode_message_json(response).encode()

    def _count_other(self, body: bytes, kind: str, signal: str) -> bytes:
        items = _count_items(body, kind, signal)
        self.pipeline.count_other_signal(signal, items)
        return SUCCESS_PROTOBUF if kind == PROTOBUF else SUCCESS_JSON.encode()


def _count_items(body: bytes, kind: str, signal: str) -> int:
    """Count log records or metrics in a logs/metrics request, or answer 400."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    try:
        if kind == JSON:
            document = json.loads(body)
            outer, inner, leaf = (
                ("resourceLogs", "scopeLogs", "logRecords")
                if signal == "logs"
                else ("resourceMetrics", "scopeMetrics", "metrics")
            )
            return sum(
                len(scope.get(leaf, []))
                for resource in document.get(outer, [])
                for scope in resource.get(inner, [])
            )
        if signal == "logs":
            request = ExportLogsServiceRequest.FromString(body)
            return sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
        metrics = ExportMetricsServiceRequest.FromString(body)
        return sum(len(s.metrics) for r in metrics.resource_metrics for s in r.scope_metrics)
    except Exception as exc:  # any malformed body is the client's error
        raise HttpError(400, f"cannot decode {signal} request: {exc}") from None


def _too_large(limit: int) -> str:
    return f"request body too large: over {limit} bytes after decompression"


def _error_response(error: HttpError, kind: str) -> web.Response:
    """A `google.rpc.Status` in the request's encoding; plain text for other media types."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    if kind not in (PROTOBUF, JSON):
        return web.Response(status=error.status, text=error.message, headers=headers)
    status = status_pb2.Status(code=_grpc_code(error.status), message=error.message)
    body = status.SerializeToString() if kind == PROTOBUF else encode_message_json(status).encode()
    return web.Response(status=error.status, body=body, content_type=kind, headers=headers)


def _grpc_code(http_status: int) -> int:
    """The Collector's `NewStatusFromMsgAndHTTPCode` mapping."""
    return {400: 3, 401: 16, 403: 7, 404: 12, 413: 8, 429: 8, 502: 14, 503: 14, 504: 14}.get(
        http_status, 2
    )
