"""The span store: columnar, bounded, indexed. Headless (no UI imports).

Writing: `StoreWriter` (through `SpanStore.consume_traces`). Reading: `StoreReader` over an
immutable `Snapshot` (`SpanStore.reader()`). See proto_notes/store.md.
"""

from kubespan.store.reader import StoreReader, TimeWindow, TraceAggregates, TracePage
from kubespan.store.rows import SpanDetail, SpanRow, TagValue, TraceSummary, ValueStats
from kubespan.store.snapshot import Snapshot
from kubespan.store.store import SpanStore
from kubespan.store.writer import StoreWriter

__all__ = ["Snapshot", "SpanDetail", "SpanRow", "SpanStore", "StoreReader", "StoreWriter", "TagValue", "TimeWindow",
           "TraceAggregates", "TracePage", "TraceSummary", "ValueStats"]
