"""The query API's HTTP server: aiohttp on its own thread and event loop, queries on worker threads.

The event loop only parses requests and writes answers; every query runs on a thread of a pool as
big as `max_concurrent`, against an immutable snapshot of the store, so a slow query never holds
the receivers (their own threads and loops) and never blocks another answer. A query that cannot
start within `queue_wait_s` gets 429 with Retry-After; one that runs past `query_timeout_s` gets 504
(and its deadline stops it). Every request counts in `api_requests`, every 4xx/5xx in `api_errors`.
The bearer token and TLS are the receivers' (kubespan.receive.settings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from aiohttp import web

from kubespan.api.responses import ApiError, Reply, error_reply
from kubespan.api.settings import RETRY_AFTER_S, ApiSettings
from kubespan.receive.http_server import SERVER_LOG, SHUTDOWN_GRACE_S
from kubespan.receive.loop_thread import LoopThread
from kubespan.receive.settings import ReceiverSettings, listen_address, split_host_port
from kubespan.stats import Counters

LOG = logging.getLogger("kubespan.api")
ALLOWED_METHODS = ("GET", "HEAD")
NOT_FOUND = "404 page not found\n"
"""Go's text for an unknown path, as Tempo answers it."""


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """What a handler sees of a request: path variables, query parameters (all values, in order) and
    headers (lowercase names)."""

    path: str
    match: dict[str, str]
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The first value of a parameter (Go's `url.Values.Get`), None when absent."""
        return next((v for k, v in self.params if k == name), None)

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.params)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.params if k == name]


Handler = Callable[[ApiRequest], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    path: str  # aiohttp pattern
    handler: Handler
    query: bool = True  # runs on a worker under the concurrency limit (probes do not)


class ApiServer:
    """Serves `routes` on `settings.address` until `stop()`."""

    def __init__(self, routes: list[Route], settings: ApiSettings, receivers: ReceiverSettings,
                 counters: Counters) -> None:
        self.routes = routes
        self.settings = settings
        self.receivers = receivers
        self.counters = counters
        self._serving = LoopThread("api-http")
        self._runner: web.AppRunner | None = None
        self._pool = ThreadPoolExecutor(max(1, settings.max_concurrent), thread_name_prefix="api-query")
        self._slots: asyncio.Semaphore | None = None
        self.grpc_socket: str | None = None  # set: HTTP/2 connections are relayed there (kubespan.api.h2_front)
        for name in ("api_requests", "api_errors"):
            counters.add(name, 0)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Bind and serve on a background thread; return the bound `host:port` (OSError if it cannot bind)."""
        return self._serving.start(self._serve)

    def stop(self) -> None:
        if self._runner is not None:
            self._serving.stop(self._runner.cleanup)
            self._runner = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _serve(self) -> str:
        self._slots = asyncio.Semaphore(max(1, self.settings.max_concurrent))
        app = web.Application(middlewares=[self._guard])
        for route in self.routes:
            app.router.add_route("*", route.path, self._endpoint(route))
        line = 3 * self.settings.max_query_bytes + 16 * 1024  # a whole query, percent-encoded, fits the request line
        self._runner = web.AppRunner(app, access_log=None, logger=SERVER_LOG, shutdown_timeout=SHUTDOWN_GRACE_S,
                                     max_line_size=line, max_field_size=max(8190, line))
        await self._runner.setup()
        host, port = split_host_port(listen_address(str(self.settings.address)))
        tls = self.receivers.server_ssl_context()
        if self.grpc_socket:
            from kubespan.api.h2_front import FrontSite

            site: web.TCPSite = FrontSite(self._runner, host, port, grpc_socket=self.grpc_socket, ssl_context=tls)
        else:
            site = web.TCPSite(self._runner, host, port, ssl_context=tls)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        return f"{shown}:{bound[1]}"

    # ------------------------------------------------------------------ request path
    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        """Counts every request, checks the token first (no token, no other answer), turns unknown
        paths into Go's 404 and any failure into a one-line 500: never a traceback."""
        self.counters.add("api_requests", 1)
        try:
            if not self.receivers.authorized(request.headers.get("Authorization")):
                self.counters.add("unauthenticated_requests", 1)
                raise ApiError(401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
            try:
                response = await handler(request)
            except web.HTTPNotFound:
                raise ApiError(404, NOT_FOUND) from None
            except web.HTTPException as exc:
                raise ApiError(exc.status, f"{exc.status} {exc.reason}") from None
        except ApiError as exc:
            response = _to_response(error_reply(exc), request)
        except Exception as exc:  # noqa: BLE001 - a bug: answered in one line, logged without the request's data
            LOG.error("api: %s failed: %s", request.path, type(exc).__name__)
            response = _to_response(error_reply(ApiError(500, f"internal error: {type(exc).__name__}")), request)
        if response.status >= 400:
            self.counters.add("api_errors", 1)
        return response

    def _endpoint(self, route: Route):
        async def endpoint(request: web.Request) -> web.StreamResponse:
            if request.method not in ALLOWED_METHODS:
                raise ApiError(405, f"405 method not allowed: {request.method}; {request.path} answers GET",
                               {"Allow": ", ".join(ALLOWED_METHODS)})
            api_request = ApiRequest(request.path, dict(request.match_info), tuple(request.query.items()),
                                     {k.lower(): v for k, v in request.headers.items()})
            if not route.query:
                return _to_response(route.handler(api_request), request)
            return _to_response(await self._run_query(route.handler, api_request), request)

        return endpoint

    def submit(self, handler: Handler, request: ApiRequest) -> Future[Reply]:
        """Run a query from any thread as the HTTP endpoints run theirs (admission, a worker, the timeout)."""
        assert self._serving.loop is not None
        return asyncio.run_coroutine_threadsafe(self._run_query(handler, request), self._serving.loop)

    async def _run_query(self, handler: Handler, request: ApiRequest) -> Reply:
        """Admission (429 when every slot stays busy for `queue_wait_s`), then the handler on a worker,
        answered with 504 past the query timeout. The slot is freed when the worker really ends."""
        assert self._slots is not None
        try:
            await asyncio.wait_for(self._slots.acquire(), self.settings.queue_wait_s)
        except asyncio.TimeoutError:
            self.counters.add("api_throttled", 1)
            raise ApiError(429, f"too many queries: {self.settings.max_concurrent} are running; retry in "
                                f"{RETRY_AFTER_S} s", {"Retry-After": str(RETRY_AFTER_S)}) from None
        future = asyncio.get_running_loop().run_in_executor(self._pool, handler, request)
        future.add_done_callback(lambda _: self._slots.release())  # type: ignore[union-attr]
        timeout = self.settings.query_timeout_s
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout + 1.0 if timeout else None)
        except asyncio.TimeoutError:
            self.counters.add("api_timeouts", 1)
            raise ApiError(504, f"query timed out after {timeout:g} s") from None


def _to_response(reply: Reply, request: web.Request) -> web.Response:
    response = web.Response(status=reply.status, body=b"" if request.method == "HEAD" else reply.body,
                            headers=reply.headers)
    if reply.content_type:
        response.headers["Content-Type"] = reply.content_type
    return response
