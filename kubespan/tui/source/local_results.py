"""The answers of `LocalSource`: trace and span lists, and one trace with its spans' details.

An answer keeps what its search found (trace rows or span ordinals in list order) and looks
rows up when they are drawn, through `readers()`: a fresh snapshot on a worker, the one
the workers took last on the UI thread (see `LocalSource.reader`). Trace ids are read from
the id table of the search's snapshot only for the rows asked, so an answer over 170,000
traces costs an array, not 170,000 `bytes`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kubespan.store.reader import StoreReader
from kubespan.store.rows import SpanDetail, SpanRow, TraceSummary
from kubespan.store.trace_order import TraceOrder
from kubespan.store.traces import TraceIds
from kubespan.tui.source.base import RootGroup

Readers = Callable[[], StoreReader]


@dataclass
class LocalTraces:
    """Traces in list order: trace rows of the search's snapshot (`ids[row]` is the id); a
    folded group sits at its position (`groups`), keyed by its newest trace."""

    readers: Readers
    ids: TraceIds
    order: TraceOrder
    """Sorted as far as it is read: a screenful of a huge answer sorts a screenful."""
    n_traces: int
    """Rows below this are the snapshot's (the id table may have grown since)."""
    groups: dict[int, RootGroup] = field(default_factory=dict)
    cut: str = ""

    @property
    def total(self) -> int:
        return len(self.order)

    def rows(self, offset: int, limit: int) -> list[TraceSummary | RootGroup | None]:
        start, stop = max(0, offset), min(self.total, offset + limit)
        ids = self.ids
        keys = [ids[row] or b"" for row in self.order.slice(start, stop).tolist()]
        wanted = [key for p, key in enumerate(keys, start) if p not in self.groups]
        found = {summary.trace_id: summary for summary in self.readers().trace_summaries(wanted)}
        return [self.groups[p] if p in self.groups else found.get(key) for p, key in enumerate(keys, start)]

    def key(self, index: int) -> bytes:
        return self.ids[self.order[index]] or b""

    def position(self, key: bytes) -> int | None:
        row = self.ids.get(key)
        if row is None or row >= self.n_traces:
            return None
        return self.order.position(row)


@dataclass
class LocalSpans:
    readers: Readers
    ordinals: np.ndarray
    cut: str = ""

    @property
    def total(self) -> int:
        return len(self.ordinals)

    def rows(self, offset: int, limit: int) -> list[SpanRow | None]:
        wanted = self.ordinals[max(0, offset): offset + limit].tolist()
        found = {row.ordinal: row for row in self.readers().span_rows(wanted)}
        return [found.get(ordinal) for ordinal in wanted]

    def key(self, index: int) -> int:
        return int(self.ordinals[index])

    def position(self, key: int) -> int | None:
        hits = np.flatnonzero(self.ordinals == key)
        return int(hits[0]) if len(hits) else None


@dataclass
class LocalTrace:
    """One trace's spans. The details of its first spans and every span's event times are read
    on the worker that loaded it (`load_details`), so moving in the waterfall reads nothing."""

    trace_id: bytes
    summary: TraceSummary | None
    rows: list[SpanRow]
    cut: str
    readers: Readers
    details: dict[int, SpanDetail | None] = field(default_factory=dict)
    events: dict[int, list[int]] = field(default_factory=dict)

    def detail(self, row: SpanRow) -> SpanDetail | None:
        if row.ordinal not in self.details:  # past the ones read ahead (a huge trace)
            self.details[row.ordinal] = self.readers().span_detail(row.ordinal)
        return self.details[row.ordinal]

    def event_times(self, row: SpanRow) -> list[int]:
        found = self.events.get(row.ordinal)
        if found is None:
            detail = self.detail(row)
            found = [event.time_unix_nano for event in detail.span.events] if detail is not None else []
            self.events[row.ordinal] = found
        return found

    def load_details(self, reader: StoreReader, ahead: int, known: dict[int, SpanDetail]) -> None:
        """Read the details (and event times) of the first `ahead` spans, reusing those in `known`;
        the spans after them without events get their (empty) event times from the chunk's columns."""
        snap = reader.snap
        for index, row in enumerate(self.rows):
            if index < ahead:
                detail = known.get(row.ordinal) or reader.span_detail(row.ordinal)
                self.details[row.ordinal] = detail
                self.events[row.ordinal] = [e.time_unix_nano for e in detail.span.events] if detail else []
                continue
            found = snap.locate(row.ordinal)
            if found is not None and found[0].event_off[found[1] + 1] == found[0].event_off[found[1]]:
                self.events[row.ordinal] = []  # no events: nothing to decode when it is drawn
