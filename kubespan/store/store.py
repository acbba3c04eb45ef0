"""`SpanStore`: every received span, columnar, bounded, indexed for the query language.

The store is two halves: a `StoreWriter` (ingest, eviction, compaction) that the pipeline
feeds under its lock, and `StoreReader`s over immutable snapshots for everything else.
`SpanStore` joins them for callers that want one object: `reader()` gives a reader over
a fresh snapshot, and the read methods here each answer from a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kubespan.model import AttributeTable, TraceBatch
from kubespan.query import Query
from kubespan.query.limits import Deadline, QueryCounters
from kubespan.stats import Counters
from kubespan.store.reader import StoreReader, TimeWindow, TracePage
from kubespan.store.rows import SpanDetail, SpanRow, TraceSummary, ValueStats
from kubespan.store.snapshot import Ordinals, Snapshot
from kubespan.store.writer import StoreWriter

if TYPE_CHECKING:
    from kubespan.store.indexer import AheadIndexer


class SpanStore:
    """In-memory span store; see proto_notes/store.md for the layout and its costs."""

    def __init__(self, table: AttributeTable, *, max_spans: int = 1_000_000,
                 max_memory_mib: float | None = None, counters: Counters | None = None) -> None:
        self.table = table
        self.writer = StoreWriter(table, max_spans=max_spans, max_memory_mib=max_memory_mib)
        self.query_counters = QueryCounters(counters) if counters is not None else None
        if counters is not None:
            counters.gauge("stored_spans", self.__len__)
            counters.gauge("evicted_spans", lambda: self.writer.evicted_spans)
            counters.gauge("traces", lambda: self.writer.live_traces)
            counters.gauge("store_memory_bytes", self.writer.locked_memory_bytes)
            counters.gauge("store_attribute_bytes", lambda: self.table.storage.nbytes())

    def __len__(self) -> int:
        return len(self.writer)

    @property
    def max_spans(self) -> int:
        return self.writer.max_spans

    @property
    def max_memory_bytes(self) -> int | None:
        return self.writer.max_memory_bytes

    @property
    def version(self) -> int:
        """Bumped by every batch stored: a reader's answers are stale when it moved."""
        return self.writer.version

    @property
    def evicted_spans(self) -> int:
        return self.writer.evicted_spans

    # ------------------------------------------------------------------ writing
    def consume_traces(self, batch: TraceBatch) -> None:
        """Append a batch's spans (TracesConsumer); evict the oldest spans beyond the bounds."""
        self.writer.consume_traces(batch)

    def index_ahead(self) -> AheadIndexer:
        """Sort sealed segments' attribute indexes in the background (see `StoreWriter.index_ahead`)."""
        return self.writer.index_ahead()

    def memory_bytes(self) -> int:
        return self.writer.locked_memory_bytes()

    def stats(self) -> dict[str, int]:
        return self.writer.stats()

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        return self.writer.snapshot()

    def reader(self) -> StoreReader:
        """A reader over a snapshot taken now: use one for several reads that must agree."""
        return StoreReader(self.writer.snapshot(), self.query_counters)

    def search(self, query: Query | None = None, deadline: Deadline | None = None, *,
               window: TimeWindow | None = None) -> Ordinals:
        return self.reader().search(query, deadline, window=window)

    def spansets(self, query: Query, deadline: Deadline | None = None) -> list[Any]:
        return self.reader().spansets(query, deadline)

    def search_traces(self, query: Query | None = None, offset: int = 0, limit: int | None = None,
                      deadline: Deadline | None = None, *, window: TimeWindow | None = None) -> list[bytes]:
        return self.reader().search_traces(query, offset, limit, deadline, window=window)

    def trace_page(self, query: Query | None = None, offset: int = 0, limit: int | None = None,
                   deadline: Deadline | None = None, *, window: TimeWindow | None = None,
                   sort: str = "start") -> TracePage:
        return self.reader().trace_page(query, offset, limit, deadline, window=window, sort=sort)

    def span_row(self, ordinal: int) -> SpanRow | None:
        return self.reader().span_row(ordinal)

    def span_rows(self, ordinals: Iterable[int]) -> list[SpanRow]:
        return self.reader().span_rows(ordinals)

    def span_detail(self, ordinal: int) -> SpanDetail | None:
        return self.reader().span_detail(ordinal)

    def trace_ordinals(self, trace_id: bytes) -> list[int]:
        return self.reader().trace_ordinals(trace_id)

    def trace_summary(self, trace_id: bytes) -> TraceSummary | None:
        return self.reader().trace_summary(trace_id)

    def trace_summaries(self, trace_ids: Iterable[bytes]) -> list[TraceSummary]:
        return self.reader().trace_summaries(trace_ids)

    def attribute_values(self, key: str, limit: int = 1000) -> list[tuple[str, int]]:
        return self.reader().attribute_values(key, limit)

    def attribute_stats(self, key: str, limit: int = 1000) -> list[ValueStats]:
        return self.reader().attribute_stats(key, limit)
