"""TraceQL metrics endpoints, `/api/metrics/query_range` and `/api/metrics/query`: kubespan's metrics
engine (`kubespan.metrics.endpoints`) over the store's snapshot, with Tempo's parameters, limits and
error texts. The API adds what every query endpoint has: the query-length check, the deadline and
the CPU budget (through `ctx.deadline()`), and the counters.
"""

from __future__ import annotations

from kubespan.api.context import ApiContext
from kubespan.api.responses import TEXT, Reply, json_reply
from kubespan.api.server import ApiRequest, Route


class Metrics:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [Route("/api/metrics/query_range", self.query_range), Route("/api/metrics/query", self.query)]

    def query_range(self, req: ApiRequest) -> Reply:
        return self._answer(req, instant=False)

    def query(self, req: ApiRequest) -> Reply:
        return self._answer(req, instant=True)

    def _answer(self, req: ApiRequest, instant: bool) -> Reply:
        from kubespan.metrics import endpoints

        self.ctx.check_query_params(req)
        # Tempo's query-frontend defaults (24 h per query, 10,000 points per series); no end cutoff:
        # what kubespan holds is complete the moment it arrives.
        limits = endpoints.MetricsLimits(max_duration_s=24 * 3600, max_intervals=10_000, end_cutoff_s=0)
        handler = endpoints.query_instant if instant else endpoints.query_range
        answer = handler(self.ctx.reader().snap, req.params, limits=limits, deadline=self.ctx.deadline())
        if isinstance(answer.body, dict):
            return json_reply(answer.body, answer.status)
        return Reply(answer.status, answer.body.encode(), TEXT)
