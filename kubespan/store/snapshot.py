"""`Snapshot`: what a reader sees of the store, fixed at the moment it was taken.

The writer never changes anything a snapshot holds. Chunks are immutable (a merge or a
trace renumbering builds new ones). The string, resource, scope and trace-id tables only
grow between compactions, so a snapshot reads them up to the lengths it recorded. The
per-trace arrays that the writer updates in place are copied on the first write after a
snapshot took them (`TraceTable.share`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.model import AttributeStorage
from kubespan.query.limits import Deadline
from kubespan.store.chunk import Chunk
from kubespan.store.tables import AttributeIndex, ResourceEntry, ScopeEntry
from kubespan.store.traces import TraceColumns, TraceIds

Ordinals = npt.NDArray[np.int64]
"""Span ordinals (arrival numbers), ascending unless said otherwise."""
Mask = npt.NDArray[np.bool_]

ScanCache = dict[tuple[Any, ...], tuple[int, list[int]]]
"""Predicate scans over attribute values, shared store-wide (see engine.cached_scan)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable view of the store taken under its lock; reads run without it."""

    chunks: tuple[Chunk, ...]
    floor: int  # first live ordinal
    stop: int  # one past the last ordinal
    names: Sequence[str]  # span names by id (append-only; ids in the chunks are below its length then)
    services: Sequence[str]
    event_names: Sequence[str]
    scope_resource: npt.NDArray[np.int32]  # scope id → resource id
    resource_attrs: Sequence[tuple[int, ...]]  # resource id → attribute ids
    resource_service: npt.NDArray[np.int32]  # resource id → service id
    resources: Sequence[ResourceEntry]
    scopes: Sequence[ScopeEntry]
    trace_ids: TraceIds  # trace row → id (`trace_ids[row]`), rows below n_traces
    trace_rows: Callable[[bytes], int | None]  # id → trace row (rows ≥ n_traces are newer than the snapshot)
    n_traces: int
    traces: TraceColumns  # per trace row: start, end, span and error counts
    attributes: AttributeStorage  # the AttributeTable generation the chunks' ids belong to, valid up to n_attributes
    n_attributes: int
    index: AttributeIndex  # updated to at least n_attributes
    cache: ScanCache = field(default_factory=dict)
    indexed_ahead: bool = False  # sealed segments are sorted in the background: queries never sort one
    deadline: Deadline | None = None  # the evaluator's copy carries its query's deadline to the scans

    def __len__(self) -> int:
        return self.stop - self.floor

    @property
    def trace_start(self) -> npt.NDArray[np.int64]:
        """Per trace row, the first start (stale where `trace_dirty`): `traces.start`."""
        return self.traces.start

    @property
    def trace_dirty(self) -> npt.NDArray[np.bool_]:
        """Per trace row, whether some of its spans were evicted: `traces.dirty`."""
        return self.traces.dirty

    def trace_lookup(self, trace_id: bytes) -> int | None:
        """The trace row of `trace_id` in this snapshot, or None."""
        row = self.trace_rows(trace_id)
        return row if row is not None and row < self.n_traces else None

    def live_slices(self) -> Iterator[tuple[Chunk, int]]:
        """(chunk, first live index in chunk) for every chunk with live spans."""
        for chunk in self.chunks:
            if chunk.stop > self.floor:
                yield chunk, max(0, self.floor - chunk.base)

    def column(self, name: str) -> npt.NDArray[Any]:
        """One column over the live spans, in ordinal order (a view when one chunk holds them)."""
        parts = [getattr(c, name)[i:] for c, i in self.live_slices()]
        if not parts:
            return np.zeros(0, np.int32 if name == "trace" else np.int64)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def locate(self, ordinal: int) -> tuple[Chunk, int] | None:
        """(chunk, index in chunk) of a live ordinal, or None."""
        if not self.floor <= ordinal < self.stop:
            return None
        chunks = self.chunks
        index = bisect.bisect_right([c.base for c in chunks], ordinal) - 1
        chunk = chunks[index]
        return chunk, ordinal - chunk.base
