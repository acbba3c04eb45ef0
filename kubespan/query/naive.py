"""Naive evaluation of a query over the spans of one `TraceBatch`, one span at a time.

Used by writers (`serve --filter`) and as the reference the indexed store is tested
against. Spanset operators only see the spans of the batch.
"""

from __future__ import annotations

from typing import Any

from kubespan.model import Attribute, AttributeTable, TraceBatch
from kubespan.query.ast import (
    And,
    BareWord,
    Cond,
    Const,
    Expr,
    Field,
    Filter,
    Literal,
    Not,
    Or,
    Spanset,
    text_of,
)
from kubespan.query.batch_source import BatchSource, evaluate_field, is_true
from kubespan.query.fields import field_value
from kubespan.query.limits import Deadline
from kubespan.query.nodes import BinOp, Operand, Stage, UnOp
from kubespan.query.spansets import Spanset as Spanset_
from kubespan.query.spansets import TraceSpans, evaluate
from kubespan.query.values import Value


class Memo:
    """Per-query results by attribute id (entries of an `AttributeTable` never change).

    Kept across batches while the table stays the same, so `serve --filter` evaluates a
    condition once per distinct attribute, not once per span.
    """

    LIMIT = 1 << 20

    def __init__(self) -> None:
        self.storage: object = None
        self.results: dict[int, dict[int, int]] = {}

    def for_table(self, table: AttributeTable) -> "Memo":
        if table.storage is not self.storage:  # another table, or this one compacted: other ids
            self.storage, self.results = table.storage, {}
        return self

    def codes(self, node: Cond | BareWord) -> dict[int, int]:
        found = self.results.get(id(node))
        if found is None or len(found) > self.LIMIT:
            found = self.results[id(node)] = {}
        return found


class SpanView:
    """What the evaluator needs to know about span `i` of a batch."""

    __slots__ = ("batch", "table", "i", "memo", "src")

    def __init__(self, batch: TraceBatch, table: AttributeTable, i: int, memo: Memo | None = None,
                 src: BatchSource | None = None) -> None:
        self.batch, self.table, self.i = batch, table, i
        self.memo = memo if memo is not None else Memo().for_table(table)
        self.src = src if src is not None else BatchSource(batch, table)

    @property
    def attribute_ids(self) -> list[int]:
        return self.batch.spans.attribute_ids[self.i]

    @property
    def resource_attribute_ids(self) -> list[int]:
        return self.batch.resources[self.resource_index].attribute_ids

    @property
    def resource_index(self) -> int:
        return self.batch.scopes[self.batch.spans.scope[self.i]].resource

    def intrinsic(self, kind: str) -> Any:
        spans = self.batch.spans
        i = self.i
        if kind == "name":
            return spans.name[i]
        if kind == "service":
            return self.batch.resources[self.resource_index].service
        if kind == "kind":
            return spans.kind[i]
        if kind == "status":
            return spans.status[i]
        if kind == "duration":
            return _int64(spans.end[i]) - _int64(spans.start[i])
        if kind == "event":
            return list(spans.event_names[i])
        if kind in ("root_name", "root_service", "trace_duration"):
            return field_value(Field(kind), self.src, i, self.src.facts())[1]
        ids = {"trace": spans.trace_id, "span": spans.span_id, "parent": spans.parent_id}[kind]
        return ids[i].hex() if any(ids[i]) else ""  # an all-zero parent id means no parent


def _int64(value: int) -> int:
    """Timestamps as the store keeps them (int64, wrapping)."""
    return value - (1 << 64) if value >= (1 << 63) else value


ABSENT, PRESENT, MATCH = 0, 1, 2
"""Codes of one attribute for one condition: other key, the key without a match, a match."""


def eval_cond(cond: Cond, span: SpanView) -> bool:
    field = cond.field
    if field.kind == "attr":
        return _eval_attr(cond, span)
    value = span.intrinsic(field.kind)
    if field.kind in ("trace", "span", "parent"):
        want = cond.literal.value
        equal = value.startswith(want) if want else value == ""
        return equal if cond.op == "=" else not equal
    return cond.value_pred()(value)


def _eval_attr(cond: Cond, span: SpanView) -> bool:
    """Unscoped keys use the span's values if the span has the key, else the resource's.

    `.x = nil` holds when either the span or its resource lacks `x`, as Tempo answers.
    """
    scope = cond.field.scope
    if cond.literal.type == "nil":
        span_code = _best_code(cond, span, span.attribute_ids) if scope != "resource" else None
        res_code = _best_code(cond, span, span.resource_attribute_ids) if scope != "span" else None
        codes = [c for c in (span_code, res_code) if c is not None]
        if cond.op == "=":
            return any(c == ABSENT for c in codes)
        return any(c != ABSENT for c in codes)
    code = ABSENT
    if scope != "resource":
        code = _best_code(cond, span, span.attribute_ids)
    if code == ABSENT and scope != "span":
        code = _best_code(cond, span, span.resource_attribute_ids)
    return code == MATCH


