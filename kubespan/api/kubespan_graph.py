"""`GET /api/kubespan/graph`: the service graph's edges over a window, for `kubespan attach` (kubespan only).

Tempo's API has no service graph (Tempo's own comes from its metrics-generator, written to Prometheus),
so a viewer attached to a kubespan reads the edges its Graph view would show locally: the same
`LiveMetrics` as the local viewer and `/api/dependencies`. Advertised in `/api/status/buildinfo`'s
`features` as `service-graph`.

Parameters: `start`, `end` (unix seconds, nanoseconds or RFC 3339, as Tempo's), `since` (default 1h).
Answer: `{"edges": [{"client", "server", "connection", "calls", "rate", "errorPct", "p90"}], "notes": […]}`
with `rate` in calls/s over the window and `p90` in seconds.
"""

from __future__ import annotations

from kubespan.api.context import ApiContext
from kubespan.api.responses import Reply, json_reply
from kubespan.api.server import ApiRequest, Route
from kubespan.api.viewer_window import viewer_window

PATH = "/api/kubespan/graph"
FEATURE = "service-graph"


class Graph:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [Route(PATH, self.graph)]

    def graph(self, req: ApiRequest) -> Reply:
        from kubespan.metrics.live import live_metrics

        start, end = viewer_window(self.ctx, req)
        self.ctx.deadline().check()
        live = live_metrics(self.ctx.store)
        live.refresh()
        edges = [{"client": e.edge.client, "server": e.edge.server, "connection": e.edge.connection,
                  "calls": e.calls, "rate": e.rate, "errorPct": e.error_pct, "p90": e.p90}
                 for e in live.edges(start, end)]
        return json_reply({"edges": edges, "notes": live.edge_notes()})
