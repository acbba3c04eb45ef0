"""Pipelines over the store with numpy: spansets as arrays, not one Python object per span.

The spansets of a pipeline are kept as two arrays over their spans (live position, spanset
number) and per-spanset arrays (trace row, attribute values). Spansets and the spans in each
come in the order the span-by-span evaluation (`kubespan.query.spansets.evaluate`) lists them
(`&&` lists its left side's spans first, `>` its right side's), because that order decides
`by()`'s group order, the first value an aggregate sees and the rounding of a float sum. Each stage maps them
as that evaluation does: a span filter (and `&&`/`||` of filters) keeps spans, a scalar filter
aggregates per spanset with `ufunc.at` (spansets whose values are not all of one numeric type
are aggregated by `spansets.aggregate`, span by span), `by()` sorts spans by (spanset, value),
`select()` and `coalesce()` relabel. Structural operators after the first stage are left to
the span-by-span evaluation. Only the spansets that come out become `Spanset` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.query import columns as col
from kubespan.query.ast import Filter, SpansetOp
from kubespan.query.columns import Column
from kubespan.query.nodes import Aggregate, Coalesce, GroupBy, Pipeline, ScalarFilter, Select
from kubespan.query.spansets import Spanset, TraceSpans, aggregate, map_key, scalar_true
from kubespan.query.stringer import to_traceql
from kubespan.store.engine_aggregates import aggregate_holds, group_keys, group_order, vector_aggregate
from kubespan.store.engine_fields import vectorisable
from kubespan.store.engine_index import CHECK_EVERY

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_SIZE = 40
"""Bytes per span of a pipeline's intermediate arrays (charged to the query's memory budget)."""


@dataclass(slots=True)
class ByValue:
    """`by(f)` of each spanset: the value of `f` at the spanset's first span."""

    name: str
    expr: Any
    first: Ints

    def take(self, index: Any) -> ByValue:
        return ByValue(self.name, self.expr, self.first[index])


@dataclass(slots=True)
class Aggregated:
    """An aggregate's value per spanset (`exact`: the values outside int64, from Python's sums)."""

    name: str
    values: Column
    exact: npt.NDArray[np.object_] | None = None

    def take(self, index: Any) -> Aggregated:
        return Aggregated(self.name, self.values.take(index), None if self.exact is None else self.exact[index])

    def value(self, s: int) -> tuple[str, Any]:
        found = None if self.exact is None else self.exact[s]
        return found if found is not None else self.values.value(s)


@dataclass(slots=True)
class Sets:
    pos: Ints  # live positions of the spans, grouped by spanset, each spanset's in its list order
    set_: Ints  # spanset number of each span (non-decreasing)
    trace: Ints  # trace row of each spanset (non-decreasing)
    attributes: list[ByValue | Aggregated] = field(default_factory=list)
    scalar: int | None = None  # index in attributes of the last aggregate
    selected: tuple[Any, ...] = ()

    def keep_spans(self, flags: Bools, key: Ints | None = None) -> Sets:
        """The spans flagged (reordered by `key` within their spanset); spansets left empty go."""
        present = np.bincount(self.set_[flags], minlength=len(self.trace)) > 0
        pos, set_ = self.pos[flags], self.set_[flags]
        if key is not None and key[flags].any():
            order = np.lexsort((np.arange(len(pos)), key[flags], set_))
            pos, set_ = pos[order], set_[order]
        return self._renumber(pos, set_, present)

    def keep_sets(self, flags: Bools) -> Sets:
        spans = flags[self.set_]
        return self._renumber(self.pos[spans], self.set_[spans], flags)

    def _renumber(self, pos: Ints, set_: Ints, present: Bools) -> Sets:
        number = np.cumsum(present) - 1
        return Sets(pos, number[set_], self.trace[present], [a.take(present) for a in self.attributes],
                    self.scalar, self.selected)


def supported(root: Any, first_is_mask: bool) -> bool:
    """Whether every stage has an array form (the first is answered by a mask, or is one of them);
    structural operators after the first stage have none."""
    if not isinstance(root, Pipeline):
        return False
    stages = root.stages[1:] if first_is_mask else root.stages
    return all(isinstance(s, (ScalarFilter, GroupBy, Select, Coalesce)) or _span_filter(s) for s in stages)