def _best_code(cond: Cond, span: SpanView, ids: list[int]) -> int:
    codes = span.memo.codes(cond)
    best = ABSENT
    for a in ids:
        code = codes.get(a)
        if code is None:
            code = codes[a] = _code(cond, span.table.attributes[a])
        if code == MATCH:
            return MATCH
        best = max(best, code)
    return best


def _code(cond: Cond, attribute: Attribute) -> int:
    if attribute.key != cond.field.key:
        return ABSENT
    if cond.literal.type == "nil":
        return PRESENT
    return MATCH if cond.value_pred()(attribute.value) else PRESENT


def eval_bare(word: BareWord, span: SpanView) -> bool:
    folded = word.folded
    texts = [span.intrinsic("service"), span.intrinsic("name"), *span.intrinsic("event")]
    if any(folded in text.casefold() for text in texts):
        return True
    codes = span.memo.codes(word)
    attributes = span.table.attributes
    for a in (*span.attribute_ids, *span.resource_attribute_ids):
        hit = codes.get(a)
        if hit is None:
            hit = codes[a] = folded in text_of(attributes[a].value).casefold()
        if hit:
            return True
    return False


def eval_expr(expr: Expr, span: SpanView) -> bool:
    if isinstance(expr, Cond):
        return eval_cond(expr, span)
    if isinstance(expr, And):
        return eval_expr(expr.left, span) and eval_expr(expr.right, span)
    if isinstance(expr, Or):
        return eval_expr(expr.left, span) or eval_expr(expr.right, span)
    if isinstance(expr, Not):
        return not eval_expr(expr.inner, span)
    if isinstance(expr, BareWord):
        return eval_bare(expr, span)
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, (BinOp, UnOp, Field, Literal)):
        return is_true(evaluate_field(expr, span.src, span.i, span.src.facts()))
    raise TypeError(f"not an expression: {expr!r}")


class NaiveContext:
    """`spansets.Context` for one batch: filters and fields evaluated span by span."""

    def __init__(self, batch: TraceBatch, table: AttributeTable, memo: Memo, deadline: Deadline | None) -> None:
        self.batch, self.table, self.memo, self.deadline = batch, table, memo, deadline
        self.src = BatchSource(batch, table)
        self.done = 0

    def match(self, node: Filter, i: int) -> bool:
        self.done += 1
        if self.deadline is not None and self.done % CHECK_EVERY == 0:
            self.deadline.advance(CHECK_EVERY)
        return eval_expr(node.expr, SpanView(self.batch, self.table, i, self.memo, self.src))

    def value(self, expr: Operand, i: int) -> Value:
        return evaluate_field(expr, self.src, i, self.src.facts())

    def check(self) -> None:
        if self.deadline is not None:
            self.deadline.check()


def batch_traces(batch: TraceBatch) -> list[TraceSpans]:
    """The batch's spans by trace, parent links resolved inside the batch (first span wins on a reused id)."""
    spans = batch.spans
    by_trace: dict[bytes, list[int]] = {}
    for i in range(len(spans)):
        by_trace.setdefault(spans.trace_id[i], []).append(i)
    traces = []
    for members in by_trace.values():
        ids: dict[bytes, int] = {}
        for i in members:
            ids.setdefault(spans.span_id[i], i)
        parent = {i: ids.get(spans.parent_id[i], -1) if any(spans.parent_id[i]) else -1 for i in members}
        root = {i: not any(spans.parent_id[i]) for i in members}
        traces.append(TraceSpans(members, parent, root))
    return traces


def batch_spansets(root: Stage, batch: TraceBatch, table: AttributeTable, memo: Memo | None = None,
                   deadline: Deadline | None = None) -> list[Spanset_]:
    """The spansets a spanset query or pipeline gives over the batch's traces."""
    ctx = NaiveContext(batch, table, (memo or Memo()).for_table(table), deadline)
    return evaluate(root, [Spanset_(trace, list(trace.spans)) for trace in batch_traces(batch)], ctx)


CHECK_EVERY = 1024
"""Spans evaluated between two deadline checks."""


def match_batch(root: Spanset, batch: TraceBatch, table: AttributeTable, memo: Memo | None = None,
                deadline: Deadline | None = None) -> list[bool]:
    memo = (memo or Memo()).for_table(table)
    if isinstance(root, Filter):
        flags: list[bool] = []
        n = len(batch.spans)
        src = BatchSource(batch, table)  # one per batch: its per-trace facts are built once
        for start in range(0, n, CHECK_EVERY):
            flags += [eval_expr(root.expr, SpanView(batch, table, i, memo, src))
                      for i in range(start, min(n, start + CHECK_EVERY))]
            if deadline is not None:
                deadline.advance(min(n, start + CHECK_EVERY) - start)
        return flags
    matched = {i for spanset in batch_spansets(root, batch, table, memo, deadline) for i in spanset.spans}
    return [i in matched for i in range(len(batch.spans))]
