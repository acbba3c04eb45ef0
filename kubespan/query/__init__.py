"""The kubespan query language: one filter for the TUI, `serve --filter` and `kubespan filter`.

`compile_query(text)` accepts the filter-bar shorthand (`service=kubelet name=syncPod`)
or, when the text starts with `{`, a TraceQL subset. See proto_notes/query.md.
"""

from __future__ import annotations

import re

from kubespan.model import AttributeTable, TraceBatch
from kubespan.query.ast import Filter, Spanset
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.limits import DEFAULT_MAX_LENGTH, Deadline, check_length
from kubespan.query.naive import Memo
from kubespan.query.naive import match_batch as _match_batch
from kubespan.query.shorthand import parse_shorthand
from kubespan.query.traceql import parse_traceql

__all__ = ["Query", "QuerySyntaxError", "compile_query"]

_TRACEQL = re.compile(r"[\s(]*\{")
"""TraceQL starts with `{`, possibly after opening parentheses."""


class Query:
    """A compiled query; the store evaluates `root` with its index."""

    __slots__ = ("text", "syntax", "root", "_memo")

    def __init__(self, text: str, syntax: str, root: Spanset) -> None:
        self.text = text
        self.syntax = syntax  # "shorthand" or "traceql"
        self.root = root
        self._memo = Memo()

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


def _per_span(node: Spanset) -> bool:
    if isinstance(node, Filter):
        return True
    return node.op == "||" and _per_span(node.left) and _per_span(node.right)


def compile_query(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> Query:
    """Parse `text`; raises `QuerySyntaxError(message, column)` (`QueryTooLong` past `max_length`)."""
    check_length(text, max_length)
    if _TRACEQL.match(text):
        return Query(text, "traceql", parse_traceql(text))
    return Query(text, "shorthand", Filter(parse_shorthand(text)))
