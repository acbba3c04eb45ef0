"""A naive metrics evaluator: span by span, the way Tempo's Go code walks them
(StepAggregator, GroupingAggregator, Histogram.Record, Log2Quantile, processTopK).

It shares only the spanset mask with the vectorised engine; everything after that (intervals,
grouping, labels, aggregation, buckets, quantiles, second stage) is written independently, in
plain Python, so the property tests can compare the two.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np

from kubespan.metrics.ast import (
    Aggregate,
    MetricsPipeline,
    MetricsQuery,
    SeriesFilter,
    TopK,
)
from kubespan.metrics.timegrid import TimeGrid
from kubespan.query.ast import KINDS, STATUSES
from kubespan.store.engine import Evaluator

KIND_NAMES = {v: k for k, v in KINDS.items()}
STATUS_NAMES = {v: k for k, v in STATUSES.items()}


def interval(grid: TimeGrid, ts: int) -> int:
    if not (grid.start < ts <= grid.end):
        return -1
    if grid.instant:
        return 0
    offset = ts - grid.start
    index = offset // grid.step
    if index * grid.step == offset:
        index -= 1
    return index


def lookup(field: Any, row: Any) -> Any:
    """(type, value) of a field on a span row, or None."""
    if field.kind == "name":
        return ("string", row.name)
    if field.kind == "kind":
        return ("string", KIND_NAMES[row.kind])
    if field.kind == "status":
        return ("string", STATUS_NAMES[row.status])
    if field.kind == "duration":
        return ("duration", row.duration)
    scopes = {"span": [row.attributes], "resource": [row.resource_attributes],
              "any": [row.attributes, row.resource_attributes]}[field.scope]
    for attributes in scopes:
        for key, value in attributes:
            if key == field.key:
                return _typed(value)
    return None


def _typed(value: Any) -> Any:
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("double", value)
    return ("string", value)


def number(field: Any, row: Any) -> tuple[float, str | None]:
    found = lookup(field, row)
    if found is None or found[0] not in ("int", "double", "duration"):
        return math.nan, None
    if found[0] == "duration":
        return found[1] / 1e9, "duration"
    return float(found[1]), found[0]


def log2_bucket(v: int) -> float:
    return float(1 << (v - 1).bit_length())


def log2_quantile(p: float, buckets: list[tuple[float, int]]) -> float:
    total_count = sum(c for _, c in buckets)
    max_samples = max(1, math.ceil(p * total_count))
    total = 0
    bucket = 0
    for i, (bound, count) in enumerate(buckets):
        bucket = i
        if total + count > max_samples:
            break
        total += count
        if total == max_samples:
            return bound
    interp = (max_samples - total) / buckets[bucket][1]
    max_v = math.log2(buckets[bucket][0])
    min_v = math.log2(buckets[bucket - 1][0]) if bucket > 0 else max_v - 1
    return math.pow(2, min_v + (max_v - min_v) * interp)


def evaluate(query: MetricsQuery, store: Any, grid: TimeGrid) -> dict[tuple, list[float]]:
    node = query.expr
    assert isinstance(node, MetricsPipeline) and isinstance(node.first, Aggregate)
    agg = node.first
    snap = store.snapshot()
    mask = Evaluator(snap).spanset(node.pipeline)
    rows = store.span_rows((np.flatnonzero(mask) + snap.floor).tolist())
    n = grid.intervals
    series: dict[tuple, dict] = {}
    for row in rows:
        i = interval(grid, row.start)
        if i < 0:
            continue
        values = tuple(lookup(b.field, row) for b in agg.by)
        extra: Any = None
        value = math.nan
        if agg.op in ("quantile_over_time", "histogram_over_time"):
            raw, kind = number(agg.field.field, row)
            if kind == "duration" and row.duration >= 2:
                extra = log2_bucket(row.duration) / 1e9
            elif kind == "int" and raw >= 2:
                extra = log2_bucket(int(raw))
            else:
                continue
        elif agg.field is not None:
            value, _ = number(agg.field.field, row)
            if math.isnan(value):
                continue
        key = values + ((extra,) if agg.op == "histogram_over_time" else ())
        slot = series.setdefault(key, {"count": [0] * n, "values": [[] for _ in range(n)],
                                       "hist": [{} for _ in range(n)]})
        slot["count"][i] += 1
        slot["values"][i].append(value)
        if extra is not None:
            slot["hist"][i][extra] = slot["hist"][i].get(extra, 0) + 1
    out: dict[tuple, list[float]] = {}
    for key, slot in series.items():
        labels = _labels(agg, key)
        if agg.op == "quantile_over_time":
            for p in agg.quantiles:
                out[labels + (("p", ("double", p)),)] = [
                    log2_quantile(p, sorted(h.items())) if h else 0.0 for h in slot["hist"]]
            continue
        if agg.op == "histogram_over_time":
            out[labels + (("__bucket", ("double", key[-1])),)] = [float(c) for c in slot["count"]]
            continue
        out[labels] = [_reduce(agg.op, c, v, grid) for c, v in zip(slot["count"], slot["values"], strict=False)]
    if not agg.by and agg.op in ("rate", "count_over_time") and not out:
        out[(("__name__", ("string", agg.op)),)] = [0.0] * n
    for step in node.second:
        out = _second(step, out, n)
    return out


def _labels(agg: Aggregate, key: tuple) -> tuple:
    if not agg.by:
        return () if agg.op in ("quantile_over_time", "histogram_over_time") else (("__name__", ("string", agg.op)),)
    found = []
    for b, value in zip(agg.by, key, strict=False):
        if value is None:
            continue
        if value[0] == "duration":
            from kubespan.metrics.columns import go_duration
            value = ("string", go_duration(value[1]))
        found.append((b.label, value))
    return tuple(found) or ((agg.by[0].label, ("nil", None)),)


def _reduce(op: str, count: int, values: list[float], grid: TimeGrid) -> float:
    if op == "count_over_time":
        return float(count)
    if op == "rate":
        return count * (1.0 / (grid.step / 1e9))
    if not values:
        return math.nan
    if op == "sum_over_time":
        return math.fsum(values)
    if op == "avg_over_time":
        return math.fsum(values) / len(values)
    return min(values) if op == "min_over_time" else max(values)


def _second(step: Any, series: dict, n: int) -> dict:
    if isinstance(step, SeriesFilter):
        import operator
        compare = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                   ">=": operator.ge}[step.op]
        out = {}
        for key, values in series.items():
            kept = [v if not math.isnan(v) and compare(v, step.value) else math.nan for v in values]
            if any(not math.isnan(v) for v in kept):
                out[key] = kept
        return out
    assert isinstance(step, TopK)
    if len(series) <= step.limit:
        return series
    from functools import cmp_to_key

    from kubespan.metrics.second_stage import _compare_keys

    def strip(key: tuple) -> tuple:
        return tuple(label for label in key if label[0] != "__name__")

    rank = {k: i for i, k in enumerate(sorted(series, key=cmp_to_key(lambda a, b: _compare_keys(strip(a), strip(b)))))}
    out: dict[tuple, list[float]] = {}
    sign = -1 if step.op == "bottomk" else 1
    for i in range(n):
        heap: list[tuple[float, int, tuple]] = []
        for key, values in series.items():
            value = values[i]
            if math.isnan(value):
                continue
            entry = (sign * value, sign * rank[key], key)
            if len(heap) < step.limit:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)
        for _, _, key in heap:
            out.setdefault(key, [math.nan] * n)[i] = series[key][i]
    return out
