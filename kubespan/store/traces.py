"""The trace table: one row per trace, kept up to date as spans arrive and leave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from kubespan.otlp import compiled

T = TypeVar("T", bound=np.generic)

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min
ERROR = 2
COMPACT_MIN_DEAD = 16_384
"""Dead rows are recycled once there are this many and a quarter as many as live ones."""
TRACE_ID_BYTES = 16


class TraceIds(Protocol):
    """Trace ids by row (append-only until a compaction makes a new table): `ids[row]`, `ids.get(id)`."""

    def __len__(self) -> int: ...
    def __getitem__(self, row: int) -> bytes: ...
    def rows(self, ids: bytes) -> tuple[bytes, int]: ...
    def get(self, key: bytes) -> int | None: ...
    def compacted(self, keep: npt.NDArray[np.int64]) -> TraceIds: ...
    def nbytes(self) -> int: ...


class PythonTraceIds:
    """`TraceIds` without the compiled extension: a dict of bytes keys (about 130 bytes a trace)."""

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}
        self.ids: list[bytes] = []

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, row: int) -> bytes:
        return self.ids[row]

    def rows(self, ids: bytes) -> tuple[bytes, int]:
        keys = np.frombuffer(ids, f"V{TRACE_ID_BYTES}").tolist()
        first = len(self.ids)
        new = [key for key in dict.fromkeys(keys) if key not in self.index]
        self.index.update(zip(new, range(first, first + len(new))))
        self.ids.extend(new)
        return np.fromiter(map(self.index.__getitem__, keys), np.int32, len(keys)).tobytes(), len(new)

    def get(self, key: bytes) -> int | None:
        return self.index.get(key)

    def compacted(self, keep: npt.NDArray[np.int64]) -> PythonTraceIds:
        made = PythonTraceIds()
        made.ids = [self.ids[row] for row in keep.tolist()]
        made.index = {trace_id: row for row, trace_id in enumerate(made.ids)}
        return made

    def nbytes(self) -> int:
        return 130 * len(self.ids)


def new_trace_ids() -> TraceIds:
    return compiled.IdTable(TRACE_ID_BYTES) if compiled.IdTable is not None else PythonTraceIds()


@dataclass(frozen=True, slots=True)
class TraceColumns:
    """Per trace row, as a snapshot sees them: start and end are stale where `dirty` (some of
    the trace's spans were evicted: recompute from the live spans); counts are exact."""

    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    count: npt.NDArray[np.int32]
    errors: npt.NDArray[np.int32]
    dirty: npt.NDArray[np.bool_]


class TraceTable:
    """trace id → dense row; start/end/count/errors per row, updated per chunk with ufunc.at.

    Rows whose spans were partly evicted are marked dirty: their start/end are recomputed
    from the live spans when needed. A dead row (no span left) keeps its id until
    `compact` renumbers the live rows into new tables, so the id list and the id → row
    map only grow in between and a snapshot can keep reading them. A trace id seen again
    while its row is dead takes the row back.
    """

    def __init__(self) -> None:
        self.ids: TraceIds = new_trace_ids()
        self.start = np.zeros(0, np.int64)
        self.end = np.zeros(0, np.int64)
        self.count = np.zeros(0, np.int32)
        self.errors = np.zeros(0, np.int32)
        self.dirty = np.zeros(0, bool)
        self.live = 0
        self._shared = False

    def __len__(self) -> int:
        return len(self.ids)

    def share(self) -> TraceColumns:
        """The per-row arrays for a snapshot; the next write copies them first."""
        self._shared = True
        return TraceColumns(self.start, self.end, self.count, self.errors, self.dirty)

    def _unshare(self) -> None:
        if self._shared:
            self.start, self.end, self.dirty = self.start.copy(), self.end.copy(), self.dirty.copy()
            self.count, self.errors = self.count.copy(), self.errors.copy()
            self._shared = False

    def rows(self, trace_ids: bytes) -> npt.NDArray[np.int32]:
        """Rows for trace ids packed end to end, creating rows for new traces and reviving dead ones."""
        first = len(self.ids)
        packed, added = self.ids.rows(trace_ids)
        rows = np.frombuffer(packed, np.int32)
        if added:
            self._unshare()
            self.live += added
            if first + added > len(self.start):
                self._grow(max(1024, (first + added) * 5 // 4))
            self._reset(slice(first, first + added))
        if self.live < first + added:  # some rows are dead: is one of them back?
            known = rows[rows < first]
            dead = np.unique(known[self.count[known] == 0])
            if len(dead):
                self._unshare()
                self._reset(dead)
                self.live += len(dead)
        return rows

    def _reset(self, rows: slice | npt.NDArray[np.int64]) -> None:
        self.start[rows] = INT64_MAX
        self.end[rows] = INT64_MIN
        self.dirty[rows] = False

    def _grow(self, size: int) -> None:
        def grown(array: npt.NDArray[T]) -> npt.NDArray[T]:
            out = np.zeros(size, array.dtype)
            out[:len(array)] = array
            return out

        self.start, self.end = grown(self.start), grown(self.end)
        self.count, self.errors, self.dirty = grown(self.count), grown(self.errors), grown(self.dirty)
        self._shared = False

    def add(self, trace: npt.NDArray[np.int32], start: npt.NDArray[np.int64], end: npt.NDArray[np.int64],
            status: npt.NDArray[np.int32]) -> None:
        self._unshare()
        np.minimum.at(self.start, trace, start)
        np.maximum.at(self.end, trace, end)
        np.add.at(self.count, trace, 1)
        errors = trace[status == ERROR]
        if len(errors):
            np.add.at(self.errors, errors, 1)

    def remove(self, trace: npt.NDArray[np.int32], status: npt.NDArray[np.int32]) -> None:
        """Forget evicted spans; rows left without spans die (their ids stay until `compact`)."""
        self._unshare()
        np.add.at(self.count, trace, -1)
        errors = trace[status == ERROR]
        if len(errors):
            np.add.at(self.errors, errors, -1)
        touched = np.unique(trace)
        self.dirty[touched] = True
        self.live -= int((self.count[touched] == 0).sum())

    def needs_compaction(self, budget_bytes: float = float("inf")) -> bool:
        """Whether dead rows are worth recycling: many of them, or a share of a memory budget.

        A row's cost is measured, not assumed: the pure-Python id table spends several times
        what the compiled one does per row, and its dead rows must not crowd live spans out."""
        dead = len(self.ids) - self.live
        row_bytes = self.nbytes() / max(len(self.ids), 1)
        return dead > self.live // 4 and (dead > COMPACT_MIN_DEAD or row_bytes * dead > budget_bytes)

    def compact(self) -> npt.NDArray[np.int32]:
        """Renumber live rows densely (new tables and arrays); returns old row → new row."""
        keep = np.flatnonzero(self.count[:len(self.ids)] > 0)
        remap = np.zeros(max(len(self.ids), 1), np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        self.ids = self.ids.compacted(keep.astype(np.int64))
        size = max(1024, len(keep) * 5 // 4)
        for name in ("start", "end", "count", "errors", "dirty"):
            old = getattr(self, name)
            new = np.zeros(size, old.dtype)
            new[:len(keep)] = old[keep]
            setattr(self, name, new)
        self._shared = False
        self.live = len(keep)
        return remap

    def nbytes(self) -> int:
        arrays = self.start.nbytes + self.end.nbytes + self.count.nbytes + self.errors.nbytes + self.dirty.nbytes
        return arrays + self.ids.nbytes()
