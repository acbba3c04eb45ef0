"""Tempo's streaming gRPC query API, `tempopb.StreamingQuerier`, on the query API's port.

Each call is answered the way Tempo's query-frontend answers it: the request becomes the HTTP request
Tempo would build from it (`api.BuildSearchRequest` and its siblings), that request runs through the very
handler of the HTTP endpoint (same limits, same spansets, same texts), on the API's worker threads under
its admission control, deadline and CPU budget, and the JSON answer is sent as the stream's message (split
into 1 MiB packets of traces, as Tempo's `max_grpc_streaming_packet_size`). An HTTP error status becomes
the gRPC code Tempo's frontend gives it (`combiner.erroredResponse`): 400 InvalidArgument, 404 NotFound,
429 ResourceExhausted, 499 Cancelled, 5xx Internal, others Unknown. A wrong token is Unauthenticated.

kubespan answers a query in one piece, so the stream carries the final message only (Tempo sends a diff
every 500 ms while its jobs run, then the final one); while a query runs longer than that, a message with
no results and `completedJobs` 0 of 1 says it is under way, as Tempo's diffs do.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf.message import Message

from kubespan.api import pb_json
from kubespan.api.context import ApiContext
from kubespan.api.gotext import format_duration
from kubespan.api.responses import ApiError, Reply
from kubespan.api.server import ApiRequest, ApiServer, Route
from kubespan.api.tempopb import tempo_pb2 as pb
from kubespan.api.tempopb import tempo_pb2_grpc as pb_grpc
from kubespan.query.limits import Deadline
from kubespan.receive.settings import ReceiverSettings
from kubespan.stats import Counters

LOG = logging.getLogger("kubespan.api")
PACKET_BYTES = 1 << 20
"""Tempo's `max_grpc_streaming_packet_size` default."""
PROGRESS_EVERY_S = 0.5
"""Tempo's frontend sends a diff at most this often while a query runs."""
_CODES = {400: grpc.StatusCode.INVALID_ARGUMENT, 404: grpc.StatusCode.NOT_FOUND,
          429: grpc.StatusCode.RESOURCE_EXHAUSTED, 499: grpc.StatusCode.CANCELLED}
Submit = Callable[[Callable[[ApiRequest], Reply], ApiRequest], "futures.Future[Reply]"]


def status_of(http_status: int) -> grpc.StatusCode:
    """The gRPC code Tempo's frontend gives an HTTP error status."""
    if http_status in _CODES:
        return _CODES[http_status]
    return grpc.StatusCode.INTERNAL if http_status // 100 == 5 else grpc.StatusCode.UNKNOWN


def search_params(req: Any) -> list[tuple[str, str]]:
    """`api.BuildSearchRequest`: the HTTP parameters of a `SearchRequest` (spss always sent)."""
    params = [(name, str(value)) for name, value in (("start", req.start), ("end", req.end), ("limit", req.Limit))
              if value]
    if req.MaxDurationMs:
        params.append(("maxDuration", f"{req.MaxDurationMs}ms"))
    if req.MinDurationMs:
        params.append(("minDuration", f"{req.MinDurationMs}ms"))
    params.append(("spss", str(req.SpansPerSpanSet)))
    if req.Query:
        params.append(("q", req.Query))
    if req.Tags:
        params.append(("tags", " ".join(f"{_logfmt(k)}={_logfmt(v)}" for k, v in sorted(req.Tags.items()))))
    return params


def tags_params(req: Any) -> list[tuple[str, str]]:
    """`api.BuildSearchTagsRequest` (maxTagsPerScope is not passed on, as on Tempo)."""
    return _window(req) + [("scope", req.scope), ("q", req.query)]


def tag_values_params(req: Any) -> list[tuple[str, str]]:
    """`api.BuildSearchTagValuesRequest`."""
    params = _window(req) + [("q", req.query)]
    if req.maxTagValues:
        params.append(("limit", str(req.maxTagValues)))
    if req.staleValueThreshold:
        params.append(("maxStaleValues", str(req.staleValueThreshold)))
    return params


