"""Tempo's `GET /api/metrics/query_range` and `GET /api/metrics/query`, as functions of the query
parameters and a store snapshot; the HTTP server (kubespan.api) only routes to them.

The order of checks, the status codes and the error texts are Tempo's query-frontend's
(modules/frontend/metrics_query_range_handler.go, metrics_query_handler.go). Queries that stop
on a deadline raise the deadline's `QueryStopped`, for the server to answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubespan.metrics.ast import MetricsQuery
from kubespan.metrics.columns import UnsupportedField, go_duration
from kubespan.metrics.engine import MetricsResult, evaluate
from kubespan.metrics.grammar import compile_metrics
from kubespan.metrics.params import ParamError, bounds, parse_step
from kubespan.metrics.series import instant_json, range_json
from kubespan.metrics.timegrid import SECOND, TimeGrid, default_step
from kubespan.query.errors import QuerySyntaxError

Params = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class MetricsLimits:
    """Tempo's query-frontend limits, with its defaults: 24 h per query, 10,000 points per series.

    `end_cutoff_s` is 0 (Tempo's default is 30 s, to wait for recent blocks): what kubespan holds is
    complete the moment it arrives, so only an end in the future is pulled back to now.
    """

    max_duration_s: float = 24 * 3600
    max_intervals: int = 10_000
    end_cutoff_s: float = 0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any] | str  # JSON (a dict) or Tempo's plain-text error

    @property
    def content_type(self) -> str:
        return "application/json" if isinstance(self.body, dict) else "text/plain; charset=utf-8"


class MetricsRequestError(ValueError):
    """A request refused with status 400 and Tempo's text."""


def _first(params: Params) -> dict[str, str]:
    items = params.items() if isinstance(params, Mapping) else params
    found: dict[str, str] = {}
    for key, value in items:
        found.setdefault(key, value)
    return found


def _query_text(values: dict[str, str]) -> str:
    text = values.get("query", "")
    return values["q"] if values.get("q") else text


def _rpc(text: str) -> str:
    """How Tempo words a parameter error (an httpgrpc error)."""
    return f"rpc error: code = Code(400) desc = {text}"


@dataclass(frozen=True, slots=True)
class MetricsRequest:
    """A checked request: the compiled query and the time grid it is evaluated on."""

    query: MetricsQuery
    grid: TimeGrid


def parse_range(params: Params, now_ns: int, limits: MetricsLimits = MetricsLimits()) -> MetricsRequest:
    """Read and check a query_range request as Tempo does; raises `MetricsRequestError` with its text."""
    values = _first(params)
    try:
        start, end = bounds(values.get("start", ""), values.get("end", ""), values.get("since", ""), now_ns)
        step = parse_step(values["step"]) if values.get("step") else default_step(start, end)
    except ParamError as err:
        raise MetricsRequestError(_rpc(str(err))) from None
    end = _clamp_end(start, end, now_ns, limits)
    _validate(start, end, step, limits)
    query = _compile(_query_text(values))
    grid = TimeGrid.for_range(start, end, step).clamp_end(now_ns - int(limits.end_cutoff_s * SECOND))
    return MetricsRequest(query, grid)


def parse_instant(params: Params, now_ns: int, limits: MetricsLimits = MetricsLimits()) -> MetricsRequest:
    """Read and check an instant-query request: one interval, (start, end]."""
    values = _first(params)
    try:
        start, end = bounds(values.get("start", ""), values.get("end", ""), values.get("since", ""), now_ns)
    except ParamError as err:
        raise MetricsRequestError(_rpc(str(err))) from None
    if end <= start:
        raise MetricsRequestError("end must be greater than start")
    cutoff = now_ns - int(limits.end_cutoff_s * SECOND)
    if end > cutoff:
        end -= -(-(end - cutoff) // SECOND) * SECOND  # Tempo pulls the end back by whole seconds
        if end <= start:
            raise MetricsRequestError("query window falls entirely within query_end_cutoff")
    _validate(start, end, end - start, limits)
    return MetricsRequest(_compile(_query_text(values)), TimeGrid.for_instant(start, end))


def query_range(snap: Any, params: Params, now_ns: int | None = None, limits: MetricsLimits = MetricsLimits(),
                deadline: Any = None) -> Answer:
    """Answer `/api/metrics/query_range` over the live spans of `snap`."""
    try:
        request = parse_range(params, time.time_ns() if now_ns is None else now_ns, limits)
    except MetricsRequestError as err:
        return Answer(400, str(err))
    return _answer(request, snap, deadline, instant=False)


def query_instant(snap: Any, params: Params, now_ns: int | None = None, limits: MetricsLimits = MetricsLimits(),
                  deadline: Any = None) -> Answer:
    """Answer `/api/metrics/query`: one value per series over (start, end]."""
    try:
        request = parse_instant(params, time.time_ns() if now_ns is None else now_ns, limits)
    except MetricsRequestError as err:
        return Answer(400, str(err))
    return _answer(request, snap, deadline, instant=True)


def _clamp_end(start: int, end: int, now: int, limits: MetricsLimits) -> int:
    if start >= end:
        raise MetricsRequestError("end must be greater than start")
    end = min(end, now - int(limits.end_cutoff_s * SECOND))
    if start >= end:
        raise MetricsRequestError("query window falls entirely within query_end_cutoff")
    return end


def _validate(start: int, end: int, step: int, limits: MetricsLimits) -> None:
    if start >= end:
        raise MetricsRequestError("end must be greater than start")
    max_ns = int(limits.max_duration_s * SECOND)
    if max_ns and end - start > max_ns:
        raise MetricsRequestError(
            f"metrics query time range exceeds the maximum allowed duration of {go_duration(max_ns)}")
    if limits.max_intervals and (step == 0 or (end - start) // step > limits.max_intervals):
        smallest = (end - start) // limits.max_intervals
        raise MetricsRequestError(f"step of {go_duration(step)} is too small, minimum step for given range is "
                                  f"{go_duration(smallest)}")


def _compile(text: str) -> MetricsQuery:
    if not text.strip():
        raise MetricsRequestError("parse error : syntax error: unexpected $end")
    try:
        return compile_metrics(text)
    except QuerySyntaxError as err:
        raise MetricsRequestError(describe_error(err)) from None


def describe_error(err: QuerySyntaxError) -> str:
    """Tempo's wording: "not a metrics query", "compiling query: …" or "parse error at line 1, col N: …"."""
    if err.message.startswith("not a metrics query"):
        return "not a metrics query"
    if getattr(err, "validation", False):
        return f"compiling query: {err.message}"
    return f"parse error at line 1, col {err.column}: {err.message}"


def _answer(request: MetricsRequest, snap: Any, deadline: Any, instant: bool) -> Answer:
    try:
        result: MetricsResult = evaluate(request.query, snap, request.grid, deadline)
    except UnsupportedField as err:
        return Answer(400, f"compiling query: {err}")
    metrics = {"inspectedSpans": str(result.inspected_spans), "completedJobs": 1, "totalJobs": 1}
    if instant:
        return Answer(200, instant_json(result.series, metrics))
    return Answer(200, range_json(result.series, request.grid.timestamps_ms(), metrics))
