"""`--drop QUERY`: spans matching a query are dropped at ingest, before every output.

The query language lives in `kubespan.query` (`compile_query(text)` returning an
object with `match_batch(batch, table) -> list[bool]`); it is imported lazily so the
rest of kubespan works without it. Dropped spans are counted in `dropped_spans`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kubespan.model import AttributeTable, TraceBatch
from kubespan.otlp.select import select_spans
from kubespan.stats import Counters


class Query(Protocol):
    def match_batch(self, batch: TraceBatch, table: AttributeTable) -> list[bool]: ...


def compile_queries(texts: Sequence[str]) -> list[Query]:
    """Compile every `--drop` query (raises the query module's `QuerySyntaxError`)."""
    from kubespan.query import compile_query

    return [compile_query(text) for text in texts]


class DropProcessor:
    """A `Processor` removing the spans that match any of `queries`."""

    def __init__(self, queries: Sequence[Query], table: AttributeTable, counters: Counters | None = None) -> None:
        self.queries = list(queries)
        self.table = table
        self.counters = counters or Counters()
        self.counters.declare("dropped_spans")

    def process(self, batch: TraceBatch) -> TraceBatch | None:
        drop = [False] * batch.span_count
        for query in self.queries:
            matches = query.match_batch(batch, self.table)
            drop = [d or m for d, m in zip(drop, matches)]
        dropped = sum(drop)
        if not dropped:
            return batch
        self.counters.add("dropped_spans", dropped)
        if dropped == batch.span_count:
            return None
        return select_spans(batch, [not d for d in drop])
