"""`LocalSource`: the data source over kubespan's own in-memory store.

Queries read one `StoreReader` (one snapshot) each; lookups on an answer read the store
again for just the rows asked, so an answer held for minutes pins no evicted spans.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from kubespan.query.limits import Deadline
from kubespan.store.reader import StoreReader, TimeWindow
from kubespan.store.rows import SpanDetail, SpanRow, TraceSummary
from kubespan.tui.source.base import (
    Capabilities,
    RootGroup,
    Search,
    SourceStatus,
    SpanSort,
    TraceSort,
)
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
        reader = self.store.reader()
        window = self.window(search, reader)
        if not fold and sort is TraceSort.START:
            return LocalTraces(self.store, reader.trace_page(search.query, 0, None, cancel, window=window).trace_ids)
        ordinals = None
        if search.query is not None or window is not None:
            ordinals = reader.search(search.query, cancel, window=window)
        rows = matching_rows(reader, ordinals)
        table = trace_columns(reader)
        if fold:
            return LocalTraces(self.store, *_folded_entries(reader, fold_rows(rows, table, sort.value), table))
        return LocalTraces(self.store, _ids(reader, sort_rows(rows, table, sort.value)))

    def find_spans(self, search: Search, sort: SpanSort = SpanSort.START, *,
                   cancel: Deadline | None = None) -> LocalSpans:
        reader = self.store.reader()
        snap = reader.snap
        window = self.window(search, reader)
        matches = reader.search(search.query, cancel, window=window)
        if sort is SpanSort.START:
            return LocalSpans(self.store, newest_first(self._start_order.ordinals(snap), matches, snap))
        starts = snap.column("start")[matches - snap.floor]
        durations = snap.column("end")[matches - snap.floor] - starts
        return LocalSpans(self.store, matches[np.lexsort((-matches, -starts, -durations))])

    def trace(self, trace_id: bytes) -> LocalTrace | None:
        reader = self.store.reader()
        ordinals = reader.trace_ordinals(trace_id)
        if not ordinals:
            return None
        rows = reader.span_rows(ordinals[:MAX_TRACE_SPANS])
        cut = f"showing {len(rows):,} of {len(ordinals):,} spans" if len(ordinals) > len(rows) else ""
        return LocalTrace(trace_id, reader.trace_summary(trace_id), rows, cut, self.store)

    def pods(self, search: Search, *, cancel: Deadline | None = None) -> list[PodRow]:
        reader = self.store.reader()
        window = self.window(search, reader)
        matching = None
        if search.query is not None or window is not None:
            matching = matching_rows(reader, reader.search(search.query, cancel, window=window))
        cancelled = (lambda: cancel.cancelled) if cancel is not None else (lambda: False)
        return collect_pods(reader.snap, trace_columns(reader), matching, cancelled)

    def tag_values(self, key: str, limit: int = 1000) -> list:
        return self.store.reader().tag_values(key, None, limit)

    def save_trace(self, trace_id: bytes, directory: Path) -> tuple[Path, int]:
        from kubespan.dumps import save_trace

        return save_trace(self.store, trace_id, directory)

    def metrics(self) -> Any:
        from kubespan.metrics.live import live_metrics

        return live_metrics(self.store)


def _ids(reader: StoreReader, rows: np.ndarray) -> list[bytes]:
    ids = reader.snap.trace_ids
    return [ids[row] or b"" for row in rows.tolist()]


def _folded_entries(reader: StoreReader, folded: Folded, table) -> tuple[list[bytes], dict[int, RootGroup]]:
    snap = reader.snap
    ids = snap.trace_ids
    keys: list[bytes] = []
    groups: dict[int, RootGroup] = {}
    for entry in folded.entries.tolist():
        if entry >= 0:
            keys.append(ids[entry] or b"")
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
        keys.append(ids[rows[0]] or b"")
    return keys, groups


@dataclass
class LocalTraces:
    """Trace ids in list order (folded groups at their position, keyed by their newest trace)."""

    store: Any
    keys: list[bytes]
    groups: dict[int, RootGroup] = field(default_factory=dict)
    cut: str = ""
    _positions: dict[bytes, int] | None = None

    @property
    def total(self) -> int:
        return len(self.keys)

    def rows(self, offset: int, limit: int) -> list[TraceSummary | RootGroup | None]:
        positions = range(max(0, offset), min(len(self.keys), offset + limit))
        wanted = [self.keys[p] for p in positions if p not in self.groups]
        found = {summary.trace_id: summary for summary in self.store.trace_summaries(wanted)}
        return [self.groups[p] if p in self.groups else found.get(self.keys[p]) for p in positions]

    def key(self, index: int) -> bytes:
        return self.keys[index]

    def position(self, key: bytes) -> int | None:
        if self._positions is None:
            self._positions = {trace_id: index for index, trace_id in enumerate(self.keys)}
        return self._positions.get(key)


@dataclass
class LocalSpans:
    store: Any
    ordinals: np.ndarray
    cut: str = ""

    @property
    def total(self) -> int:
        return len(self.ordinals)

    def rows(self, offset: int, limit: int) -> list[SpanRow | None]:
        wanted = self.ordinals[max(0, offset): offset + limit].tolist()
        found = {row.ordinal: row for row in self.store.span_rows(wanted)}
        return [found.get(ordinal) for ordinal in wanted]

    def key(self, index: int) -> int:
        return int(self.ordinals[index])

    def position(self, key: int) -> int | None:
        hits = np.flatnonzero(self.ordinals == key)
        return int(hits[0]) if len(hits) else None


@dataclass
class LocalTrace:
    trace_id: bytes
    summary: TraceSummary | None
    rows: list[SpanRow]
    cut: str
    store: Any
    _events: dict[int, list[int]] = field(default_factory=dict)

    def detail(self, row: SpanRow) -> SpanDetail | None:
        return self.store.span_detail(row.ordinal)

    def event_times(self, row: SpanRow) -> list[int]:
        found = self._events.get(row.ordinal)
        if found is None:
            detail = self.detail(row)
            found = [event.time_unix_nano for event in detail.span.events] if detail is not None else []
            self._events[row.ordinal] = found
        return found
