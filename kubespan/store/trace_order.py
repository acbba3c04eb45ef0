"""`TraceOrder`: a list of trace rows ordered by a key (largest first, then the newest row),
sorted only as far as it is read.

A viewer shows a screenful of a 170,000-trace answer: sorting all of it (~20 ms, and more on
a busy machine) is wasted when the first hundred rows are what is drawn. The first `count`
positions are found with a partition (O(n)) and only those candidates are sorted; reading
further sorts a prefix twice as long, then everything. Every position read is exact: a row
left out of the sorted prefix has a smaller key than each row in it.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

FIRST_SORTED = 512
"""Positions sorted by the first read (a few screenfuls)."""


class TraceOrder:
    """Trace rows by (key, row), both descending; `rows` ascending as found, `keys` per row."""

    __slots__ = ("rows", "keys", "_prefix", "_complete", "_lock")

    def __init__(self, rows: npt.NDArray[np.intp], keys: npt.NDArray[np.int64]) -> None:
        self.rows = rows
        self.keys = keys
        self._prefix: npt.NDArray[np.intp] = rows[:0]
        self._complete = len(rows) == 0
        self._lock = threading.Lock()

    @classmethod
    def sorted(cls, rows_in_order: npt.NDArray[np.int64]) -> TraceOrder:
        """An order given whole (a folded list), kept as it is."""
        made = cls(rows_in_order, np.zeros(0, np.int64))
        made._prefix, made._complete = rows_in_order, True
        return made

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> int:
        return int(self.head(index + 1)[index])

    def head(self, count: int) -> npt.NDArray[np.intp]:
        """The rows at positions [0, count) (at least; a sorted prefix may be longer)."""
        prefix = self._prefix
        if len(prefix) >= count or self._complete:
            return prefix
        with self._lock:  # a worker and the UI thread may both read on
            if len(self._prefix) < count and not self._complete:
                self._extend(max(count, 2 * len(self._prefix), FIRST_SORTED))
            return self._prefix

    def _extend(self, count: int) -> None:
        rows, keys = self.rows, self.keys
        n = len(rows)
        if count >= n // 4:
            self._prefix = rows[np.lexsort((-rows, -keys))]
            self._complete = True
            return
        kth = np.partition(keys, n - count)[n - count]
        candidates = np.flatnonzero(keys >= kth)
        self._prefix = rows[candidates[np.lexsort((-rows[candidates], -keys[candidates]))]]

    def slice(self, start: int, stop: int) -> npt.NDArray[np.intp]:
        return self.head(stop)[start:stop]

    def array(self) -> npt.NDArray[np.intp]:
        """Every row in order (sorts the rest)."""
        return self.head(len(self.rows))

    def position(self, row: int) -> int | None:
        """Where `row` is in the order, None if it is not in it: counted, not sorted."""
        if not len(self.keys):  # given whole
            hits = np.flatnonzero(self._prefix == row)
            return int(hits[0]) if len(hits) else None
        at = np.searchsorted(self.rows, row)
        if at >= len(self.rows) or self.rows[at] != row:
            return None
        key = self.keys[at]
        return int(np.count_nonzero(self.keys > key)) + int(np.count_nonzero((self.keys == key) & (self.rows > row)))
