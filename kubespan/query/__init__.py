"""The kubespan query language: one filter for the TUI, `serve --filter` and `kubespan filter`.

`compile_query(text)` accepts the filter-bar shorthand (`service=kubelet name=syncPod`)
or, when the text starts with `{`, a TraceQL subset. See proto_notes/query.md.
"""

from __future__ import annotations

import re

from kubespan.model import AttributeTable, TraceBatch
from kubespan.query.ast import Filter, Spanset, SpansetOp, check_depth
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.limits import DEFAULT_MAX_LENGTH, Deadline, check_length
from kubespan.query.naive import Memo, batch_spansets
from kubespan.query.naive import match_batch as _match_batch
from kubespan.query.nodes import Hint, Pipeline, QueryNode
from kubespan.query.shorthand import parse_shorthand
from kubespan.query.spansets import Spanset as Spanset_
from kubespan.query.traceql import parse_traceql

__all__ = ["Query", "QuerySyntaxError", "compile_query"]

_TRACEQL = re.compile(r"[\s(]*(\{|(by|select|coalesce|count|avg|min|max|sum)\s*\()")
"""TraceQL starts with `{` or a pipeline stage (`count() > 2`, `select(name)`), possibly after `(`."""


class Query:
    """A compiled query; the store evaluates `root` with its index."""

    __slots__ = ("text", "syntax", "root", "hints", "_memo")

    def __init__(self, text: str, syntax: str, root: Spanset, hints: tuple[Hint, ...] = ()) -> None:
        self.text = text
        self.syntax = syntax  # "shorthand" or "traceql"
        self.root = root  # Filter / SpansetOp (spanset expressions) or nodes.Pipeline
        self.hints = hints
        self._memo = Memo()

    def spansets_batch(self, batch: TraceBatch, table: AttributeTable,
                       deadline: Deadline | None = None) -> list[Spanset_]:
        """The spansets of the query over one batch (pipelines: groups, aggregates, selected fields)."""
        return batch_spansets(self.root, batch, table, self._memo, deadline)

    @property
    def is_pipeline(self) -> bool:
        return isinstance(self.root, Pipeline)

    def to_traceql(self) -> str:
        """The query printed back as TraceQL (the shorthand too, where it has a TraceQL meaning)."""
        from kubespan.query.stringer import to_traceql

        return to_traceql(self.root, self.hints)

    def match_batch(self, batch: TraceBatch, table: AttributeTable, deadline: Deadline | None = None) -> list[bool]:
        """Per-span flags, evaluated naively over the batch's spans (memoised per attribute id)."""
        return _match_batch(self.root, batch, table, self._memo, deadline)

    @property
    def per_span(self) -> bool:
        """True when a span's match depends on that span alone, so it can be decided at ingest.

        Spanset `&&` and the structural operators (`> >> < << ~`) need the other spans
        of the trace; `||` between span filters does not.
        """
        return _per_span(self.root)

    def __repr__(self) -> str:
        return f"Query({self.text!r})"


def _per_span(node: QueryNode) -> bool:
    if isinstance(node, Filter):
        return True
    if isinstance(node, SpansetOp):
        return node.op == "||" and _per_span(node.left) and _per_span(node.right)
    return False


def compile_query(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> Query:
    """Parse `text`; raises `QuerySyntaxError(message, column)` (`QueryTooLong` past `max_length`)."""
    check_length(text, max_length)
    if _TRACEQL.match(text):
        try:
            parsed = parse_traceql(text)
        except QuerySyntaxError as err:
            raise QuerySyntaxError(f"{err.message} (read as TraceQL)", err.column) from None
        return Query(text, "traceql", check_depth(parsed.root), parsed.hints)
    try:
        return Query(text, "shorthand", Filter(parse_shorthand(text)))
    except QuerySyntaxError as err:
        if "{" in text or "|" in text:
            raise QuerySyntaxError(f"{err.message} (read as the shorthand: TraceQL starts with '{{')",
                                   err.column) from None
        raise