def metrics_params(req: Any) -> list[tuple[str, str]]:
    """`api.BuildQueryRangeRequest` (start and end in nanoseconds; step, when set, as a Go duration) and
    `BuildQueryInstantRequest`; the block and paging fields of Tempo's querier are not kubespan's."""
    params = _window(req)
    if getattr(req, "step", 0):
        params.append(("step", format_duration(req.step)))
    params.append(("q", req.query))
    if hasattr(req, "exemplars"):
        params.append(("exemplars", str(req.exemplars)))
    return params


def _window(req: Any) -> list[tuple[str, str]]:
    return [(name, str(value)) for name, value in (("start", req.start), ("end", req.end)) if value]


def _logfmt(text: str) -> str:
    """go-logfmt's quoting: bare unless the value is empty or has a space, `=`, `"` or a control character."""
    if text and not any(c in ' ="\\' or ord(c) < 0x20 for c in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def segments(message: Any, field: str, most: int = PACKET_BYTES) -> list[Any]:
    """`message` split so that each packet's repeated `field` stays within `most` bytes (at least one
    item each); the other fields (metrics) go with every packet, as Tempo's segmentation does."""
    items = list(getattr(message, field))
    if message.ByteSize() <= most or len(items) <= 1:
        return [message]
    shell = type(message)()
    shell.CopyFrom(message)
    shell.ClearField(field)
    packets: list[Any] = []
    size = most + 1
    for item in items:
        item_size = item.ByteSize() + 8
        if size + item_size > most and (not packets or len(getattr(packets[-1], field))):
            packet = type(message)()
            packet.CopyFrom(shell)
            packets.append(packet)
            size = shell.ByteSize()
        getattr(packets[-1], field).add().CopyFrom(item)
        size += item_size
    return packets


class _Call:
    """One running call: its deadline, once the worker has made it, so that a cancelled stream stops it."""

    def __init__(self) -> None:
        self.deadline: Deadline | None = None
        self.cancelled = False
        self.lock = threading.Lock()

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            if self.deadline is not None:
                self.deadline.cancel()


class StreamingQuerier(pb_grpc.StreamingQuerierServicer):
    """The servicer: each method a path of the HTTP API, its request's parameters, its answer's type."""

    def __init__(self, routes: list[Route], submit: Submit, deadline: Callable[[], Deadline],
                 receivers: ReceiverSettings, counters: Counters) -> None:
        self.handlers = {route.path: route.handler for route in routes}
        self.submit = submit
        self.make_deadline = deadline
        self.receivers = receivers
        self.counters = counters

    def Search(self, request, context) -> Iterator[Message]:  # noqa: N802 - gRPC's method names
        empty = pb.SearchResponse(metrics=pb.SearchMetrics(totalJobs=1))
        return self._stream(context, "/api/search", {}, search_params(request), pb.SearchResponse, "traces", empty)

    def SearchTags(self, request, context) -> Iterator[Message]:  # noqa: N802
        return self._stream(context, "/api/search/tags", {}, tags_params(request), pb.SearchTagsResponse)

    def SearchTagsV2(self, request, context) -> Iterator[Message]:  # noqa: N802
        return self._stream(context, "/api/v2/search/tags", {}, tags_params(request), pb.SearchTagsV2Response)

    def SearchTagValues(self, request, context) -> Iterator[Message]:  # noqa: N802
        return self._stream(context, "/api/search/tag/{tag:.+}/values", {"tag": request.tagName},
                            tag_values_params(request), pb.SearchTagValuesResponse, "tagValues")

    def SearchTagValuesV2(self, request, context) -> Iterator[Message]:  # noqa: N802
        return self._stream(context, "/api/v2/search/tag/{tag:.+}/values", {"tag": request.tagName},
                            tag_values_params(request), pb.SearchTagValuesV2Response, "tagValues")

    def MetricsQueryRange(self, request, context) -> Iterator[Message]:  # noqa: N802
        empty = pb.QueryRangeResponse(metrics=pb.SearchMetrics(totalJobs=1))
        return self._stream(context, "/api/metrics/query_range", {}, metrics_params(request), pb.QueryRangeResponse,
                            "series", empty, metrics=True)

    def MetricsQueryInstant(self, request, context) -> Iterator[Message]:  # noqa: N802
        return self._stream(context, "/api/metrics/query", {}, metrics_params(request), pb.QueryInstantResponse,
                            "series", metrics=True)

    # ------------------------------------------------------------------ one call
    def _stream(self, context, path: str, match: dict[str, str], params: list[tuple[str, str]],
                answer_type: type, field: str | None = None, progress: Message | None = None,
                metrics: bool = False) -> Iterator[Message]:
        self.counters.add("api_requests", 1)
        metadata = {key: value for key, value in context.invocation_metadata() if isinstance(value, str)}
        if not self.receivers.authorized(metadata.get("authorization")):
            self.counters.add("unauthenticated_requests", 1)
            self._fail(context, grpc.StatusCode.UNAUTHENTICATED, "missing or invalid bearer token")
        call = _Call()
        context.add_callback(call.cancel)
        request = ApiRequest(path, match, tuple(params), {k.lower(): v for k, v in metadata.items()})
        future = self.submit(self._tracked(self.handlers[path], call), request)
        while True:
            try:
                reply = future.result(timeout=PROGRESS_EVERY_S)
                break
            except futures.TimeoutError:
                if not context.is_active():
                    call.cancel()
                    return
                if progress is not None:
                    yield progress
            except ApiError as exc:
                reply = Reply(exc.status, exc.message.encode(), "")
                break
            except Exception as exc:  # noqa: BLE001 - a bug: one line, never a traceback to the client
                LOG.error("api: gRPC %s failed: %s", path, type(exc).__name__)
                reply = Reply(500, f"internal error: {type(exc).__name__}".encode(), "")
                break
        if reply.status != 200:
            text = reply.body.decode("utf-8", "replace")
            code = status_of(reply.status)
            if metrics and reply.status == 400 and text.startswith("parse error"):
                code = grpc.StatusCode.UNKNOWN  # Tempo's metrics combiner fails on the query as a plain error
            self._fail(context, code, text)
        message = pb_json.parse(reply.body, answer_type)
        yield from segments(message, field) if field else [message]

    def _tracked(self, handler: Callable[[ApiRequest], Reply], call: _Call) -> Callable[[ApiRequest], Reply]:
        """`handler`, with its deadline made up front and known to `call` (a cancel stops the query)."""

        def run(request: ApiRequest) -> Reply:
            deadline = self.make_deadline()
            with call.lock:
                call.deadline = deadline
                if call.cancelled:
                    deadline.cancel()
            return handler(request)

        return run

    def _fail(self, context, code: grpc.StatusCode, message: str) -> None:
        self.counters.add("api_errors", 1)
        context.abort(code, message)


class GrpcQueryServer:
    """grpcio serving `StreamingQuerier` on a Unix socket in a private directory, for the front to relay to."""

    def __init__(self, servicer: StreamingQuerier, threads: int) -> None:
        self.servicer = servicer
        self._directory = tempfile.mkdtemp(prefix="kubespan-api-")
        os.chmod(self._directory, 0o700)
        self.socket = os.path.join(self._directory, "grpc.sock")
        self._server = grpc.server(futures.ThreadPoolExecutor(threads, thread_name_prefix="api-grpc"),
                                   maximum_concurrent_rpcs=threads)
        pb_grpc.add_StreamingQuerierServicer_to_server(servicer, self._server)

    def start(self) -> str:
        try:
            bound = self._server.add_insecure_port(f"unix:{self.socket}")
        except RuntimeError:  # grpcio raises where older versions returned 0
            bound = 0
        if not bound:
            shutil.rmtree(self._directory, ignore_errors=True)
            raise OSError(f"cannot listen on unix:{self.socket} (at most 107 bytes: is TMPDIR very long?)")
        self._server.start()
        return self.socket

    def stop(self) -> None:
        self._server.stop(grace=0.5).wait(5)
        shutil.rmtree(self._directory, ignore_errors=True)


def start_grpc(routes: list[Route], server: ApiServer, ctx: ApiContext, receivers: ReceiverSettings) -> GrpcQueryServer:
    """The gRPC query API of `server`'s routes, started; `server` relays HTTP/2 connections to it."""
    servicer = StreamingQuerier(routes, server.submit, ctx.deadline, receivers, ctx.counters)
    grpc_server = GrpcQueryServer(servicer, threads=max(4, 2 * ctx.settings.max_concurrent))
    server.grpc_socket = grpc_server.start()
    return grpc_server
