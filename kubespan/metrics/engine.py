"""Evaluating TraceQL metrics over a store snapshot, vectorised with numpy.

One pass per pipeline: the spanset pipeline gives a mask over the live spans (the search
engine's indexed evaluator), the time grid gives each span's interval, the `by(…)` fields a
series id; then one `bincount` (or `minimum.at`) per function fills a series × interval table.
The answers are Tempo's (see proto_notes/query.md, "Metrics"), computed exactly rather than
from Tempo's per-block partial results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.metrics.ast import (
    Aggregate,
    ByField,
    Compare,
    MetricsExpr,
    MetricsMath,
    MetricsPipeline,
    MetricsQuery,
    Scalar,
)
from kubespan.metrics.buckets import bucket_bounds, log2_exponent, quantiles_per_cell
from kubespan.metrics.columns import FieldColumns
from kubespan.metrics.second_stage import apply_math, apply_second
from kubespan.metrics.series import NAME_LABEL, Label, LabelValue, Series, SeriesSet
from kubespan.metrics.timegrid import TimeGrid
from kubespan.query.ast import Const, Filter

Ints = npt.NDArray[np.int64]
DENSE_CELLS = 1 << 23
"""Largest series × interval × bucket table counted densely; beyond it counts are sorted."""


@dataclass
class Selection:
    """The spans one pipeline feeds its function: positions in the snapshot and their intervals."""

    columns: FieldColumns
    interval: Ints
    inspected: int = 0


@dataclass
class MetricsResult:
    series: list[Series]
    grid: TimeGrid
    inspected_spans: int = 0
    notes: list[str] = field(default_factory=list)


def evaluate(query: MetricsQuery, snap: Any, grid: TimeGrid, deadline: Any = None) -> MetricsResult:
    """The series of `query` over the live spans of `snap` on `grid`."""
    evaluator = _Evaluator(snap, grid, deadline)
    result = evaluator.expr(query.expr)
    result = apply_second(query.second, result, grid.intervals)
    return MetricsResult(list(result.values()), grid, evaluator.inspected)


class _Evaluator:
    def __init__(self, snap: Any, grid: TimeGrid, deadline: Any) -> None:
        self.snap = snap
        self.grid = grid
        self.deadline = deadline
        self.inspected = 0
        self._starts: npt.NDArray[np.int64] | None = None

    def expr(self, node: MetricsExpr) -> SeriesSet:
        if isinstance(node, MetricsPipeline):
            first = self.pipeline(node)
            return apply_second(node.second, first, self.grid.intervals)
        if isinstance(node, MetricsMath):
            left = node.left if isinstance(node.left, Scalar) else self.expr(node.left)
            right = node.right if isinstance(node.right, Scalar) else self.expr(node.right)
            return apply_math(node.op, left, right)
        raise TypeError(f"not a metrics expression: {node!r}")

    def pipeline(self, node: MetricsPipeline) -> SeriesSet:
        selection = self.select(node)
        if isinstance(node.first, Compare):
            from kubespan.metrics.compare import compare

            return compare(node.first, selection, self.snap, self.grid)
        return aggregate(node.first, selection, self.grid)

    def select(self, node: MetricsPipeline) -> Selection:
        """The spans matching the pipeline whose start lies in the grid, with their interval."""
        snap = self.snap
        live = snap.stop - snap.floor
        if self._starts is None:
            self._starts = snap.column("start") if live else np.zeros(0, np.int64)
        interval = self.grid.interval_of(self._starts)
        keep = interval >= 0
        if not _matches_all(node.pipeline) and live:
            from kubespan.store.engine import Evaluator

            keep &= Evaluator(snap, self.deadline).spanset(node.pipeline)
        if self.deadline is not None:
            self.deadline.check()
        rows = np.flatnonzero(keep).astype(np.int64)
        self.inspected += live
        return Selection(FieldColumns(snap, rows), interval[rows], len(rows))


def _matches_all(pipeline: Any) -> bool:
    return isinstance(pipeline, Filter) and isinstance(pipeline.expr, Const) and pipeline.expr.value


# ---------------------------------------------------------------------- first stage
def aggregate(agg: Aggregate, selection: Selection, grid: TimeGrid) -> SeriesSet:
    """One first-stage function over the selected spans."""
    columns, interval = selection.columns, selection.interval
    keep: npt.NDArray[np.bool_] | None = None
    values: npt.NDArray[np.float64] | None = None
    exponents: Ints | None = None
    durations = False
    if agg.op in ("quantile_over_time", "histogram_over_time"):
        assert agg.field is not None
        exponents, keep, durations = _buckets(columns, agg.field)
    elif agg.field is not None:
        values, _ = columns.numbers(agg.field.field)
        keep = ~np.isnan(values)
    if keep is not None and not keep.all():
        where = np.flatnonzero(keep)
        columns = FieldColumns(columns.snap, columns.rows[where])
        interval = interval[where]
        values = values[where] if values is not None else None
        exponents = exponents[where] if exponents is not None else None
    if not len(columns.rows) and (agg.by or agg.op in ("quantile_over_time", "histogram_over_time")):
        return {}
    series_id, labels = group(columns, agg)
    n_series, n_intervals = len(labels), grid.intervals
    if not n_series or not n_intervals:
        return {}
    cell = series_id * n_intervals + interval
    cells = n_series * n_intervals
    if agg.op == "histogram_over_time":
        assert exponents is not None
        return _histogram(cell, exponents, labels, n_intervals, durations)
    if agg.op == "quantile_over_time":
        assert exponents is not None
        return _quantiles(agg, cell, exponents, labels, n_intervals, durations)
    counts = np.bincount(cell, minlength=cells).astype(np.float64)
    if agg.op == "count_over_time":
        table = counts
    elif agg.op == "rate":
        table = counts * (1.0 / grid.step_seconds)
    else:
        assert values is not None
        table = _over_time(agg.op, cell, values, counts, cells)
    return _series_set(labels, table.reshape(n_series, n_intervals))


def _over_time(op: str, cell: Ints, values: npt.NDArray[np.float64], counts: npt.NDArray[np.float64],
               cells: int) -> npt.NDArray[np.float64]:
    empty = counts == 0
    if op in ("sum_over_time", "avg_over_time"):
        sums = np.bincount(cell, weights=values, minlength=cells).astype(np.float64)
        table = sums if op == "sum_over_time" else sums / np.where(empty, 1, counts)
    elif op == "min_over_time":
        table = np.full(cells, np.inf)
        np.minimum.at(table, cell, values)
    else:
        table = np.full(cells, -np.inf)
        np.maximum.at(table, cell, values)
    table[empty] = np.nan
    return table


def _buckets(columns: FieldColumns, field: ByField) -> tuple[Ints, npt.NDArray[np.bool_], bool]:
    """Bucket exponent per span, which spans have one (integers and durations ≥ 2), and if durations."""
    if field.field.kind == "duration":
        raw = columns.durations_ns()
        keep = raw >= 2
        return np.where(keep, log2_exponent(np.maximum(raw, 2)), 0), keep, True
    values, kinds = columns.numbers(field.field)
    keep = (kinds == 0) & (values >= 2)
    safe = np.where(keep, values, 2.0)
    return np.where(keep, log2_exponent(safe.astype(np.int64)), 0), keep, False


def _histogram(cell: Ints, exponents: Ints, labels: list[tuple[Label, ...]], n_intervals: int,
               durations: bool) -> SeriesSet:
    low = int(exponents.min()) if len(exponents) else 0
    width = int(exponents.max()) - low + 1 if len(exponents) else 1
    series_id = cell // n_intervals
    interval = cell % n_intervals
    hist_key = series_id * width + (exponents - low)
    present, hist_id = _dense_ids(hist_key, len(labels) * width)
    counts = np.bincount(hist_id * n_intervals + interval, minlength=len(present) * n_intervals)
    table = counts.astype(np.float64).reshape(len(present), n_intervals)
    out: SeriesSet = {}
    bounds = bucket_bounds(present % width + low, durations)
    for row, key in enumerate(present.tolist()):
        series_labels = labels[key // width] + (("__bucket", ("double", float(bounds[row]))),)
        series = Series(series_labels, table[row])
        out[series.key] = series
    return out


def _quantiles(agg: Aggregate, cell: Ints, exponents: Ints, labels: list[tuple[Label, ...]],
               n_intervals: int, durations: bool) -> SeriesSet:
    low = int(exponents.min())
    width = int(exponents.max()) - low + 1
    cells = len(labels) * n_intervals
    keys, counts = _sparse_counts(cell * width + (exponents - low), cells * width)
    bucket_cell = keys // width
    bounds = bucket_bounds(keys % width + low, durations)
    out: SeriesSet = {}
    for p in agg.quantiles:
        table = quantiles_per_cell(bucket_cell, bounds, counts, cells, p).reshape(len(labels), n_intervals)
        for row, series_labels in enumerate(labels):
            series = Series(series_labels + (("p", ("double", float(p))),), table[row])
            out[series.key] = series
    return out


# ---------------------------------------------------------------------- grouping
def group(columns: FieldColumns, agg: Aggregate) -> tuple[Ints, list[tuple[Label, ...]]]:
    """A series id per span and each series' labels (Tempo's: nil values left out, `__name__` if no by)."""
    n = len(columns.rows)
    if not agg.by:
        bucketed = agg.op in ("quantile_over_time", "histogram_over_time")  # their bucket or p label names them
        return np.zeros(n, np.int64), [() if bucketed else ((NAME_LABEL, ("string", agg.op)),)]
    codes, tables = [], []
    for by in agg.by:
        code, table = columns.groups(by.field)
        codes.append(code + 1)  # 0 = nil
        tables.append(table)
    key = np.zeros(n, np.int64)
    space = 1
    for code, table in zip(codes, tables, strict=False):
        key = key * (len(table) + 1) + code
        space *= len(table) + 1
    present, series_id = _dense_ids(key, space if space < 1 << 62 else None)
    labels = []
    for value in present.tolist():
        parts: list[int] = []
        for table in reversed(tables):
            value, part = divmod(value, len(table) + 1)
            parts.append(part - 1)
        parts.reverse()
        labels.append(_labels(agg.by, [tables[i][c] if c >= 0 else None for i, c in enumerate(parts)]))
    return series_id, labels


def _labels(by: tuple[ByField, ...], values: list[LabelValue | None]) -> tuple[Label, ...]:
    found = tuple((field.label, value) for field, value in zip(by, values, strict=False) if value is not None)
    return found or ((by[0].label, ("nil", None)),)


def _dense_ids(keys: Ints, space: int | None) -> tuple[Ints, Ints]:
    """(the distinct keys, ascending; each key's index among them)."""
    if not len(keys):
        return keys, keys
    if space is not None and space <= DENSE_CELLS:
        present = np.bincount(keys, minlength=space) > 0
        remap = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(np.int64), remap[keys].astype(np.int64)
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct.astype(np.int64), inverse.reshape(-1).astype(np.int64)


def _sparse_counts(keys: Ints, space: int) -> tuple[Ints, Ints]:
    """(distinct keys ascending, how many times each occurs)."""
    if space <= DENSE_CELLS:
        counts = np.bincount(keys, minlength=space)
        present = np.flatnonzero(counts)
        return present.astype(np.int64), counts[present].astype(np.int64)
    distinct, counts = np.unique(keys, return_counts=True)
    return distinct.astype(np.int64), counts.astype(np.int64)


def _series_set(labels: list[tuple[Label, ...]], table: npt.NDArray[np.float64]) -> SeriesSet:
    out: SeriesSet = {}
    for row, series_labels in enumerate(labels):
        series = Series(series_labels, table[row])
        out[series.key] = series
    return out
