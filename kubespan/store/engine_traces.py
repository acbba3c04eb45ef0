"""Per-trace columns for the indexed evaluator: trace-level intrinsics and simple pipelines, vectorised.

`trace:rootName`, `trace:rootService` and `trace:duration` are computed per trace row once per
query from the live columns (a scatter, no sort) and gathered back per span, so they cost about
as much as a span-level condition. Pipelines of the shape `{ … } | count()/avg()/min()/max()/sum()
OP number` (over `duration` or nothing) are answered per trace with `bincount`/`ufunc.at`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from kubespan.query.ast import Cond, Field, Literal
from kubespan.query.nodes import Aggregate, Pipeline, ScalarFilter
from kubespan.store.engine_index import _numeric, _string_lut

TRACE_KINDS = ("root_name", "root_service", "trace_duration")
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class TraceColumns:
    """Live per-trace facts of one snapshot (rows are trace-table rows)."""

    def __init__(self, snap: Any) -> None:
        self.snap = snap
        self.trace = snap.column("trace").astype(np.int64)
        self.size = max(len(snap.trace_ids), int(self.trace.max()) + 1 if len(self.trace) else 0) + 1
        self._extent: tuple[np.ndarray, np.ndarray] | None = None
        self._roots: tuple[np.ndarray, np.ndarray] | None = None

    def extent(self) -> tuple[np.ndarray, np.ndarray]:
        """(min start, max end) per trace row."""
        if self._extent is None:
            first = np.full(self.size, INT64_MAX, np.int64)
            last = np.full(self.size, INT64_MIN, np.int64)
            np.minimum.at(first, self.trace, self.snap.column("start"))
            np.maximum.at(last, self.trace, self.snap.column("end"))
            self._extent = first, last
        return self._extent

    def roots(self) -> tuple[np.ndarray, np.ndarray]:
        """(name id, service id) of each trace row's first root span (-1: no root stored)."""
        if self._roots is None:
            snap = self.snap
            roots = np.flatnonzero(snap.column("parent_id") == 0)[::-1]  # reversed: the first root is written last
            rows = self.trace[roots]
            names = np.full(self.size, -1, np.int64)
            services = np.full(self.size, -1, np.int64)
            names[rows] = snap.column("name")[roots]
            services[rows] = snap.resource_service[snap.scope_resource[snap.column("scope")[roots]]]
            self._roots = names, services
        return self._roots

    def cond(self, cond: Cond, deadline: Any) -> np.ndarray:
        """Per trace row: does the trace-level condition hold?"""
        kind = cond.field.kind
        if kind == "trace_duration":
            first, last = self.extent()
            return _numeric(last - first, cond.op, cond.literal)
        pred = cond.value_pred()
        names, services = self.roots()
        ids, strings = (names, self.snap.names) if kind == "root_name" else (services, self.snap.services)
        lut = _string_lut(strings, pred, deadline)
        return np.where(ids >= 0, lut[np.maximum(ids, 0)], bool(pred("")))


def simple_pipeline(root: Any) -> tuple[Any, ScalarFilter] | None:
    """(first stage, scalar filter) for `{ … } | aggregate OP number` over duration or count()."""
    if not isinstance(root, Pipeline) or len(root.stages) != 2:
        return None
    first, second = root.stages
    if not isinstance(second, ScalarFilter) or not isinstance(second.left, Aggregate):
        return None
    aggregate = second.left
    if aggregate.op != "count" and not (isinstance(aggregate.expr, Field) and aggregate.expr.kind == "duration"):
        return None
    return first, second


def aggregate_per_trace(columns: TraceColumns, mask: np.ndarray, aggregate: Aggregate) -> tuple[np.ndarray, np.ndarray]:
    """(value per trace row, rows with a value) of `aggregate` over the masked spans."""
    rows = columns.trace[mask]
    counts = np.bincount(rows, minlength=columns.size)
    present = counts > 0
    if aggregate.op == "count":
        return counts, present
    durations = (columns.snap.column("end") - columns.snap.column("start"))[mask]
    if aggregate.op in ("sum", "avg"):
        total = np.zeros(columns.size, np.int64)
        np.add.at(total, rows, durations)
        if aggregate.op == "sum":
            return total, present
        return (total // np.maximum(counts, 1)), present  # Tempo: a duration divided by the count
    out = np.full(columns.size, INT64_MAX if aggregate.op == "min" else INT64_MIN, np.int64)
    (np.minimum if aggregate.op == "min" else np.maximum).at(out, rows, durations)
    return out, present


def scalar_holds(values: np.ndarray, scalar: ScalarFilter) -> np.ndarray:
    literal: Literal = scalar.right
    compare: Callable[..., Any] = {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
                         ">": np.greater, ">=": np.greater_equal}[scalar.op]
    return np.asarray(compare(values.astype(np.float64), float(literal.value)), bool)
