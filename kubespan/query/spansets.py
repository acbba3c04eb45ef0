"""Spansets, one trace at a time: pipelines, aggregates, by(), select(), coalesce(), structure.

Shared by both evaluators: they differ only in how a span filter is answered (`Context.match`:
an indexed mask or a span-by-span evaluation) and where field values come from
(`Context.value`). The semantics are Tempo's (`ast_execute.go` and vParquet's structural
methods): every stage maps a list of spansets to a list of spansets; structural operators
compare nested-set bounds, which only spans connected to a root of their trace have
(`nested_sets`), so a trace whose root never arrived takes no part in them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Callable, Protocol

from kubespan.query.ast import Field, Filter, Literal, SpansetOp
from kubespan.query.nodes import (
    Aggregate,
    Coalesce,
    GroupBy,
    Operand,
    Pipeline,
    ScalarFilter,
    Select,
    Stage,
)
from kubespan.query.stringer import to_traceql
from kubespan.query.values import NIL, NUMERIC, Value, as_float, binary, equals

Bounds = tuple[dict[int, int], dict[int, int], dict[int, int]]
"""Nested-set bounds of a trace's spans by position: left, right and the parent's left."""


@dataclass(eq=False)
class TraceSpans:
    """One trace: its spans (positions, in arrival order) and their parents (-1: none or absent)."""

    spans: list[int]
    parent: dict[int, int]
    root: dict[int, bool]  # no parent id at all (not merely an absent parent)
    _nested: Bounds | None = None

    def nested(self) -> Bounds:
        """(left, right, parent-left) nested-set bounds, 0 where unassigned (Tempo's vParquet)."""
        if self._nested is None:
            self._nested = nested_sets(self)
        return self._nested


def nested_sets(trace: TraceSpans) -> Bounds:
    left: dict[int, int] = {}
    right: dict[int, int] = {}
    up: dict[int, int] = {}
    children: dict[int, list[int]] = {}
    for span in trace.spans:
        parent = trace.parent.get(span, -1)
        if parent >= 0:
            children.setdefault(parent, []).append(span)
    bound = 1
    for root in (s for s in trace.spans if trace.root.get(s)):
        left[root], up[root] = bound, -1
        bound += 1
        stack = [(root, iter(children.get(root, ())))]
        while stack:
            node, kids = stack[-1]
            child = next(kids, None)
            if child is None:
                right[node] = bound
                bound += 1
                stack.pop()
                continue
            if child in left:  # a cycle through malformed ids: stop there
                continue
            left[child], up[child] = bound, left[node]
            bound += 1
            stack.append((child, iter(children.get(child, ()))))
    return left, right, up


@dataclass(eq=False)
class Spanset:
    trace: TraceSpans
    spans: list[int]
    attributes: list[tuple[str, Value]] = field(default_factory=list)
    scalar: Value | None = None
    selected: tuple[Field, ...] = ()

    def derive(self, spans: list[int]) -> "Spanset":
        return Spanset(self.trace, spans, list(self.attributes), self.scalar, self.selected)


class Context(Protocol):
    def match(self, node: Filter, span: int) -> bool: ...

    def value(self, expr: Operand, span: int) -> Value: ...

    def check(self) -> None: ...


def evaluate(node: Stage, spansets: list[Spanset], ctx: Context) -> list[Spanset]:
    """`node` (a pipeline, stage or spanset expression) applied to `spansets`."""
    if isinstance(node, Pipeline):
        for stage in node.stages:
            spansets = evaluate(stage, spansets, ctx)
            if not spansets:
                return []
        return spansets
    if isinstance(node, Filter):
        out = []
        for spanset in spansets:
            kept = [s for s in spanset.spans if ctx.match(node, s)]
            if kept:
                out.append(spanset.derive(kept) if len(kept) != len(spanset.spans) else spanset)
        return out
    if isinstance(node, SpansetOp):
        return [result for spanset in spansets for result in _spanset_op(node, spanset, ctx)]
    if isinstance(node, ScalarFilter):
        return _scalar_filter(node, spansets, ctx)
    if isinstance(node, GroupBy):
        return _group_by(node, spansets, ctx)
    if isinstance(node, Select):
        for spanset in spansets:
            spanset.selected = spanset.selected + tuple(f for f in node.fields if f not in spanset.selected)
        return spansets
    if isinstance(node, Coalesce):
        return _coalesce(spansets)
    raise TypeError(f"not a spanset node: {node!r}")


def _coalesce(spansets: list[Spanset]) -> list[Spanset]:
    by_trace: dict[int, Spanset] = {}
    for spanset in spansets:
        merged = by_trace.get(id(spanset.trace))
        if merged is None:
            by_trace[id(spanset.trace)] = Spanset(spanset.trace, list(spanset.spans), selected=spanset.selected)
        else:
            merged.spans += spanset.spans
    return list(by_trace.values())


def _spanset_op(node: SpansetOp, spanset: Spanset, ctx: Context) -> list[Spanset]:
    lhs = evaluate(node.left, [spanset], ctx)
    rhs = evaluate(node.right, [spanset], ctx)
    op = node.op
    if op in ("&&", "||"):
        if (lhs and rhs) if op == "&&" else (lhs or rhs):
            return [spanset.derive(_unique([s for ss in lhs + rhs for s in ss.spans]))]
        return []
    if not rhs:
        return []
    left = [s for ss in lhs for s in ss.spans]
    right = [s for ss in rhs for s in ss.spans]
    matched = structural(op, left, right, spanset.trace)
    return [spanset.derive(matched)] if matched else []


def _unique(spans: list[int]) -> list[int]:
    return list(dict.fromkeys(spans))


def structural(op: str, lhs: list[int], rhs: list[int], trace: TraceSpans) -> list[int]:
    """Tempo's structural operators over one trace's spans (right-hand spans; both sides for &-forms)."""
    left, right, up = trace.nested()
    if not lhs and not rhs:
        return []
    base = op.lstrip("!&")
    if op.startswith("&"):
        if base in (">>", "<<"):
            return _descendant_union(lhs, rhs, base == "<<", left, right)
        return _union_pairs(base, lhs, rhs, left, right, up)
    negate = op.startswith("!")
    related = _relation(base, left, right, up)
    out = []
    for r in rhs:
        if _valid(base, r, left, up) and any(related(l_, r) for l_ in lhs) != negate:
            out.append(r)
    return _unique(out)


def _valid(base: str, span: int, left: dict[int, int], up: dict[int, int]) -> bool:
    return up.get(span, 0) != 0 if base == "~" else left.get(span, 0) != 0


def _relation(base: str, left: dict[int, int], right: dict[int, int], up: dict[int, int]) -> Callable[[int, int], bool]:
    """related(l, r): r stands in relation `base` to l (r is l's child, descendant, parent…)."""
    def descendant(a: int, b: int) -> bool:  # a is a descendant of b
        la, lb, ra, rb = left.get(a, 0), left.get(b, 0), right.get(a, 0), right.get(b, 0)
        return bool(la and lb and ra and rb) and la > lb and ra < rb

    def child(c: int, p: int) -> bool:
        return left.get(p, 0) != 0 and up.get(c, 0) not in (0,) and left.get(p) == up.get(c)

    if base == ">":
        return lambda l_, r: child(r, l_)
    if base == "<":
        return lambda l_, r: child(l_, r)
    if base == ">>":
        return lambda l_, r: descendant(r, l_)
    if base == "<<":
        return lambda l_, r: descendant(l_, r)
    if base == "~":
        return lambda l_, r: l_ != r and up.get(l_, 0) != 0 and up.get(l_, 0) == up.get(r, 0)
    raise ValueError(f"unknown structural operator {base}")


def _union_pairs(base: str, lhs: list[int], rhs: list[int], left: dict[int, int], right: dict[int, int],
                 up: dict[int, int]) -> list[int]:
    """`&>`, `&<`, `&~`: both spans of every related pair."""
    related = _relation(base, left, right, up)
    out: list[int] = []
    for r in rhs:
        partners = [l_ for l_ in lhs if related(l_, r)]
        if partners:
            out += partners + [r]
    return _unique(out)


def _descendant_union(lhs: list[int], rhs: list[int], invert: bool, left: dict[int, int],
                      right: dict[int, int]) -> list[int]:
    """vParquet's `descendantOfUnion`, step for step (its answers for `&>>` and `&<<` are its own)."""
    lhs = sorted(lhs, key=lambda s: left.get(s, 0))
    rhs = sorted(rhs, key=lambda s: left.get(s, 0))
    if invert:
        lhs, rhs = rhs, lhs

    def after(a: int, b: int) -> bool:
        return left.get(b, 0) > right.get(a, 0)

    def match(a: int, d: int) -> bool:
        la, ld, ra, rd = left.get(a, 0), left.get(d, 0), right.get(a, 0), right.get(d, 0)
        return bool(la and ld and ra and rd) and ld > la and rd < ra

    out: dict[int, None] = {}
    li = ri = 0
    while li < len(lhs) and ri < len(rhs):
        l_span, r_span = lhs[li], rhs[ri]
        while ri < len(rhs):
            r_span = rhs[ri]
            if match(l_span, r_span):
                out[r_span] = None
            if ri + 1 < len(rhs) and after(r_span, rhs[ri + 1]):
                ri += 1
                break
            ri += 1
        while li < len(lhs):
            l_span = lhs[li]
            if after(r_span, l_span):
                break
            if match(l_span, r_span):
                out[l_span] = None
                if ri < len(rhs) and match(l_span, rhs[ri]):
                    break
            li += 1
    return list(out)


# ------------------------------------------------------------------ aggregates and groups


def aggregate(node: Aggregate, spanset: Spanset, ctx: Context) -> Value | None:
    """Tempo's `Aggregate.evaluate` for one spanset (None: no value, the spanset is dropped)."""
    if node.op == "count":
        return ("int", len(spanset.spans))
    expr = node.expr
    if expr is None:
        raise TypeError(f"{node.op}() without a field")
    best: Value | None = None
    count = 0
    for span in spanset.spans:
        value = ctx.value(expr, span)
        if value[0] == "nil" or value[0] == "arr":
            continue
        count += 1
        if best is None:
            best = value
        elif node.op in ("sum", "avg"):
            best = _sum_into(best, value)
        elif (_compare(value, best) > 0) == (node.op == "max") and _compare(value, best) != 0:
            best = value
    if best is None:
        return None
    if node.op == "avg":
        return _divide(best, count)
    return best


def _sum_into(total: Value, value: Value) -> Value:
    if total[0] != value[0] or total[0] not in NUMERIC:
        return total
    return (total[0], total[1] + value[1])


def _divide(total: Value, count: int) -> Value:
    if total[0] == "int":
        return ("float", total[1] / count)
    if total[0] == "duration":  # Go's integer division truncates toward zero
        quotient = abs(total[1]) // count
        return ("duration", quotient if total[1] >= 0 else -quotient)
    if total[0] == "float":
        return ("float", total[1] / count)
    return total


def _compare(a: Value, b: Value) -> int:
    if a[0] != b[0]:
        if a[0] in NUMERIC and b[0] in NUMERIC:
            x, y = as_float(a), as_float(b)
            return (x > y) - (x < y)
        return 0
    x, y = a[1], b[1]
    order: int = (x > y) - (x < y)
    return order


def _scalar_filter(node: ScalarFilter, spansets: list[Spanset], ctx: Context) -> list[Spanset]:
    out = []
    name = to_traceql(node.left)
    want: Literal = node.right
    for spanset in spansets:
        ctx.check()
        value = aggregate(node.left, spanset, ctx)
        if value is None:
            continue
        copy = spanset.derive(spanset.spans)
        copy.scalar = value
        copy.attributes.append((name, value))
        if scalar_true(node.op, value, (want.type, want.value)):
            out.append(copy)
    return out


def scalar_true(op: str, value: Value, want: Value) -> bool:
    if op in ("=", "!="):
        return equals(value, want) == (op == "=")
    return binary(op, ("float", as_float(value)), ("float", as_float(want))) == ("bool", True)


def _group_by(node: GroupBy, spansets: list[Spanset], ctx: Context) -> list[Spanset]:
    name = f"by({to_traceql(node.expr)})"
    out: list[Spanset] = []
    for spanset in spansets:
        ctx.check()
        groups: dict[Hashable, Spanset] = {}
        for span in spanset.spans:
            value = ctx.value(node.expr, span)
            key = map_key(value)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Spanset(spanset.trace, [], list(spanset.attributes), None, spanset.selected)
                group.attributes.append((name, value))
            group.spans.append(span)
        out += groups.values()
    return out


def map_key(value: Value) -> Hashable:
    if value[0] == "arr":
        return ("arr", tuple(map_key(item) for item in value[1]))
    if value == NIL:
        return NIL
    return value