def _span_filter(node: Any) -> bool:
    if isinstance(node, Filter):
        return True
    return isinstance(node, SpansetOp) and node.op in ("&&", "||") and _span_filter(node.left) \
        and _span_filter(node.right)


class ArrayPipeline:
    """Runs a supported pipeline for one evaluator (`engine.Evaluator`)."""

    def __init__(self, evaluator: Any, context: Any) -> None:
        self.evaluator, self.context = evaluator, context
        self.snap, self.deadline = evaluator.snap, evaluator.deadline

    def run(self, root: Pipeline, first_mask: Bools | None) -> Sets:
        """The spansets; `first_mask` answers the first stage when it is a mask (else it runs as a stage)."""
        stages = list(root.stages)
        if first_mask is not None:
            pos = np.flatnonzero(first_mask)
            key = self.order_key(stages.pop(0))
        else:
            pos, key = np.arange(self.snap.stop - self.snap.floor), None
        rows = self.evaluator.traces().trace[pos]
        present = np.zeros(self.evaluator.traces().size, bool)
        present[rows] = True
        set_ = (np.cumsum(present) - 1)[rows]
        order = np.lexsort((pos, key[pos], set_)) if key is not None else np.argsort(set_, kind="stable")
        sets = Sets(pos[order], set_[order], np.flatnonzero(present))
        self.deadline.charge(_SIZE * len(pos))
        for stage in stages:
            if not len(sets.pos):
                break
            sets = self.stage(stage, sets)
            self.deadline.check()
        return sets

    def stage(self, stage: Any, sets: Sets) -> Sets:
        if isinstance(stage, ScalarFilter):
            values, has = self.aggregate(stage.left, sets)
            want = (stage.right.type, stage.right.value)
            holds = aggregate_holds(stage.op, values.values, want)
            if values.exact is not None:
                for s, exact in enumerate(values.exact.tolist()):
                    if exact is not None:
                        holds[s] = scalar_true(stage.op, exact, want)
            out = Sets(sets.pos, sets.set_, sets.trace, sets.attributes + [values], len(sets.attributes),
                       sets.selected)
            return out.keep_sets(has & holds)
        if isinstance(stage, GroupBy):
            return self.group_by(stage, sets)
        if isinstance(stage, Select):
            added = tuple(f for f in stage.fields if f not in sets.selected)
            return Sets(sets.pos, sets.set_, sets.trace, sets.attributes, sets.scalar, sets.selected + added)
        if isinstance(stage, Coalesce):
            change = np.ones(len(sets.trace), bool)
            change[1:] = sets.trace[1:] != sets.trace[:-1]
            return Sets(sets.pos, (np.cumsum(change) - 1)[sets.set_], sets.trace[change], [], None, sets.selected)
        return sets.keep_spans(*self.span_filter(stage, sets))

    def span_filter(self, node: Any, sets: Sets) -> tuple[Bools, Ints]:
        """Per span: kept by the filter (`&&` keeps both sides' spans where both matched in the spanset),
        and its place in the result (`&&`, `||`: the left side's spans first)."""
        if isinstance(node, Filter):
            return np.asarray(self.evaluator.spanset(node)[sets.pos], bool), np.zeros(len(sets.pos), np.int64)
        (left, left_key), (right, right_key) = self.span_filter(node.left, sets), self.span_filter(node.right, sets)
        key = _after(left, left_key, right_key)
        if node.op == "||":
            return left | right, key
        n = len(sets.trace)
        both = (np.bincount(sets.set_[left], minlength=n) > 0) & (np.bincount(sets.set_[right], minlength=n) > 0)
        return (left | right) & both[sets.set_], key

    def order_key(self, node: Any) -> Ints | None:
        """Per live span, its place in the list a mask-only spanset expression gives (None: ascending)."""
        if isinstance(node, Filter):
            return None
        right = self.order_key(node.right)
        if node.op not in ("&&", "||"):
            return right  # structural: the right-hand spans, in their order
        n = self.snap.stop - self.snap.floor
        left = self.order_key(node.left)
        zeros = np.zeros(n, np.int64)
        return _after(self.evaluator.spanset(node.left), zeros if left is None else left,
                      zeros if right is None else right)

    # ------------------------------------------------------------ values

    def values_at(self, expr: Any, pos: Ints) -> Column:
        """The typed values of a field expression at live positions; arrays stay ARR."""
        if not vectorisable(expr):
            return col.from_values(self.python_values(expr, pos))
        live = self.snap.stop - self.snap.floor
        if 4 * len(pos) >= live:  # most spans: every live span's value, then a gather (no sort)
            return self.sorted_values(expr, np.arange(live)).take(pos)
        order = np.argsort(pos, kind="stable")
        out = self.sorted_values(expr, pos[order])
        back = np.empty(len(order), np.int64)
        back[order] = np.arange(len(order))
        return out.take(back)

    def sorted_values(self, expr: Any, pos: Ints) -> Column:
        snap, fields = self.snap, self.evaluator.fields()
        parts = []
        for chunk, i in snap.live_slices():
            lo, hi = np.searchsorted(pos, [chunk.base + i - snap.floor, chunk.stop - snap.floor])
            if hi > lo:
                parts.append(fields.column(expr, chunk).take(pos[lo:hi] + snap.floor - chunk.base))
                self.deadline.advance(int(hi - lo))
        out = col.concat(parts)
        odd = np.flatnonzero(out.odd)
        if len(odd):
            fixed = col.from_values(self.python_values(expr, pos[odd]))
            for name in Column.__slots__:
                getattr(out, name)[odd] = getattr(fixed, name)
        return out

    def python_values(self, expr: Any, pos: Ints) -> list[tuple[str, Any]]:
        values: list[tuple[str, Any]] = []
        for start in range(0, len(pos), CHECK_EVERY):
            values += [self.context.value(expr, p) for p in pos[start:start + CHECK_EVERY].tolist()]
            self.deadline.check()
        return values

    # ------------------------------------------------------------ aggregates

    def aggregate(self, node: Aggregate, sets: Sets) -> tuple[Aggregated, Bools]:
        """(value, has a value) per spanset, as `spansets.aggregate` gives them."""
        n, name = len(sets.trace), to_traceql(node)
        if node.op == "count":
            counts = np.bincount(sets.set_, minlength=n)
            return Aggregated(name, Column(np.full(n, col.INT, np.int8), counts.astype(np.int64), np.zeros(n),
                                           np.empty(n, object), np.zeros(n, bool))), counts > 0
        values = self.values_at(node.expr, sets.pos)
        types, set_ = values.type, sets.set_
        valid = (types != col.NIL_T) & (types != col.ARR)
        index = np.arange(len(types))
        first = np.full(n, len(types), np.int64)
        np.minimum.at(first, set_[valid], index[valid])
        has = first < len(types)
        set_type = np.where(has, types[np.minimum(first, len(types) - 1)], -1)
        python = has & ~np.isin(set_type, (col.INT, col.FLOAT, col.DURATION))
        python |= _any(set_[valid & (types != set_type[set_])], n)  # mixed types: Python's first-type rules
        odd_floats = np.isnan(values.real) | ((values.real == 0) & np.signbit(values.real))  # NaN, -0.0: Python's ties
        python |= _any(set_[valid & (types == col.FLOAT) & odd_floats], n)
        if node.op in ("sum", "avg"):  # Python's ints do not wrap, nor round before dividing
            magnitude = np.bincount(set_[valid], np.abs(values.num[valid].astype(np.float64)), minlength=n)
            python |= np.isin(set_type, (col.INT, col.DURATION)) & (magnitude >= 2.0**53)
        out = Aggregated(name, vector_aggregate(node.op, values, set_, valid & ~python[set_], first, set_type, n))
        slow = python[set_]
        for s, spans in _by_set(sets.pos[slow], set_[slow]):  # in the spanset's order
            value = aggregate(node, Spanset(TraceSpans([], {}, {}), spans), self.context)
            if value is None:
                has[s] = False
                continue
            try:
                col.put(out.values, s, value)
            except OverflowError:  # a sum of ints past int64 (Python's ints do not wrap)
                if out.exact is None:
                    out.exact = np.full(n, None, object)
                out.exact[s] = value
        return out, has

    # ------------------------------------------------------------ by()

    def group_by(self, node: GroupBy, sets: Sets) -> Sets:
        """Each spanset split by the value of the field; groups in order of their first span."""
        values = self.values_at(node.expr, sets.pos)
        kind, key = group_keys(values)
        python = np.flatnonzero((values.type == col.ARR) | ((values.type == col.FLOAT) & np.isnan(values.real)))
        if len(python):
            codes: dict[Any, int] = {}
            for i, value in zip(python.tolist(), self.python_values(node.expr, sets.pos[python])):
                kind[i], key[i] = 99, codes.setdefault(map_key(value), len(codes))
        order = group_order(sets.set_, kind, key)
        change = np.ones(len(order), bool)
        change[1:] = (np.diff(sets.set_[order]) != 0) | (np.diff(kind[order]) != 0) | (np.diff(key[order]) != 0)
        group = np.empty(len(order), np.int64)
        group[order] = np.cumsum(change) - 1
        first = order[change]  # a stable order: each group's run starts with its first span
        parent = sets.set_[first]
        by_first = np.lexsort((first, parent))
        rank = np.empty(len(by_first), np.int64)
        rank[by_first] = np.arange(len(by_first))
        taken = parent[by_first]
        attributes = [a.take(taken) for a in sets.attributes]
        attributes.append(ByValue(f"by({to_traceql(node.expr)})", node.expr, sets.pos[first[by_first]]))
        set_ = rank[group]
        regroup = np.argsort(set_, kind="stable")  # each group's spans in the order they were appended
        return Sets(sets.pos[regroup], set_[regroup], sets.trace[taken], attributes, None, sets.selected)

    # ------------------------------------------------------------ results

    def mask(self, sets: Sets) -> Bools:
        mask = np.zeros(self.snap.stop - self.snap.floor, bool)
        mask[sets.pos] = True
        return mask

    def spansets(self, sets: Sets) -> list[Spanset]:
        """`Spanset` objects for the spansets (their traces built for these traces only)."""
        from kubespan.query.batch_source import evaluate_field
        from kubespan.store.engine_sources import snapshot_traces

        if not len(sets.pos):
            return []
        traces = snapshot_traces(self.snap, sets.pos)
        trace_column = self.evaluator.traces().trace
        by_row = {int(trace_column[t.spans[0]]): t for t in traces}
        bounds = np.cumsum(np.bincount(sets.set_, minlength=len(sets.trace)))[:-1]
        src = self.evaluator.source()
        facts = src.facts()
        out = []
        for s, members in enumerate(np.split(sets.pos, bounds)):
            attributes = [(a.name, evaluate_field(a.expr, src, int(a.first[s]), facts)) if isinstance(a, ByValue)
                          else (a.name, a.value(s)) for a in sets.attributes]
            scalar = attributes[sets.scalar][1] if sets.scalar is not None else None
            out.append(Spanset(by_row[int(sets.trace[s])], members.tolist(), attributes, scalar, sets.selected))
        return out


def _by_set(pos: Ints, set_: Ints) -> list[tuple[int, list[int]]]:
    """(spanset, its positions) for each spanset present (`set_` non-decreasing)."""
    numbers, starts = np.unique(set_, return_index=True)
    return list(zip(numbers.tolist(), [part.tolist() for part in np.split(pos, starts[1:])]))


def _after(first: Bools, first_key: Ints, then_key: Ints) -> Ints:
    """Order keys putting the `first` spans (by `first_key`) before the others (by `then_key`)."""
    base = int(first_key.max()) + 1 if len(first_key) else 0
    key = np.where(first, first_key, base + then_key)
    if len(key) and int(key.max()) > 1 << 40:  # deep nesting: renumber densely
        key = np.unique(key, return_inverse=True)[1].astype(np.int64)
    return key


def _any(set_: Ints, n: int) -> Bools:
    return np.bincount(set_, minlength=n) > 0
