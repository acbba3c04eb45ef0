"""Naive evaluation of a query over the spans of one `TraceBatch`, one span at a time.

Used by writers (`serve --filter`) and as the reference the indexed store is tested
against. Spanset operators only see the spans of the batch.
"""

from __future__ import annotations

from typing import Any

from kubespan.model import AttributeTable, TraceBatch
from kubespan.query.ast import And, BareWord, Cond, Const, Filter, Not, Or, Spanset, text_of
from kubespan.query.limits import Deadline


class Memo:
    """Per-query results by attribute id (entries of an `AttributeTable` never change).

    Kept across batches while the table stays the same, so `serve --filter` evaluates a
    condition once per distinct attribute, not once per span.
    """

    LIMIT = 1 << 20

    def __init__(self) -> None:
        self.table: AttributeTable | None = None
        self.results: dict[int, dict[int, int]] = {}

    def for_table(self, table: AttributeTable) -> "Memo":
        if table is not self.table:
            self.table, self.results = table, {}
        return self

    def codes(self, node) -> dict[int, int]:
        found = self.results.get(id(node))
        if found is None or len(found) > self.LIMIT:
            found = self.results[id(node)] = {}
        return found


class SpanView:
    """What the evaluator needs to know about span `i` of a batch."""

    __slots__ = ("batch", "table", "i", "memo")

    def __init__(self, batch: TraceBatch, table: AttributeTable, i: int, memo: Memo | None = None) -> None:
        self.batch, self.table, self.i = batch, table, i
        self.memo = memo if memo is not None else Memo().for_table(table)

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
    """Unscoped keys use the span's values if the span has the key, else the resource's."""
    scope = cond.field.scope
    code = ABSENT
    if scope != "resource":
        code = _best_code(cond, span, span.attribute_ids)
    if code == ABSENT and scope != "span":
        code = _best_code(cond, span, span.resource_attribute_ids)
    if cond.literal.type == "nil":
        return (code == ABSENT) if cond.op == "=" else (code != ABSENT)
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


def _code(cond: Cond, attribute) -> int:
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


def eval_expr(expr, span: SpanView) -> bool:
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
    raise TypeError(f"not an expression: {expr!r}")


class BatchTraces:
    """Parent links between the spans of a batch (first span wins on duplicate ids)."""

    def __init__(self, batch: TraceBatch) -> None:
        spans = batch.spans
        self.n = len(spans)
        index: dict[tuple[bytes, bytes], int] = {}
        for i in range(self.n):
            index.setdefault((spans.trace_id[i], spans.span_id[i]), i)
        self.trace = spans.trace_id
        self.parent = [
            index.get((spans.trace_id[i], spans.parent_id[i]), -1) if spans.parent_id[i] else -1
            for i in range(self.n)
        ]

    def ancestors(self, i: int):
        """The parent chain of span i, stopping when it loops (i itself is included if on a loop)."""
        seen: set[int] = set()
        parent = self.parent[i]
        while parent >= 0 and parent not in seen:
            seen.add(parent)
            yield parent
            parent = self.parent[parent]


def eval_spanset(node: Spanset, batch: TraceBatch, table: AttributeTable, links: list, memo: Memo) -> set[int]:
    if isinstance(node, Filter):
        return {i for i in range(len(batch.spans)) if eval_expr(node.expr, SpanView(batch, table, i, memo))}
    left = eval_spanset(node.left, batch, table, links, memo)
    right = eval_spanset(node.right, batch, table, links, memo)
    if node.op == "||":
        return left | right
    if not links:
        links.append(BatchTraces(batch))
    traces: BatchTraces = links[0]
    if node.op == "&&":
        both = {traces.trace[i] for i in left} & {traces.trace[i] for i in right}
        return {i for i in left | right if traces.trace[i] in both}
    return {i for i in right if structural(node.op, i, left, traces)}


def structural(op: str, i: int, left: set[int], traces: BatchTraces) -> bool:
    """Whether right-hand span `i` stands in relation `op` to some left-hand span."""
    if op == ">":
        return traces.parent[i] in left
    if op == ">>":
        return any(a in left for a in traces.ancestors(i))
    if op == "<":
        return any(traces.parent[j] == i for j in left)
    if op == "<<":
        return any(i in traces.ancestors(j) for j in left)
    if op == "~":
        parent = traces.parent[i]
        return parent >= 0 and any(j != i and traces.parent[j] == parent for j in left)
    raise ValueError(f"unknown structural operator {op}")


CHECK_EVERY = 1024
"""Spans evaluated between two deadline checks."""


def match_batch(root: Spanset, batch: TraceBatch, table: AttributeTable, memo: Memo | None = None,
                deadline: Deadline | None = None) -> list[bool]:
    memo = (memo or Memo()).for_table(table)
    if isinstance(root, Filter):
        flags: list[bool] = []
        n = len(batch.spans)
        for start in range(0, n, CHECK_EVERY):
            flags += [eval_expr(root.expr, SpanView(batch, table, i, memo))
                      for i in range(start, min(n, start + CHECK_EVERY))]
            if deadline is not None:
                deadline.advance(min(n, start + CHECK_EVERY) - start)
        return flags
    matched = eval_spanset(root, batch, table, [], memo)
    return [i in matched for i in range(len(batch.spans))]
