"""The writing side of the span store: ingest, eviction, compaction, and taking snapshots.

Single writer (the pipeline calls `consume_traces` under its lock). `_lock` is held while
appending and while a snapshot is taken; every read runs on a `Snapshot` without it.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Callable

import numpy as np
import numpy.typing as npt

from kubespan.model import AttributeTable, TraceBatch
from kubespan.store.chunk import Chunk, build_chunk, live_tail, merge_chunks
from kubespan.store.snapshot import ScanCache, Snapshot
from kubespan.store.tables import AttributeIndex, ResourceScopes, StringTable
from kubespan.store.traces import TraceTable

if TYPE_CHECKING:
    from kubespan.store.indexer import AheadIndexer

SEGMENT_SPANS = 65_536
"""Chunks are merged into segments of about this many spans."""
MERGE_TAIL = 32
"""Per-batch chunks are merged once this many are waiting."""
TRIM_SPANS = 16_384
"""A chunk with at least this many evicted spans (and half of it) is copied without them."""
MEMORY_SLICES = 16
"""Under `max_memory_mib`, segments are sealed at 1/16 of the budget, so evicting the oldest
whole chunk frees memory in small steps and the store stays between ~15/16 and all of it."""
COMPACT_ATTRIBUTES = 65_536
"""The attribute table is considered for compaction once it has grown by this many ids."""
COMPACT_EVICTED = 1.0
"""Without a memory budget, the attribute table is compacted once this many times the store's spans
were evicted since the last compaction: until then the ids only evicted spans held stay (on values
unique to a span, as many dead ids as live ones at most)."""


class StoreWriter:
    """Appends batches as columnar chunks, evicts the oldest spans beyond the bounds."""

    def __init__(self, table: AttributeTable, *, max_spans: int = 1_000_000,
                 max_memory_mib: float | None = None) -> None:
        self.table = table
        self.max_spans = max(0, int(max_spans))
        self.max_memory_bytes = None if max_memory_mib is None else int(max_memory_mib * 1024 * 1024)
        self.version = 0
        self.evicted_spans = 0
        self.lock = threading.RLock()
        self._sealed: list[Chunk] = []
        self._open: Chunk | None = None
        self._tail: list[Chunk] = []
        self._floor = 0  # first live ordinal
        self._next = 0  # next ordinal
        self._names = StringTable()
        self._services = StringTable()
        self._events = StringTable()
        self._rs = ResourceScopes()
        self._index = AttributeIndex(table.storage)
        self._traces = TraceTable()
        self._resource_service = np.zeros(0, np.int32)
        self._scan_cache: ScanCache = {}
        self._attributes_kept = len(table)  # ids kept by the last compaction (or there at the start)
        self._attributes_reclaimable = 0.0  # the evicted spans' estimated share of the table, freed by a compaction
        self._evicted_at_compaction = 0
        self.compact_attributes_min = COMPACT_ATTRIBUTES
        self._indexer: AheadIndexer | None = None
        self._listeners: list[Callable[[Chunk], None]] = []
        self._segment = max(1024, min(SEGMENT_SPANS, self.max_spans // 8))
        # a chunk is freed whole, so under a memory budget no chunk may hold more than a slice of it
        budget = self.max_memory_bytes
        self._segment_bytes: float = budget // MEMORY_SLICES if budget else math.inf

    def __len__(self) -> int:
        return self._next - self._floor

    @property
    def live_traces(self) -> int:
        return self._traces.live

    # ------------------------------------------------------------------ ingest
    def consume_traces(self, batch: TraceBatch) -> None:
        """Append a batch's spans (TracesConsumer); evict the oldest spans beyond the bounds."""
        if not self.max_spans or not batch.span_count:
            return
        with self.lock:
            batch = self.table.rebase(batch)  # decoded before a compaction (the pipeline rebased it already)
            spans = batch.spans
            packed = spans.packed()
            scope = self._scope_ids(batch)[packed.scope]
            names = np.array(self._names.intern_many(packed.names), np.int32)[packed.name]
            trace = self._traces.rows(packed.trace_id)
            if len(packed.event_names):
                events = np.array(self._events.intern_many(packed.event_texts), np.int32)[packed.event_names]
            else:
                events = np.zeros(0, np.int32)
            chunk = build_chunk(self._next, packed, spans.request, trace, names, scope, events, self.table.storage)
            self._traces.add(chunk.trace, chunk.start, chunk.end, chunk.status)
            self._next += chunk.n
            self._append(chunk)
            for listener in self._listeners:
                listener(chunk)
            self._enforce_limits()
            if self._traces.needs_compaction(self._segment_bytes):
                self._compact_traces()
            if self._attributes_need_compaction():
                self._compact_attributes()
            self.version += 1

    def _scope_ids(self, batch: TraceBatch) -> npt.NDArray[np.int32]:
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
        share = self._attribute_share() if self.max_memory_bytes is not None else 0.0
        if (len(tail) < MERGE_TAIL and sum(c.n for c in tail) < self._segment // 4
                and sum(c.nbytes() + share * c.n for c in tail) < self._segment_bytes / 4):
            return
        parts = ([self._open] if self._open is not None else []) + self._tail
        self._open = merge_chunks(parts)
        self._tail = []
        if self._open.n >= self._segment or self._open.nbytes() + share * self._open.n >= self._segment_bytes:
            self._sealed.append(self._open)
            if self._indexer is not None:
                self._indexer.submit(self._open)
            self._open = None

    def on_append(self, listener: Callable[[Chunk], None]) -> None:
        """Call `listener(chunk)` with each batch's chunk (ordinals chunk.base to chunk.stop) once it
        is stored, before eviction, under the writer's lock: keep it short (incremental
        aggregates). The chunk is immutable; its name, scope and attribute ids resolve through
        any snapshot taken after the call (the tables only grow)."""
        with self.lock:
            self._listeners.append(listener)

    def index_ahead(self) -> AheadIndexer:
        """Sort each sealed segment's attribute index in the background (the viewer does), so
        that the first query on a key does not pay for every segment at once."""
        from kubespan.store.indexer import AheadIndexer

        with self.lock:
            if self._indexer is None:
                self._indexer = AheadIndexer()
                for chunk in self._sealed:
                    self._indexer.submit(chunk)
            return self._indexer

    def chunks(self) -> list[Chunk]:
        """Every chunk still referenced, oldest first (call with the lock held)."""
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

        Memory comes back only when a chunk dies whole, so eviction runs to a chunk's end. A span's
        share of the attribute table counts as freed too (it is, at the next compaction).
        """
        freed = 0.0
        share = self._attribute_share()
        for chunk in self.chunks():
            if chunk.stop <= self._floor:
                continue
            freed += chunk.nbytes() + share * (chunk.stop - max(chunk.base, self._floor))
            if freed >= excess:
                return chunk.stop - self._floor
        return len(self)

    def _evict(self, count: int) -> None:
        self._attributes_reclaimable += count * self._attribute_share()
        new_floor = self._floor + count
        for chunk in self.chunks():
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
        """Forget chunks below the floor; copy the live tail of a chunk mostly below it."""
        floor = self._floor
        self._sealed = [self._trimmed(c) for c in self._sealed if c.stop > floor]
        if self._open is not None:
            self._open = self._trimmed(self._open) if self._open.stop > floor else None
        self._tail = [self._trimmed(c) for c in self._tail if c.stop > floor]

    def _trimmed(self, chunk: Chunk) -> Chunk:
        """`chunk`, or a copy of its live spans when at least TRIM_SPANS and half of it are dead
        (a huge request mostly evicted at once must not pin its columns; each span is copied
        O(log) times at most as a chunk dies)."""
        dead = self._floor - chunk.base
        if dead < TRIM_SPANS or 2 * dead < chunk.n:
            return chunk
        return live_tail(chunk, self._floor)

    def _attribute_share(self) -> float:
        """The attribute table's bytes per stored span (what evicting one gives back, on average)."""
        return self._attribute_bytes() / len(self) if len(self) else 0.0

    def _attribute_bytes(self) -> int:
        """The attribute table's bytes, less the evicted spans' share that the next compaction frees."""
        return max(0, self.table.storage.nbytes() - int(self._attributes_reclaimable))

    def _attributes_need_compaction(self) -> bool:
        """Whether enough spans were evicted since the last compaction for the attribute ids only
        they held to be worth dropping: COMPACT_EVICTED times the store, or (under a memory budget,
        where the table counts) once their share of the table is a sixteenth of the budget."""
        evicted = self.evicted_spans - self._evicted_at_compaction
        if not evicted:
            return False
        budget = self.max_memory_bytes
        if budget is not None and self._attributes_reclaimable * MEMORY_SLICES > budget:
            return True
        return len(self.table) - self._attributes_kept >= self.compact_attributes_min and \
            evicted >= COMPACT_EVICTED * len(self)

    def _compact_attributes(self) -> None:
        """Keep only the attribute ids a stored span or resource holds, renumbered in order (new chunks;
        readers keep their snapshot, with its own generation of the table)."""
        table = self.table
        floor = self._floor  # the evicted spans of a chunk must not keep their ids: copy its live tail
        self._replace_chunks(lambda chunk: live_tail(chunk, floor) if chunk.base < floor else chunk)
        live = np.zeros(len(table), bool)
        for chunk in self.chunks():
            live[chunk.attr_flat] = True
        for resource in self._rs.resources:
            live[list(resource.attribute_ids)] = True
        keep = np.flatnonzero(live)
        remap = np.full(max(len(live), 1), -1, np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        table.compact(keep.astype(np.int64))

        def renumbered(chunk: Chunk) -> Chunk:
            distinct = None if chunk.attr_distinct is None else remap[chunk.attr_distinct]
            # the renumbering keeps the ids' order, so a sorted index stays sorted
            return chunk.renumbered(attr_flat=remap[chunk.attr_flat], attr_distinct=distinct)

        self._replace_chunks(renumbered)
        if self._indexer is not None:  # a sorted index being built for a replaced chunk is lost with it
            for chunk in self._sealed:
                if chunk.attr_perm is None:
                    self._indexer.submit(chunk)
        self._rs.renumber_attributes(remap)
        self._index = AttributeIndex(table.storage)
        self._scan_cache = {}
        self._attributes_kept = len(keep)
        self._attributes_reclaimable = 0.0
        self._evicted_at_compaction = self.evicted_spans

    def _replace_chunks(self, change: Callable[[Chunk], Chunk]) -> None:
        self._sealed = [change(c) for c in self._sealed]
        self._open = change(self._open) if self._open is not None else None
        self._tail = [change(c) for c in self._tail]

    def _compact_traces(self) -> None:
        remap = self._traces.compact()

        def renumbered(chunk: Chunk) -> Chunk:
            return chunk.renumbered(trace=remap[chunk.trace])

        self._replace_chunks(renumbered)

    def memory_bytes(self) -> int:
        """Bytes held: every chunk with a live span (whole: memory is freed per chunk), the trace
        table and the attribute table (less the evicted spans' share, freed by the next compaction,
        which runs before that share is a sixteenth of a budget). Recomputed from the live chunks
        and the table's own size each time, so it cannot drift."""
        chunks = sum(chunk.nbytes() for chunk in self.chunks())
        return chunks + self._traces.nbytes() + self._attribute_bytes()

    def locked_memory_bytes(self) -> int:
        with self.lock:
            return self.memory_bytes()

    # ------------------------------------------------------------------ snapshots
    def snapshot(self) -> Snapshot:
        """Everything a reader needs, taken under the lock; new attributes indexed outside it."""
        with self.lock:
            traces, rs = self._traces, self._rs
            snap = Snapshot(
                chunks=tuple(self.chunks()), floor=self._floor, stop=self._next,
                names=self._names.strings, services=self._services.strings, event_names=self._events.strings,
                scope_resource=rs.scope_resource, resource_attrs=[r.attribute_ids for r in rs.resources],
                resource_service=self._resource_service, resources=rs.resources, scopes=rs.scopes,
                trace_ids=traces.ids, trace_rows=traces.ids.get, n_traces=len(traces.ids),
                traces=traces.share(),
                attributes=self.table.attributes, n_attributes=len(self.table.attributes),
                index=self._index, cache=self._scan_cache, indexed_ahead=self._indexer is not None,
            )
        self._index.update(snap.n_attributes)
        return snap

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {
                "stored_spans": len(self),
                "evicted_spans": self.evicted_spans,
                "traces": self._traces.live,
                "memory_bytes": self.memory_bytes(),
                "segments": len(self.chunks()),
                "attributes": len(self.table),
                "attribute_bytes": self.table.storage.nbytes(),
                "names": len(self._names),
                "max_spans": self.max_spans,
            }
