"""Indexed evaluation of a query over a store snapshot, vectorised with numpy.

Conditions are first evaluated on the small distinct-value tables (span names,
services, attribute values, event names), giving lookup tables; the per-span work
is then a gather or a membership test over the chunk columns.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, TypeGuard, TypeVar, Union

import numpy as np
import numpy.typing as npt

from kubespan.model import value_text
from kubespan.query.ast import And, BareWord, Cond, Const, Expr, Field, Filter, Literal, Not, Or, Spanset, SpansetOp
from kubespan.query.limits import Deadline
from kubespan.query.nodes import BinOp, Operand, Pipeline, ScalarFilter, UnOp
from kubespan.query.spansets import Spanset as Spanset_
from kubespan.query.spansets import evaluate
from kubespan.query.stringer import to_traceql
from kubespan.query.values import Value
from kubespan.store.chunk import Chunk
from kubespan.store.engine_fields import FieldColumns, vectorisable
from kubespan.store.engine_index import (
    CHECK_EVERY,
    IdSet,
    _id_prefix,
    _numeric,
    _string_lut,
    cached_scan,
    matching_ids,
    spans_with,
)
from kubespan.store.engine_memo import chunk_local_key, chunk_mask
from kubespan.store.engine_order import conjunction
from kubespan.store.engine_pipeline import ArrayPipeline, Sets, supported
from kubespan.store.engine_structure import parent_positions as parent_positions
from kubespan.store.engine_structure import structural, trace_flags
from kubespan.store.engine_traces import TRACE_KINDS, TraceColumns, aggregate_per_trace, scalar_holds, simple_pipeline
from kubespan.store.snapshot import Snapshot

if TYPE_CHECKING:
    from kubespan.store.engine_sources import SnapshotSource

Bools = npt.NDArray[np.bool_]
FieldExpr = Union[BinOp, UnOp, Field, Literal]
AttrPlan = tuple[IdSet, Union[IdSet, None], Bools, Bools]
BarePlan = tuple[Bools, Bools, Bools, IdSet]
_Plan = TypeVar("_Plan")


class Evaluator:
    """Evaluates one query over one snapshot; plans are computed once per condition."""

    def __init__(self, snap: Snapshot, deadline: Deadline | None = None) -> None:
        self.deadline = deadline or Deadline()
        self.deadline.progress.spans_total = snap.stop - snap.floor
        self.snap = dataclasses.replace(snap, deadline=self.deadline)  # for the scans it starts
        self.plans: dict[Any, Any] = {}

    # ------------------------------------------------------------ spansets
    def traces(self) -> TraceColumns:
        found: TraceColumns | None = self.plans.get("traces")
        if found is None:
            found = self.plans["traces"] = TraceColumns(self.snap)
            self.deadline.charge(8 * len(found.trace) + 32 * found.size)
        return found

    def simple_pipeline(self, root: Spanset) -> tuple[Bools, Bools, np.ndarray, str] | None:
        """(span mask, per-trace-row pass flags, per-row values, attribute name) for `{…} | agg OP n`."""
        shape = simple_pipeline(root)
        if shape is None or not _mask_only(shape[0]):
            return None
        first, scalar = shape
        mask = self.spanset(first)
        values, present = aggregate_per_trace(self.traces(), mask, scalar.left)
        return mask, present & scalar_holds(values, scalar), values, to_traceql(scalar.left)

    def array_pipeline(self, root: Spanset) -> tuple[ArrayPipeline, Sets] | None:
        """A pipeline run over arrays (None: a stage only the span-by-span evaluation has)."""
        if not isinstance(root, Pipeline):
            return None
        first = root.stages[0] if _mask_only(root.stages[0]) else None  # answered by a mask
        if not supported(root, first is not None):
            return None
        pipeline = ArrayPipeline(self, _IndexedContext(self))
        return pipeline, pipeline.run(root, self.spanset(first) if first is not None else None)

    def fields(self) -> FieldColumns:
        found: FieldColumns | None = self.plans.get("fields")
        if found is None:
            found = self.plans["fields"] = FieldColumns(self)
        return found

    def matches(self, root: Spanset) -> Bools:
        """Global mask over live ordinals [floor, stop) of the spans the query returns."""
        if _mask_only(root):
            return self.spanset(root)
        simple = self.simple_pipeline(root)
        if simple is not None:
            mask, passed, _, _ = simple
            kept: Bools = mask & passed[self.traces().trace]
            return kept
        arrays = self.array_pipeline(root)
        if arrays is not None:
            return arrays[0].mask(arrays[1])
        mask = np.zeros(self.snap.stop - self.snap.floor, bool)
        for spanset in self.spansets(root):
            mask[spanset.spans] = True
        return mask

    def spansets(self, root: Spanset) -> list[Spanset_]:
        """The spansets of a pipeline or spanset query; spans are live positions (ordinal − floor)."""
        from kubespan.store.engine_sources import snapshot_traces

        ctx = _IndexedContext(self)
        simple = self.simple_pipeline(root)
        if simple is not None:
            return self.simple_spansets(root, *simple)
        arrays = self.array_pipeline(root)
        if arrays is not None:
            return arrays[0].spansets(arrays[1])
        stages = root.stages if isinstance(root, Pipeline) else (root,)
        if _mask_only(stages[0]):  # only the traces the first stage keeps, with its spans
            mask = self.spanset(stages[0])
            positions = np.flatnonzero(mask)
            traces = snapshot_traces(self.snap, positions) if len(positions) else []
            self.deadline.charge(64 * len(positions))
            first = [Spanset_(t, kept) for t in traces if (kept := [p for p in t.spans if mask[p]])]
            rest = Pipeline(stages[1:]) if len(stages) > 1 else None
            return evaluate(rest, first, ctx) if rest is not None else first
        traces = snapshot_traces(self.snap)
        self.deadline.charge(64 * (self.snap.stop - self.snap.floor))
        return evaluate(root, [Spanset_(trace, list(trace.spans)) for trace in traces], ctx)

    def simple_spansets(self, root: Spanset, mask: Bools, passed: Bools, values: np.ndarray,
                        name: str) -> list[Spanset_]:
        from kubespan.store.engine_sources import snapshot_traces

        assert isinstance(root, Pipeline)  # `simple_pipeline` found one
        trace = self.traces().trace
        keep = mask & passed[trace]
        positions = np.flatnonzero(keep)
        scalar = root.stages[1]
        assert isinstance(scalar, ScalarFilter)
        aggregate = scalar.left
        type_ = "int" if aggregate.op == "count" else "duration"
        out: list[Spanset_] = []
        for t in (snapshot_traces(self.snap, positions) if len(positions) else []):
            spans = [p for p in t.spans if keep[p]]
            row = int(trace[spans[0]])
            value = (type_, int(values[row]))
            out.append(Spanset_(t, spans, [(name, value)], value))
        return out

    def spanset(self, node: Spanset) -> Bools:
        """Global mask over live ordinals [floor, stop), for Filter and non-union SpansetOp trees."""
        deadline = self.deadline
        if isinstance(node, Filter):
            found: Bools | None = self.plans.get(("mask", id(node)))
            if found is not None:
                return found
            parts, key = [], chunk_local_key(node.expr)
            for chunk, i in self.snap.live_slices():
                parts.append(chunk_mask(chunk, key, lambda c: self.expr(node.expr, c))[i:])
                deadline.advance(chunk.n - i)
            deadline.charge(self.snap.stop - self.snap.floor)
            mask = np.concatenate(parts) if parts else np.zeros(0, bool)
            self.plans[("mask", id(node))] = mask
            return mask
        assert isinstance(node, SpansetOp), "a pipeline is not answered by a mask (see `_mask_only`)"
        left = self.spanset(node.left)
        right = self.spanset(node.right)
        deadline.charge(len(left))
        if node.op == "||":
            return left | right
        trace = self.snap.column("trace")
        size = len(self.snap.trace_ids) + 1
        deadline.charge(trace.nbytes + 2 * size + 4 * len(left))
        if node.op == "&&":
            both = trace_flags(trace[left], size) & trace_flags(trace[right], size)
            in_both: Bools = (left | right) & both[trace]
            return in_both
        return structural(node.op, left, right, trace, self.snap, deadline)

    def generic(self, expr: FieldExpr, chunk: Chunk) -> Bools:
        """A field expression the indexes cannot answer, span by span over the chunk's live spans."""
        from kubespan.query.batch_source import evaluate_field, is_true

        src = self.source()
        facts = src.facts()
        out = np.zeros(chunk.n, bool)
        first = max(0, self.snap.floor - chunk.base)
        offset = chunk.base - self.snap.floor
        for start in range(first, chunk.n, CHECK_EVERY):
            for i in range(start, min(chunk.n, start + CHECK_EVERY)):
                out[i] = is_true(evaluate_field(expr, src, i + offset, facts))
            self.deadline.check()
        return out

    def source(self) -> SnapshotSource:
        found: SnapshotSource | None = self.plans.get("source")
        if found is None:
            from kubespan.store.engine_sources import SnapshotSource

            found = self.plans["source"] = SnapshotSource(self.snap)
        return found

    # ------------------------------------------------------------ span expressions
    def expr(self, expr: Expr, chunk: Chunk) -> Bools:
        if isinstance(expr, Cond):
            return self.cond(expr, chunk)
        if isinstance(expr, And):
            return conjunction(self, expr, chunk)
        if isinstance(expr, Or):
            left = self.expr(expr.left, chunk)
            return left | self.expr(expr.right, chunk) if not left.all() else left
        if isinstance(expr, Not):
            return ~self.expr(expr.inner, chunk)
        if isinstance(expr, BareWord):
            return self.bare(expr, chunk)
        if isinstance(expr, Const):
            return np.full(chunk.n, expr.value, bool)
        if isinstance(expr, (BinOp, UnOp, Field, Literal)):
            if vectorisable(expr):
                return self.fields().mask(expr, chunk)
            return self.generic(expr, chunk)
        raise TypeError(f"not an expression: {expr!r}")

    def plan(self, node: object, build: Callable[[], _Plan]) -> _Plan:
        key = id(node)
        found: _Plan | None = self.plans.get(key)
        if found is None:
            found = self.plans[key] = build()
        return found

    def cond(self, cond: Cond, chunk: Chunk) -> Bools:
        kind = cond.field.kind
        if kind == "name":
            lut = self.plan(cond, lambda: _string_lut(self.snap.names, cond.value_pred(), self.deadline))
            named: Bools = lut[chunk.name]
            return named
        if kind == "service":
            lut = self.plan(cond, lambda: self.per_scope(
                _string_lut(self.snap.services, cond.value_pred(), self.deadline)))
            return lut[chunk.scope] if len(lut) else np.zeros(chunk.n, bool)
        if kind in ("kind", "status"):
            return _numeric(chunk.kind if kind == "kind" else chunk.status, cond.op, cond.literal)
        if kind == "duration":
            return _numeric(chunk.end - chunk.start, cond.op, cond.literal)
        if kind == "trace":
            lut = self.plan(cond, lambda: self.trace_lut(cond.literal.value))
            mask: Bools = lut[chunk.trace]
            return mask if cond.op == "=" else ~mask
        if kind in ("span", "parent"):
            mask = _id_prefix(chunk.span_id if kind == "span" else chunk.parent_id, cond.literal.value, kind)
            return mask if cond.op == "=" else ~mask
        if kind == "event":
            return self.event(cond, chunk)
        if kind in TRACE_KINDS:
            lut = self.plan(cond, lambda: self.traces().cond(cond, self.deadline))
            in_trace: Bools = lut[chunk.trace]
            return in_trace
        return self.attr(cond, chunk)

    def per_scope(self, service_lut: Bools) -> Bools:
        """A per-service flag turned into a per-scope flag."""
        return service_lut[self.snap.resource_service][self.snap.scope_resource]

    def trace_lut(self, prefix: str) -> Bools:
        trace_ids = self.snap.trace_ids
        lut = np.zeros(len(trace_ids) + 1, bool)
        if len(prefix) == 32:
            found = self.snap.trace_lookup(bytes.fromhex(prefix))
            if found is not None:
                lut[found] = True
        elif prefix:
            for index in range(len(trace_ids)):
                if trace_ids[index].hex().startswith(prefix):
                    lut[index] = True
        return lut

    def event(self, cond: Cond, chunk: Chunk) -> Bools:
        """Spans with an event whose name satisfies the condition (`!=` too: any event)."""
        lut = self.plan(cond, lambda: _string_lut(self.snap.event_names, cond.value_pred(), self.deadline))
        return spans_with(chunk.event_flat, chunk.event_off, None, lut)

    def attr(self, cond: Cond, chunk: Chunk) -> Bools:
        plan = self.plan(cond, lambda: self.attr_plan(cond))
        match_ids, key_ids, res_match, res_has = plan
        res_has_any = bool(res_has.any())
        scope = cond.field.scope
        nil = cond.literal.type == "nil"
        span_has: Bools | None = None
        if (scope == "any" and res_has_any) or (nil and scope != "resource"):
            assert key_ids is not None  # `attr_plan` keeps the key's ids for these
            span_has = key_ids.spans(chunk)
        if nil:
            if scope == "resource":
                present: Bools = res_has[chunk.scope]
            else:
                assert span_has is not None
                if scope == "span":
                    present = span_has
                elif cond.op == "=":  # Tempo: `.x = nil` when the span or its resource lacks x
                    lacking: Bools = ~span_has | ~res_has[chunk.scope]
                    return lacking
                else:
                    present = span_has | res_has[chunk.scope]
            return ~present if cond.op == "=" else present
        if scope == "resource":
            resource_match: Bools = res_match[chunk.scope]
            return resource_match
        span_match = match_ids.spans(chunk)
        if scope == "span" or not res_has_any:
            return span_match
        assert span_has is not None
        either: Bools = span_match | (~span_has & res_match[chunk.scope])
        return either

    def attr_plan(self, cond: Cond) -> AttrPlan:
        snap = self.snap
        key = cond.field.key
        size = snap.n_attributes
        matched = [] if cond.literal.type == "nil" else matching_ids(snap, key, cond)
        attributes = snap.attributes
        matched_set = set(matched)
        res_match = np.array([any(a in matched_set for a in attrs) for attrs in snap.resource_attrs] or [False])
        res_has = np.array([any(attributes[a].key == key for a in attrs) for attrs in snap.resource_attrs] or [False])
        needs_key = cond.literal.type == "nil" or (cond.field.scope == "any" and res_has.any())
        build = not snap.indexed_ahead
        key_set = IdSet(snap.index.ids_of_key(key, size), size, build) if needs_key else None
        return IdSet(matched, size, build), key_set, res_match[snap.scope_resource], res_has[snap.scope_resource]

    def bare(self, word: BareWord, chunk: Chunk) -> Bools:
        plan = self.plan(word, lambda: self.bare_plan(word))
        names, scopes, events, attrs = plan
        mask: Bools = names[chunk.name] | scopes[chunk.scope]
        mask |= spans_with(chunk.event_flat, chunk.event_off, None, events)
        mask |= attrs.spans(chunk)
        return mask

    def bare_plan(self, word: BareWord) -> BarePlan:
        snap = self.snap
        folded = word.folded

        def pred(text: str) -> bool:
            return folded in text.casefold()

        ids = cached_scan(snap, ("bare", folded), range(snap.n_attributes), lambda a: pred(value_text(a.value)))
        attrs = IdSet(ids, snap.n_attributes, not snap.indexed_ahead)
        hit = set(ids)
        resource = np.array([pred(snap.services[s]) for s in snap.resource_service] or [False])
        resource |= np.array([any(a in hit for a in attrs_) for attrs_ in snap.resource_attrs] or [False])
        scopes = resource[snap.scope_resource] if len(snap.scope_resource) else np.zeros(1, bool)
        names = _string_lut(snap.names, pred, self.deadline)
        return names, scopes, _string_lut(snap.event_names, pred, self.deadline), attrs


def _mask_only(root: object) -> TypeGuard[Filter | SpansetOp]:
    """Whether a mask answers the query: filters joined by && || and the plain/negated structural operators."""
    if isinstance(root, Filter):
        return True
    if isinstance(root, SpansetOp):
        union_form = root.op.startswith("&") and root.op != "&&"
        return not union_form and _mask_only(root.left) and _mask_only(root.right)
    return False


class _IndexedContext:
    """`spansets.Context` over the store: filters answered by their indexed masks."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator

    def match(self, node: Filter, p: int) -> bool:
        return bool(self.evaluator.spanset(node)[p])

    def value(self, expr: Operand, p: int) -> Value:
        from kubespan.query.batch_source import evaluate_field

        src = self.evaluator.source()
        return evaluate_field(expr, src, p, src.facts())

    def check(self) -> None:
        self.evaluator.deadline.check()
