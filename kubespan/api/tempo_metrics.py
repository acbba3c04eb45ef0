"""TraceQL metrics endpoints, `/api/metrics/query_range` and `/api/metrics/query`, until kubespan has
a metrics engine: parameters are read and checked as Tempo does (same 400s), and a valid metrics
query gets what Tempo answers when its storage does not support metrics (`util.ErrUnsupported`):
200 with no series. Never a 404, so Grafana's Tempo data source and tempo-cli keep working.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

from kubespan.api.context import ApiContext
from kubespan.api.gotext import GoSyntaxError, format_duration, parse_duration, quote
from kubespan.api.responses import ApiError, Reply, json_reply
from kubespan.api.server import ApiRequest, Route

MAX_METRICS_RANGE_NS = 24 * 3600 * 10**9
"""Tempo's `query_frontend.metrics.max_duration`."""
_FUNCTIONS = re.compile(r"\|\s*(rate|count_over_time|sum_over_time|avg_over_time|min_over_time|max_over_time|"
                        r"quantile_over_time|histogram_over_time|compare)\s*\(")
_RPC = "rpc error: code = Code(400) desc = "


def parse_timestamp(text: str | None, default_ns: int) -> int:
    """`api.parseTimestamp`: unix seconds (≤ 10 digits) or nanoseconds, fractional seconds, or RFC3339."""
    if not text:
        return default_ns
    if "." in text:
        try:
            seconds = float(text)
            whole = int(seconds)
            return whole * 10**9 + round((seconds - whole) * 1000) * 10**6
        except ValueError:
            pass
    digits = text[1:] if text[:1] in "+-" else text
    if digits.isdigit():
        number = int(text)
        return number * 10**9 if len(text) <= 10 else number
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 10**9)
    except ValueError:
        raise GoSyntaxError(f"strconv.ParseInt: parsing {quote(text)}: invalid syntax") from None


def bounds(req: ApiRequest) -> tuple[int, int]:
    """`api.determineBounds`: `since` (default 1h) back from `end` (default now)."""
    now = time.time_ns()
    since_ns = 3600 * 10**9
    since = req.get("since")
    if since:
        try:
            since_ns = parse_duration(since)
        except GoSyntaxError as exc:
            raise ApiError(400, f"{_RPC}could not parse 'since' parameter: {exc}") from None
    try:
        end = parse_timestamp(req.get("end"), now)
    except GoSyntaxError as exc:
        raise ApiError(400, f"{_RPC}could not parse 'end' parameter: {exc}") from None
    try:
        start = parse_timestamp(req.get("start"), min(end, now) - since_ns)
    except GoSyntaxError as exc:
        raise ApiError(400, f"{_RPC}could not parse 'start' parameter: {exc}") from None
    return start, end


def step(req: ApiRequest) -> None:
    value = req.get("step")
    if not value:
        return
    try:
        ns = int(float(value) * 10**9)
    except ValueError:
        try:
            ns = parse_duration(value)
        except GoSyntaxError:
            raise ApiError(400, f"{_RPC}cannot parse {quote(value)} to a valid duration") from None
    if ns < 0:
        raise ApiError(400, f"{_RPC}cannot parse {quote(value)}: step must be positive")


class Metrics:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        return [Route("/api/metrics/query_range", self.query_range), Route("/api/metrics/query", self.query)]

    def _query(self, req: ApiRequest) -> str:
        text = req.get("query") if req.has("query") else req.get("q") or ""
        self.ctx.check_query_size(text)
        return text or ""

    def _check(self, text: str, start: int, end: int) -> None:
        if start >= end:
            raise ApiError(400, "end must be greater than start")
        if end - start > MAX_METRICS_RANGE_NS:
            raise ApiError(400, "metrics query time range exceeds the maximum allowed duration of "
                                f"{format_duration(MAX_METRICS_RANGE_NS)}")
        if not text.strip():
            raise ApiError(400, "parse error : syntax error: unexpected $end")
        if text.count("(") != text.count(")") or text.count("{") != text.count("}"):
            expecting = ", expecting )" if text.count("(") > text.count(")") else ""
            raise ApiError(400, f"parse error at line 1, col {len(text) + 1}: syntax error: unexpected $end{expecting}")
        if not _FUNCTIONS.search(text):
            raise ApiError(400, "not a metrics query")
        spanset = text[:text.index("|")].strip() if "|" in text else text
        if spanset and spanset != "{}" and spanset.replace(" ", "") != "{}":
            self.ctx.compile(spanset, "")  # the spanset filter must parse (400 with its position)

    def query_range(self, req: ApiRequest) -> Reply:
        text = self._query(req)
        start, end = bounds(req)
        step(req)
        self._check(text, start, end)
        return json_reply({"series": [], "metrics": {"completedJobs": 1, "totalJobs": 1}})

    def query(self, req: ApiRequest) -> Reply:
        text = self._query(req)
        start, end = bounds(req)
        self._check(text, start, end)
        return json_reply({"metrics": {"completedJobs": 1, "totalJobs": 1}})
