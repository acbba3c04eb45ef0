"""The query API as one component of a running kubespan: built from its settings, started after the
receivers, stopped before them.

A port that cannot be bound is an error when the user chose it (`--api HOST:PORT`) and a one-line
warning when it is the default (127.0.0.1:3200 is Tempo's port, often taken by a real Tempo), after
which kubespan goes on without the API.
"""

from __future__ import annotations

import errno

from kubespan.api import probes, store_status
from kubespan.api.context import ApiContext
from kubespan.api.grpc_querier import GrpcQueryServer, start_grpc
from kubespan.api.jaeger_api import Jaeger
from kubespan.api.kubespan_graph import Graph
from kubespan.api.kubespan_red import Red
from kubespan.api.server import ApiServer, Route
from kubespan.api.settings import ApiSettings
from kubespan.api.tempo_metrics import Metrics
from kubespan.api.tempo_search import Search
from kubespan.api.tempo_tags import Tags
from kubespan.api.tempo_traces import TraceById
from kubespan.api.warm import Warmer
from kubespan.receive.settings import ReceiverSettings, is_loopback, split_host_port
from kubespan.stats import Counters


def build_routes(ctx: ApiContext, red: Red | None = None) -> list[Route]:
    routes = probes.routes() + store_status.routes(ctx)
    for part in (Search(ctx), TraceById(ctx), Tags(ctx), Metrics(ctx), Jaeger(ctx), Graph(ctx), red or Red(ctx)):
        routes += [Route(r.path, ctx.guarded(r.handler), r.query) for r in part.routes()]
    return routes


def warmer(ctx: ApiContext, red: Red) -> Warmer:
    """The thread that keeps `/api/kubespan/red`'s and `/api/kubespan/graph`'s aggregates current."""
    from kubespan.metrics.live import live_metrics

    return Warmer([red.catch_up, lambda: live_metrics(ctx.store).refresh()], ctx.counters)


class ApiComponent:
    """Owns the API server of one running kubespan."""

    def __init__(self, settings: ApiSettings, receivers: ReceiverSettings, counters: Counters, store,
                 query_counters=None) -> None:
        self.settings = settings
        self.receivers = receivers
        self.counters = counters
        if query_counters is None:
            from kubespan.query.limits import QueryCounters

            query_counters = QueryCounters(counters)
        self.context = ApiContext(store, settings, counters, query_counters)
        self.server: ApiServer | None = None
        self.grpc: GrpcQueryServer | None = None  # the StreamingQuerier's grpcio server, behind the API's port
        self.warmer: Warmer | None = None
        self.red: Red | None = None
        self.address: str | None = None
        self.warnings: list[str] = []

    def start(self) -> str | None:
        """Bind and serve; the bound address, or None when the default port was taken (warned)."""
        if not self.settings.address:
            return None
        self.red = red = Red(self.context)
        routes = build_routes(self.context, red)
        server = ApiServer(routes, self.settings, self.receivers, self.counters)
        try:
            self.grpc = start_grpc(routes, server, self.context, self.receivers)
        except (OSError, RuntimeError) as exc:  # e.g. a temporary directory too long for a Unix socket
            self.warnings.append(f"warning: the query API serves no streaming gRPC (tempo-cli --use-grpc, "
                                 f"Grafana streaming): {exc}")
        try:
            self.address = server.start()
        except BaseException as exc:
            if self.grpc is not None:
                self.grpc.stop()
                self.grpc = None
            if not isinstance(exc, OSError):
                raise
            if self.settings.explicit or exc.errno != errno.EADDRINUSE:
                raise OSError(exc.errno, f"query API: cannot listen on {self.settings.address}: "
                                         f"{exc.strerror or exc}") from None
            self.warnings.append(f"warning: the query API's default address {self.settings.address} is in use "
                                 "(is Tempo or another kubespan running?); going on without the API "
                                 "(choose another with --api HOST:PORT, or --api off)")
            return None
        self.server = server
        self.warmer = warmer(self.context, red)
        self.warmer.start()
        self.warnings += exposure_warning(self.settings, self.receivers)
        return self.address

    def stop(self) -> None:
        if self.warmer is not None:
            self.warmer.stop()
            self.warmer = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.grpc is not None:
            self.grpc.stop()
            self.grpc = None


def exposure_warning(settings: ApiSettings, receivers: ReceiverSettings) -> list[str]:
    """The receivers' warning, for the API: reachable from other machines without auth or TLS."""
    if not settings.address or is_loopback(split_host_port(settings.address)[0]):
        return []
    if not receivers.client_auth:
        missing = "auth" if receivers.tls else "auth or TLS"
        return [(f"WARNING: the query API on {settings.address} is reachable from other machines without "
                 f"{missing}; anyone who can reach it can read every span (use --token)")]
    if not receivers.tls:
        return [(f"WARNING: the query API on {settings.address} is reachable from other machines without TLS; "
                 "the token and the spans cross the network in clear text (use --tls-cert and --tls-key)")]
    return []
