"""`LocalSource`: the data source over kubespan's own in-memory store.

Queries read one `StoreReader` (one snapshot) each; lookups on an answer read the store
again for just the rows asked, so an answer held for minutes pins no evicted spans. The UI
thread never takes a snapshot itself (that waits for the store's lock, which an arriving
batch holds for up to a second while the attribute table is compacted): it reads the last
snapshot a worker took (`reader`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from kubespan.query.limits import Deadline
from kubespan.store.reader import StoreReader, TimeWindow
from kubespan.store.rows import SpanDetail
from kubespan.store.trace_order import TraceOrder
from kubespan.tui.source.base import (
    Capabilities,
    RootGroup,
    Search,
    SourceStatus,
    SpanSort,
    TraceSort,
)
from kubespan.tui.source.local_results import LocalSpans, LocalTrace, LocalTraces
from kubespan.tui.source.pods import PodRow, collect_pods
from kubespan.tui.source.span_order import StartOrder, newest_first
from kubespan.tui.source.trace_table import (
    Folded,
    fold_rows,
    matching_rows,
    sort_rows,
    trace_columns,
)
from kubespan.tui.status_line import forward_states
from kubespan.tui.time_window import split_time_clause

MAX_TRACE_SPANS = 20_000
"""Spans of one trace laid out in the waterfall (a runaway watch trace stays usable)."""
DETAILS_AHEAD = 256
"""Spans of a trace whose details are read with it (on the worker); later ones when selected."""
DETAIL_CACHE_SIZE = 4096
"""Span details kept for the next load of the same trace (the shown trace reloads as spans arrive)."""

NS = 1_000_000_000


class LocalSource:
    """The TUI's view of a `SpanStore` plus the counters and state of the running service."""

    name = "local store"
    capabilities = Capabilities()

    def __init__(self, store, *, compile_query: Callable[[str], Any], counters=None,
                 addresses: Mapping[str, str] | None = None, warnings: Sequence[str] | None = None,
                 forward_status: Callable[[], list[dict]] | None = None, tz: tzinfo | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.compile_query = compile_query
        self.counters = counters
        self.addresses = dict(addresses or {})
        self.warnings = list(warnings or [])
        self.forward_status = forward_status
        self.tz = tz
        self.wall_clock = wall_clock
        self._start_order = StartOrder()
        self._recent: StoreReader | None = None
        self._details: dict[int, SpanDetail] = {}

    def reader(self) -> StoreReader:
        """A reader for one set of reads: on a worker, over a snapshot taken now (left for the UI
        thread); on the UI thread, the newest one a worker took, so drawing never waits for the store."""
        recent = self._recent
        if recent is not None and threading.current_thread() is threading.main_thread():
            return recent
        reader = self.store.reader()
        if recent is None or reader.snap.stop >= recent.snap.stop:
            self._recent = reader
        return reader

    # -- lookups -------------------------------------------------------------------------------

    def version(self) -> int:
        return self.store.version

    def status(self) -> SourceStatus:
        stats = self.counters.snapshot() if self.counters is not None else {}
        forwards = forward_states(self.forward_status()) if self.forward_status is not None else []
        return SourceStatus(stats=stats, stored=len(self.store), addresses=dict(self.addresses),
                            warnings=tuple(self.warnings), forwards=tuple(forwards))

    def compile(self, text: str) -> Search:
        rest, clause = split_time_clause(text.strip())
        query = self.compile_query(rest) if rest.strip() else None
        return Search(text.strip(), query, clause)

    def window(self, search: Search, reader: StoreReader) -> TimeWindow | None:
        if search.clause is None:
            return None
        newest = int(reader.snap.trace_start[: reader.snap.n_traces].max()) if reader.snap.n_traces else None
        start, end = search.clause.resolve(int(self.wall_clock() * NS), newest, self.tz)
        return TimeWindow(start, end)

    # -- queries ----------------------------------------------------------------------------------

    def find_traces(self, search: Search, sort: TraceSort = TraceSort.START, *, fold: bool = False,
                    cancel: Deadline | None = None) -> LocalTraces:
        reader = self.reader()
        snap = reader.snap
        window = self.window(search, reader)
        if not fold and sort is TraceSort.START:
            return LocalTraces(self.reader, snap.trace_ids, reader.trace_order(search.query, cancel, window=window),
                               snap.n_traces)
        ordinals = None
        if search.query is not None or window is not None:
            ordinals = reader.search(search.query, cancel, window=window)
        rows = matching_rows(reader, ordinals)
        table = trace_columns(reader)
        if fold:
            entries, groups = _folded_entries(reader, fold_rows(rows, table, sort.value), table)
            return LocalTraces(self.reader, snap.trace_ids, TraceOrder.sorted(entries), snap.n_traces, groups)
        return LocalTraces(self.reader, snap.trace_ids, TraceOrder.sorted(sort_rows(rows, table, sort.value)),
                           snap.n_traces)

    def find_spans(self, search: Search, sort: SpanSort = SpanSort.START, *,
                   cancel: Deadline | None = None) -> LocalSpans:
        reader = self.reader()
        snap = reader.snap
        window = self.window(search, reader)
        matches = reader.search(search.query, cancel, window=window)
        if sort is SpanSort.START:
            return LocalSpans(self.reader, newest_first(self._start_order.ordinals(snap), matches, snap))
        starts = snap.column("start")[matches - snap.floor]
        durations = snap.column("end")[matches - snap.floor] - starts
        return LocalSpans(self.reader, matches[np.lexsort((-matches, -starts, -durations))])

    def trace(self, trace_id: bytes) -> LocalTrace | None:
        """The trace's spans, with the details of the first `DETAILS_AHEAD` (read here, on the worker)."""
        reader = self.reader()
        ordinals = reader.trace_ordinals(trace_id)
        if not ordinals:
            return None
        rows = reader.span_rows(ordinals[:MAX_TRACE_SPANS])
        cut = f"showing {len(rows):,} of {len(ordinals):,} spans" if len(ordinals) > len(rows) else ""
        trace = LocalTrace(trace_id, reader.trace_summary(trace_id), rows, cut, self.reader)
        trace.load_details(reader, DETAILS_AHEAD, self._details)
        if len(self._details) > DETAIL_CACHE_SIZE:
            self._details = {}
        self._details.update((k, v) for k, v in trace.details.items() if v is not None)
        return trace

    def pods(self, search: Search, *, cancel: Deadline | None = None) -> list[PodRow]:
        reader = self.reader()
        window = self.window(search, reader)
        matching = None
        if search.query is not None or window is not None:
            matching = matching_rows(reader, reader.search(search.query, cancel, window=window))
        cancelled = (lambda: cancel.cancelled) if cancel is not None else (lambda: False)
        return collect_pods(reader.snap, trace_columns(reader), matching, cancelled)

    def tag_values(self, key: str, limit: int = 1000) -> list:
        return self.reader().tag_values(key, None, limit)

    def save_trace(self, trace_id: bytes, directory: Path) -> tuple[Path, int]:
        from kubespan.dumps import save_trace

        return save_trace(self.store, trace_id, directory)

    def metrics(self) -> Any:
        from kubespan.metrics.live import live_metrics

        return live_metrics(self.store)


def _folded_entries(reader: StoreReader, folded: Folded, table) -> tuple[np.ndarray, dict[int, RootGroup]]:
    """Trace rows in list order (a group by its newest trace) and the groups by position."""
    snap = reader.snap
    ids = snap.trace_ids
    keys: list[int] = []
    groups: dict[int, RootGroup] = {}
    for entry in folded.entries.tolist():
        if entry >= 0:
            keys.append(entry)
            continue
        index = -entry - 1
        rows = folded.group_rows[index]
        key = int(folded.group_keys[index])
        durations = table.duration[rows]
        groups[len(keys)] = RootGroup(
            service=snap.services[key >> 32], name=snap.names[key & 0xFFFFFFFF], count=len(rows),
            errors=int(table.errors[rows].sum()), spans=int(table.spans[rows].sum()),
            latest=int(table.start[rows[0]]),
            p50=int(np.percentile(durations, 50, method="lower")),
            p99=int(np.percentile(durations, 99, method="lower")),
            trace_id=ids[rows[0]] or b"",
        )
        keys.append(int(rows[0]))
    return np.array(keys, np.int64), groups
