"""Live span ordinals by start time, newest first, kept up to date as spans arrive.

Spans arrive in roughly the order they end, not the order they start, so the span list
needs a sort; sorting a million starts takes ~100 ms. This keeps the sorted order from
one search to the next: new spans are sorted alone and merged in, evicted ones dropped
(both linear), so a search pays a filter of the order by its matches, a few ms.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from kubespan.store.snapshot import Snapshot

Ordinals = npt.NDArray[np.int64]


class StartOrder:
    """Thread-safe; one per store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: Ordinals = np.zeros(0, np.int64)
        self._keys: npt.NDArray[np.int64] = np.zeros(0, np.int64)  # -start, ascending
        self._floor = 0
        self._stop = 0

    def ordinals(self, snap: Snapshot) -> Ordinals:
        """Every live ordinal of `snap`, newest start first (higher ordinal first among equals)."""
        with self._lock:
            if snap.floor > self._floor:
                keep = self._order >= snap.floor
                self._order, self._keys = self._order[keep], self._keys[keep]
                self._floor = snap.floor
            if snap.stop > self._stop:
                self._merge(snap)
            order, floor, stop = self._order, self._floor, self._stop
        if floor < snap.floor or stop > snap.stop:  # another search already saw a newer snapshot
            order = order[(order >= snap.floor) & (order < snap.stop)]
        return order

    def _merge(self, snap: Snapshot) -> None:
        first = max(self._stop, snap.floor)
        new = np.arange(first, snap.stop, dtype=np.int64)
        keys = -np.concatenate([c.start[max(0, first - c.base):] for c in snap.chunks if c.stop > first]).astype(
            np.int64)  # the new spans' starts only (not a column of every live span)
        order = np.lexsort((-new, keys))
        new, keys = new[order], keys[order]
        at = np.searchsorted(self._keys, keys, side="left")  # before equal keys: newer first
        self._order = np.insert(self._order, at, new)
        self._keys = np.insert(self._keys, at, keys)
        self._stop = snap.stop


def newest_first(order: Ordinals, matches: Ordinals, snap: Snapshot) -> Ordinals:
    """The `matches` (ascending ordinals of one search on `snap`) in `order`'s order."""
    if len(matches) == len(snap):
        return order
    picked = np.zeros(len(snap), bool)
    picked[matches - snap.floor] = True
    return order[picked[order - snap.floor]]
