"""`SpanStore`: every received span, columnar, bounded, indexed for the query language.

Single writer (the pipeline, under its lock), many readers (UI workers). The writer
holds `_lock` only while appending; a reader takes it just long enough to copy a
`Snapshot` (lists of immutable chunks and table references) and runs numpy without it.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import threading
from itertools import chain
from typing import Iterable

import numpy as np
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.model import AttributeTable, TraceBatch, value_text
from kubespan.query.limits import Deadline, QueryCounters, QueryStopped
from kubespan.stats import Counters
from kubespan.store.chunk import Chunk, build_chunk, merge_chunks
from kubespan.store.engine import Evaluator, Snapshot, trace_flags
from kubespan.store.rows import SpanDetail, SpanRow, TraceSummary, ValueStats
from kubespan.store.tables import AttributeIndex, ResourceScopes, StringTable
from kubespan.store.traces import ERROR, TraceTable

SEGMENT_SPANS = 65_536
"""Chunks are merged into segments of about this many spans."""
MERGE_TAIL = 32
"""Per-batch chunks are merged once this many are waiting."""
MEMORY_SLICES = 16
"""Under `max_memory_mib`, segments are sealed at 1/16 of the budget, so evicting the oldest
whole chunk frees memory in small steps and the store stays between ~15/16 and all of it."""


class SpanStore:
    """In-memory span store; see proto_notes/store.md for the layout and its costs."""

    def __init__(self, table: AttributeTable, *, max_spans: int = 1_000_000,
                 max_memory_mib: float | None = None, counters: Counters | None = None) -> None:
        self.table = table
        self.max_spans = max(0, int(max_spans))
        self.max_memory_bytes = None if max_memory_mib is None else int(max_memory_mib * 1024 * 1024)
        self.version = 0
        self.evicted_spans = 0
        self._lock = threading.RLock()
        self._sealed: list[Chunk] = []
        self._open: Chunk | None = None
        self._tail: list[Chunk] = []
        self._floor = 0  # first live ordinal
        self._next = 0  # next ordinal
        self._names = StringTable()
        self._services = StringTable()
        self._events = StringTable()
        self._rs = ResourceScopes()
        self._index = AttributeIndex(table)
        self._traces = TraceTable()
        self._resource_service = np.zeros(0, np.int32)
        self._scan_cache: dict = {}
        self._indexer = None
        self._segment = max(1024, min(SEGMENT_SPANS, self.max_spans // 8))
        # a chunk is freed whole, so under a memory budget no chunk may hold more than a slice of it
        budget = self.max_memory_bytes
        self._segment_bytes = budget // MEMORY_SLICES if budget else math.inf
        self._query_counters = QueryCounters(counters) if counters is not None else None
        if counters is not None:
            counters.gauge("stored_spans", self.__len__)
            counters.gauge("evicted_spans", lambda: self.evicted_spans)
            counters.gauge("traces", lambda: self._traces.live)
            counters.gauge("store_memory_bytes", self._locked_memory_bytes)

    def __len__(self) -> int:
        return self._next - self._floor

    # ------------------------------------------------------------------ ingest
    def consume_traces(self, batch: TraceBatch) -> None:
        """Append a batch's spans (TracesConsumer); evict the oldest spans beyond the bounds."""
        spans = batch.spans
        if not self.max_spans or not len(spans):
            return
        with self._lock:
            scope = self._scope_ids(batch)[np.array(spans.scope, np.int32)]
            names = self._names.intern_many(spans.name)
            trace = self._traces.rows(spans.trace_id)
            events = None
            if any(spans.event_names):
                flat = list(chain.from_iterable(spans.event_names))
                events = (self._events.intern_many(flat), list(map(len, spans.event_names)))
            chunk = build_chunk(self._next, spans, trace, names, scope, events)
            self._traces.add(chunk.trace, chunk.start, chunk.end, chunk.status)
            self._next += chunk.n
            self._append(chunk)
            self._enforce_limits()
            if self._traces.needs_compaction():
                self._compact_traces()
            self.version += 1

    def _scope_ids(self, batch: TraceBatch) -> np.ndarray:
        rs = self._rs
        resources = [
            rs.intern_resource(r.raw, r.schema_url, r.attribute_ids, self._services.intern(r.service))
            for r in batch.resources
        ]
        if len(rs.resources) != len(self._resource_service):
            self._resource_service = np.array([r.service for r in rs.resources], np.int32)
        return np.array([rs.intern_scope(resources[s.resource], s.raw, s.schema_url) for s in batch.scopes], np.int32)

    def _append(self, chunk: Chunk) -> None:
        self._tail.append(chunk)
        tail = self._tail
        if (len(tail) < MERGE_TAIL and sum(c.n for c in tail) < self._segment // 4
                and sum(c.nbytes() for c in tail) < self._segment_bytes / 4):
            return
        parts = ([self._open] if self._open is not None else []) + self._tail
        self._open = merge_chunks(parts)
        self._tail = []
        if self._open.n >= self._segment or self._open.nbytes() >= self._segment_bytes:
            self._sealed.append(self._open)
            if self._indexer is not None:
                self._indexer.submit(self._open)
            self._open = None

    def index_ahead(self) -> "AheadIndexer":
        """Sort each sealed segment's attribute index in the background (the viewer does), so
        that the first query on a key does not pay for every segment at once."""
        from kubespan.store.indexer import AheadIndexer

        with self._lock:
            if self._indexer is None:
                self._indexer = AheadIndexer()
                for chunk in self._sealed:
                    self._indexer.submit(chunk)
            return self._indexer

    def _chunks(self) -> list[Chunk]:
        return self._sealed + ([self._open] if self._open is not None else []) + self._tail

    # ------------------------------------------------------------------ eviction
    def _enforce_limits(self) -> None:
        excess = len(self) - self.max_spans
        if excess > 0:
            self._evict(excess)
        if self.max_memory_bytes is not None and len(self):
            excess = self.memory_bytes() - self.max_memory_bytes
            if excess > 0:
                self._evict(self._spans_to_free(excess))

    def _spans_to_free(self, excess: int) -> int:
        """Spans to evict so that whole chunks holding at least `excess` bytes are freed.

        Memory comes back only when a chunk dies whole, so eviction runs to a chunk's end.
        """
        freed = 0
        for chunk in self._chunks():
            if chunk.stop <= self._floor:
                continue
            freed += chunk.nbytes()
            if freed >= excess:
                return chunk.stop - self._floor
        return len(self)

    def _evict(self, count: int) -> None:
        new_floor = self._floor + count
        for chunk in self._chunks():
            if chunk.base >= new_floor:
                break
            if chunk.stop <= self._floor:
                continue
            a, b = max(self._floor, chunk.base) - chunk.base, min(new_floor, chunk.stop) - chunk.base
            self._traces.remove(chunk.trace[a:b], chunk.status[a:b])
        self._floor = new_floor
        self.evicted_spans += count
        self._drop_dead_chunks()

    def _drop_dead_chunks(self) -> None:
        floor = self._floor
        dead = [c for c in self._chunks() if c.stop <= floor]
        if not dead:
            return
        self._sealed = [c for c in self._sealed if c.stop > floor]
        if self._open is not None and self._open.stop <= floor:
            self._open = None
        self._tail = [c for c in self._tail if c.stop > floor]

    def _compact_traces(self) -> None:
        remap = self._traces.compact()

        def renumbered(chunk: Chunk) -> Chunk:
            return dataclasses.replace(chunk, trace=remap[chunk.trace])

        self._sealed = [renumbered(c) for c in self._sealed]
        self._open = renumbered(self._open) if self._open is not None else None
        self._tail = [renumbered(c) for c in self._tail]

    def memory_bytes(self) -> int:
        """Bytes held: every chunk with a live span (whole: memory is freed per chunk) plus the
        trace table. Recomputed from the live chunks each time, so it cannot drift."""
        return sum(chunk.nbytes() for chunk in self._chunks()) + self._traces.nbytes()

    def _locked_memory_bytes(self) -> int:
        with self._lock:
            return self.memory_bytes()

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        """Copy what a query needs under the lock; index new attributes outside it."""
        with self._lock:
            traces = self._traces
            snap = Snapshot(
                chunks=self._chunks(), floor=self._floor, stop=self._next,
                names=self._names.strings, services=self._services.strings, event_names=self._events.strings,
                scope_resource=self._rs.scope_resource, resource_attrs=[r.attribute_ids for r in self._rs.resources],
                resource_service=self._resource_service, trace_ids=traces.ids, trace_lookup=traces.index.get,
                trace_start=traces.start, trace_dirty=traces.dirty,
                attributes=self.table.attributes, n_attributes=len(self.table.attributes),
                index=self._index, cache=self._scan_cache,
            )
        self._index.update(snap.n_attributes)
        return snap

    def search(self, query=None, deadline: Deadline | None = None) -> np.ndarray:
        """Ordinals of the matching spans, ascending (arrival order). None matches all.

        `deadline` (kubespan.query.limits) cancels or times the query out with `QueryStopped`.
        """
        return self._search(self.snapshot(), query, deadline)

    def _search(self, snap: Snapshot, query, deadline: Deadline | None = None) -> np.ndarray:
        if query is None or snap.stop == snap.floor:
            return np.arange(snap.floor, snap.stop, dtype=np.int64)
        if self._query_counters is not None:
            self._query_counters.ran()
        try:
            mask = Evaluator(snap, deadline).spanset(query.root)
        except QueryStopped as stopped:
            if self._query_counters is not None:
                self._query_counters.stopped(stopped)
            raise
        return np.flatnonzero(mask).astype(np.int64) + snap.floor

    def search_traces(self, query=None, offset: int = 0, limit: int | None = None,
                      deadline: Deadline | None = None) -> list[bytes]:
        """Ids of the traces with a matching span, newest trace start first (optionally a window)."""
        return self.trace_page(query, offset, limit, deadline)[1]

    def trace_page(self, query=None, offset: int = 0, limit: int | None = None,
                   deadline: Deadline | None = None) -> tuple[int, list[bytes]]:
        """(number of matching traces, ids of the window [offset, offset + limit)), newest first.

        Only the window's ids are materialised, so a UI can show a page of a huge result.
        """
        snap = self.snapshot()
        ordinals = self._search(snap, query, deadline) if query is not None else None
        trace_col = snap.column("trace")
        matched = trace_col if ordinals is None else trace_col[ordinals - snap.floor]
        flags = trace_flags(matched, len(snap.trace_ids) + 1)
        rows = np.flatnonzero(flags)
        if not len(rows):
            return 0, []
        starts = self._trace_starts(rows, snap, trace_col)
        order = np.lexsort((-rows, -starts))
        stop = None if limit is None else offset + max(0, limit)
        ids = snap.trace_ids
        window = [ids[row] for row in rows[order[offset:stop]].tolist()]
        return len(rows), [trace_id for trace_id in window if trace_id is not None]

    def _trace_starts(self, rows: np.ndarray, snap: Snapshot, trace_col: np.ndarray) -> np.ndarray:
        start, dirty = snap.trace_start, snap.trace_dirty
        starts = start[rows].copy()
        stale = rows[dirty[rows]]
        if len(stale):
            lut = np.zeros(len(start), bool)
            lut[stale] = True
            selected = lut[trace_col]
            fresh = np.full(len(start), np.iinfo(np.int64).max, np.int64)
            np.minimum.at(fresh, trace_col[selected], snap.column("start")[selected])
            starts[dirty[rows]] = fresh[stale]
        return starts

    def _locate(self, snap: Snapshot, ordinal: int) -> tuple[Chunk, int] | None:
        if not snap.floor <= ordinal < snap.stop:
            return None
        chunks = snap.chunks
        index = bisect.bisect_right([c.base for c in chunks], ordinal) - 1
        chunk = chunks[index]
        return chunk, ordinal - chunk.base

    def span_row(self, ordinal: int) -> SpanRow | None:
        """The span at `ordinal`, or None if evicted (or never stored)."""
        snap = self.snapshot()
        found = self._locate(snap, int(ordinal))
        return None if found is None else self._row(snap, int(ordinal), *found)

    def span_rows(self, ordinals: Iterable[int]) -> list[SpanRow]:
        """Rows for the ordinals still stored, in the given order."""
        snap = self.snapshot()
        rows = []
        for ordinal in ordinals:
            found = self._locate(snap, int(ordinal))
            if found is not None:
                rows.append(self._row(snap, int(ordinal), *found))
        return rows

    def _row(self, snap: Snapshot, ordinal: int, chunk: Chunk, i: int) -> SpanRow:
        attributes = snap.attributes
        flat = chunk.attr_flat[chunk.attr_off[i]:chunk.attr_off[i + 1]].tolist()
        resource = int(snap.scope_resource[chunk.scope[i]])
        parent = int(chunk.parent_id[i])
        return SpanRow(
            ordinal=ordinal,
            trace_id=snap.trace_ids[chunk.trace[i]] or b"",
            span_id=int(chunk.span_id[i]).to_bytes(8, "big"),
            parent_id=parent.to_bytes(8, "big") if parent else b"",
            name=snap.names[chunk.name[i]],
            service=snap.services[snap.resource_service[resource]],
            kind=int(chunk.kind[i]),
            status=int(chunk.status[i]),
            start=int(chunk.start[i]),
            end=int(chunk.end[i]),
            attributes=tuple((attributes[a].key, attributes[a].value) for a in flat),
            resource_attributes=tuple((attributes[a].key, attributes[a].value) for a in snap.resource_attrs[resource]),
        )

    def span_detail(self, ordinal: int) -> SpanDetail | None:
        """The official protobuf messages of a stored span (decoded on demand)."""
        snap = self.snapshot()
        found = self._locate(snap, int(ordinal))
        if found is None:
            return None
        chunk, i = found
        scope = self._rs.scopes[chunk.scope[i]]
        resource = self._rs.resources[scope.resource]
        return SpanDetail(
            ordinal=int(ordinal),
            span=Span.FromString(chunk.raw_span(i)),
            resource=Resource.FromString(resource.raw),
            scope=InstrumentationScope.FromString(scope.raw),
            resource_schema_url=resource.schema_url,
            scope_schema_url=scope.schema_url,
            service=snap.services[resource.service],
        )

    # ------------------------------------------------------------------ traces
    def trace_ordinals(self, trace_id: bytes) -> list[int]:
        """Ordinals of the trace's stored spans, by start time (then arrival)."""
        snap = self.snapshot()
        row = snap.trace_lookup(trace_id)
        if row is None:
            return []
        return self._gather(snap, np.array([row]))[row][0].tolist()

    def _gather(self, snap: Snapshot, rows: np.ndarray) -> dict[int, tuple[np.ndarray, ...]]:
        """Per trace row: (ordinals, starts, ends, span ids, parent ids, status, scope, name), by start."""
        lut = np.zeros(len(snap.trace_ids) + 1, bool)
        lut[rows] = True
        parts = []
        for chunk, i in snap.live_slices():
            where = np.flatnonzero(lut[chunk.trace[i:]]) + i
            if len(where):
                parts.append((chunk, where))
        if not parts:
            return {}
        cols = {name: np.concatenate([getattr(c, name)[w] for c, w in parts])
                for name in ("trace", "start", "end", "span_id", "parent_id", "status", "scope", "name")}
        ordinals = np.concatenate([w + c.base for c, w in parts]).astype(np.int64)
        order = np.lexsort((ordinals, cols["start"], cols["trace"]))
        trace_sorted = cols["trace"][order]
        bounds = np.flatnonzero(np.diff(trace_sorted)) + 1
        out = {}
        for group in np.split(order, bounds):
            row = int(cols["trace"][group[0]])
            out[row] = (ordinals[group],) + tuple(cols[n][group] for n in
                                                  ("start", "end", "span_id", "parent_id", "status", "scope", "name"))
        return out

    def trace_summary(self, trace_id: bytes) -> TraceSummary | None:
        found = self.trace_summaries([trace_id])
        return found[0] if found else None

    def trace_summaries(self, trace_ids: Iterable[bytes]) -> list[TraceSummary]:
        """Summaries of the traces still stored, in the given order (unknown ids skipped)."""
        snap = self.snapshot()
        wanted = [(tid, snap.trace_lookup(tid)) for tid in trace_ids]
        rows = np.array([row for _, row in wanted if row is not None], np.int64)
        groups = self._gather(snap, rows) if len(rows) else {}
        return [self._summary(snap, tid, groups[row]) for tid, row in wanted if row is not None and row in groups]

    def _summary(self, snap: Snapshot, trace_id: bytes, group) -> TraceSummary:
        ordinals, start, end, span_id, parent_id, status, scope, name = group
        roots = np.flatnonzero(parent_id == 0)
        orphan = not len(roots)
        if orphan:
            roots = np.flatnonzero(~np.isin(parent_id, span_id))
        root = int(roots[0]) if len(roots) else None
        service_ids = snap.resource_service[snap.scope_resource[scope]]
        services = tuple(sorted({snap.services[s] for s in np.unique(service_ids).tolist()}))
        first, last = int(start.min()), int(end.max())
        return TraceSummary(
            trace_id=trace_id,
            root_service=snap.services[service_ids[root]] if root is not None else "",
            root_name=snap.names[name[root]] if root is not None else "",
            start=first, end=last, duration=last - first,
            span_count=len(ordinals), error_count=int((status == ERROR).sum()),
            services=services, root=int(ordinals[root]) if root is not None else None,
            orphan_root=orphan and root is not None,
        )

    # ------------------------------------------------------------------ values and stats
    def attribute_values(self, key: str, limit: int = 1000) -> list[tuple[str, int]]:
        """Distinct values of `key` (span and resource attributes) with their span counts."""
        return [(stat.value, stat.spans) for stat in self.attribute_stats(key, limit)]

    def attribute_stats(self, key: str, limit: int = 1000) -> list[ValueStats]:
        """Per distinct value of `key`: spans, error spans and the latest span end; most spans first."""
        snap = self.snapshot()
        ids = np.array(snap.index.ids_of_key(key, snap.n_attributes), np.int64)
        if not len(ids):
            return []
        slot = np.full(snap.n_attributes, -1, np.int64)
        slot[ids] = np.arange(len(ids))
        per_id = _Tally(len(ids))
        per_scope = _Tally(len(snap.scope_resource) + 1)
        for chunk, i in snap.live_slices():
            hits = slot[chunk.attr_flat]
            positions = np.flatnonzero(hits >= 0)
            spans = np.searchsorted(chunk.attr_off, positions, "right") - 1
            live = spans >= i
            per_id.add(hits[positions[live]], chunk.status[spans[live]], chunk.end[spans[live]])
            per_scope.add(chunk.scope[i:], chunk.status[i:], chunk.end[i:])
        for scope in np.flatnonzero(per_scope.spans[:-1]).tolist():
            for a in snap.resource_attrs[int(snap.scope_resource[scope])]:
                if slot[a] >= 0:
                    per_id.merge(int(slot[a]), per_scope, scope)
        totals: dict[str, list[int]] = {}
        attributes = snap.attributes
        for index, spans_, errors, last in zip(ids.tolist(), per_id.spans.tolist(), per_id.errors.tolist(),
                                               per_id.last_end.tolist()):
            if spans_:
                total = totals.setdefault(value_text(attributes[index].value), [0, 0, np.iinfo(np.int64).min])
                total[0] += spans_
                total[1] += errors
                total[2] = max(total[2], last)
        ordered = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        return [ValueStats(text, spans_, errors, last) for text, (spans_, errors, last) in ordered]

    def stats(self) -> dict:
        with self._lock:
            return {
                "stored_spans": len(self),
                "evicted_spans": self.evicted_spans,
                "traces": self._traces.live,
                "memory_bytes": self.memory_bytes(),
                "segments": len(self._chunks()),
                "attributes": len(self.table),
                "names": len(self._names),
                "max_spans": self.max_spans,
            }


class _Tally:
    """Span count, error count and latest end per slot, accumulated chunk by chunk."""

    def __init__(self, size: int) -> None:
        self.spans = np.zeros(size, np.int64)
        self.errors = np.zeros(size, np.int64)
        self.last_end = np.full(size, np.iinfo(np.int64).min, np.int64)

    def add(self, slots: np.ndarray, status: np.ndarray, end: np.ndarray) -> None:
        size = len(self.spans)
        self.spans += np.bincount(slots, minlength=size)[:size]
        self.errors += np.bincount(slots[status == ERROR], minlength=size)[:size]
        np.maximum.at(self.last_end, slots, end)

    def merge(self, slot: int, other: "_Tally", index: int) -> None:
        self.spans[slot] += other.spans[index]
        self.errors[slot] += other.errors[index]
        self.last_end[slot] = max(self.last_end[slot], other.last_end[index])
