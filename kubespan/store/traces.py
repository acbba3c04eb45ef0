"""The trace table: one row per trace, kept up to date as spans arrive and leave."""

from __future__ import annotations

import numpy as np

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min
ERROR = 2


class TraceTable:
    """trace id → dense row; start/end/count/errors per row, updated per chunk with ufunc.at.

    Rows whose spans were partly evicted are marked dirty: their start/end are recomputed
    from the live spans when needed. Dead rows are recycled by `compact`.
    """

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}
        self.ids: list[bytes | None] = []
        self.start = np.zeros(0, np.int64)
        self.end = np.zeros(0, np.int64)
        self.count = np.zeros(0, np.int32)
        self.errors = np.zeros(0, np.int32)
        self.dirty = np.zeros(0, bool)
        self.live = 0

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, trace_ids: list[bytes]) -> list[int]:
        """Rows for each trace id, creating rows for new traces."""
        get = self.index.get
        rows = list(map(get, trace_ids))
        if None in rows:
            index = self.index
            new = [t for t in dict.fromkeys(trace_ids) if t not in index]
            first = len(self.ids)
            self.index.update(zip(new, range(first, first + len(new))))
            self.ids.extend(new)
            self.live += len(new)
            if first + len(new) > len(self.start):
                self._grow(max(1024, 2 * (first + len(new))))
            self.start[first:first + len(new)] = INT64_MAX
            self.end[first:first + len(new)] = INT64_MIN
            rows = list(map(get, trace_ids))
        return rows

    def _grow(self, size: int) -> None:
        def grown(array: np.ndarray) -> np.ndarray:
            out = np.zeros(size, array.dtype)
            out[:len(array)] = array
            return out

        self.start, self.end = grown(self.start), grown(self.end)
        self.count, self.errors, self.dirty = grown(self.count), grown(self.errors), grown(self.dirty)

    def add(self, trace: np.ndarray, start: np.ndarray, end: np.ndarray, status: np.ndarray) -> None:
        np.minimum.at(self.start, trace, start)
        np.maximum.at(self.end, trace, end)
        np.add.at(self.count, trace, 1)
        errors = trace[status == ERROR]
        if len(errors):
            np.add.at(self.errors, errors, 1)

    def remove(self, trace: np.ndarray, status: np.ndarray) -> None:
        """Forget evicted spans; traces left without spans are dropped."""
        np.add.at(self.count, trace, -1)
        errors = trace[status == ERROR]
        if len(errors):
            np.add.at(self.errors, errors, -1)
        touched = np.unique(trace)
        self.dirty[touched] = True
        for row in touched[self.count[touched] == 0].tolist():
            trace_id = self.ids[row]
            if trace_id is not None:
                del self.index[trace_id]
                self.ids[row] = None
                self.live -= 1

    def needs_compaction(self) -> bool:
        dead = len(self.ids) - self.live
        return dead > 65536 and dead > 2 * self.live

    def compact(self) -> np.ndarray:
        """Renumber live rows densely (new lists and arrays); returns old row → new row."""
        keep = np.flatnonzero(self.count[:len(self.ids)] > 0)
        remap = np.zeros(max(len(self.ids), 1), np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        ids = [self.ids[row] for row in keep.tolist()]
        self.index = {trace_id: row for row, trace_id in enumerate(ids)}
        self.ids = ids
        size = max(1024, 2 * len(keep))
        for name in ("start", "end", "count", "errors", "dirty"):
            old = getattr(self, name)
            new = np.zeros(size, old.dtype)
            new[:len(keep)] = old[keep]
            setattr(self, name, new)
        self.live = len(ids)
        return remap

    def nbytes(self) -> int:
        arrays = self.start.nbytes + self.end.nbytes + self.count.nbytes + self.errors.nbytes + self.dirty.nbytes
        return arrays + 8 * len(self.ids) + 130 * self.live  # list slot; dict entry + 16-byte key object
