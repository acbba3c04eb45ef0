"""Counts, errors and duration histograms per key (an operation, a service-graph edge) and time slot,
added to as spans arrive and read back for any window of slots: the store behind the live RED
numbers and the service graph, so a refresh never rescans the spans.

Durations go to Tempo's power-of-two buckets (kubespan.metrics.buckets), so a window's p50/p90/p99
are read exactly as `quantile_over_time(duration, …)` reads them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kubespan.metrics.buckets import bucket_bounds, log2_exponent, quantiles_per_cell

SLOT_NS = 5_000_000_000
"""Width of a slot: 5 s."""
MAX_SLOTS = 720
"""Slots kept: an hour of 5 s slots; older ones are dropped (counted)."""
MAX_KEYS = 20_000
"""Distinct keys kept; spans of further keys are counted in `overflow` and left out."""
BUCKETS = 48
"""Duration buckets: 2^0 … 2^47 ns (about 39 h); longer spans count in the last one."""

Ints = npt.NDArray[np.int64]


@dataclass
class _Block:
    """One slot: per key present, its count, errors and duration histogram."""

    keys: Ints
    counts: Ints
    errors: Ints
    hist: Ints  # (len(keys), BUCKETS)

    def merge(self, keys: Ints, counts: Ints, errors: Ints, hist: Ints) -> None:
        every = np.concatenate([self.keys, keys])
        distinct, where = np.unique(every, return_inverse=True)
        size = len(distinct)
        self.counts = np.bincount(where, np.concatenate([self.counts, counts]), size).astype(np.int64)
        self.errors = np.bincount(where, np.concatenate([self.errors, errors]), size).astype(np.int64)
        merged = np.zeros((size, BUCKETS), np.int64)
        np.add.at(merged, where, np.concatenate([self.hist, hist]))
        self.keys, self.hist = distinct.astype(np.int64), merged


@dataclass
class Totals:
    """A window's numbers per key (indexes into `SlotTable.key_list`)."""

    keys: Ints
    counts: Ints
    errors: Ints
    hist: Ints

    def quantile(self, p: float) -> npt.NDArray[np.float64]:
        """The p-quantile of each key's durations, in seconds (Tempo's Log2Quantile); 0 without spans."""
        rows, exps = np.nonzero(self.hist)
        return quantiles_per_cell(rows.astype(np.int64), bucket_bounds(exps.astype(np.int64), True),
                                  self.hist[rows, exps], len(self.keys), p)


@dataclass
class SlotTable:
    """Per key and slot: spans, error spans and a duration histogram; bounded in slots and keys."""

    slot_ns: int = SLOT_NS
    max_slots: int = MAX_SLOTS
    max_keys: int = MAX_KEYS
    keys: dict[Hashable, int] = field(default_factory=dict)
    key_list: list[Hashable] = field(default_factory=list)
    blocks: dict[int, _Block] = field(default_factory=dict)
    dropped_slots: int = 0
    overflow: int = 0

    def key_ids(self, keys: Sequence[Hashable]) -> Ints:
        """Ids of `keys`, adding new ones up to `max_keys` (-1 beyond, counted in `overflow` on add)."""
        out = np.empty(len(keys), np.int64)
        for i, key in enumerate(keys):
            found = self.keys.get(key)
            if found is None and len(self.key_list) < self.max_keys:
                found = self.keys[key] = len(self.key_list)
                self.key_list.append(key)
            out[i] = -1 if found is None else found
        return out

    def add(self, key_ids: Ints, start_ns: Ints, error: npt.NDArray[np.bool_], duration_ns: Ints) -> None:
        """Count spans: their key ids (-1: over the key limit), starts, error flags and durations."""
        known = key_ids >= 0
        self.overflow += int((~known).sum())
        if not known.all():
            key_ids, start_ns, error, duration_ns = key_ids[known], start_ns[known], error[known], duration_ns[known]
        if not len(key_ids):
            return
        slot = start_ns // self.slot_ns
        exps = np.where(duration_ns >= 2, np.minimum(log2_exponent(np.maximum(duration_ns, 2)), BUCKETS - 1), -1)
        for index in np.unique(slot).tolist():
            here = slot == index
            keys, where = np.unique(key_ids[here], return_inverse=True)
            counts = np.bincount(where, minlength=len(keys)).astype(np.int64)
            errors = np.bincount(where, error[here].astype(np.int64), len(keys)).astype(np.int64)
            hist = np.zeros((len(keys), BUCKETS), np.int64)
            timed = exps[here] >= 0
            np.add.at(hist, (where[timed], exps[here][timed]), 1)
            block = self.blocks.get(index)
            if block is None:
                self.blocks[index] = _Block(keys.astype(np.int64), counts, errors, hist)
            else:
                block.merge(keys.astype(np.int64), counts, errors, hist)
        while len(self.blocks) > self.max_slots:
            del self.blocks[min(self.blocks)]
            self.dropped_slots += 1

    def totals(self, start_ns: int, end_ns: int) -> Totals:
        """Sums over the slots that start in [start_ns, end_ns)."""
        blocks = self._blocks(start_ns, end_ns)
        if not blocks:
            empty = np.zeros(0, np.int64)
            return Totals(empty, empty, empty, np.zeros((0, BUCKETS), np.int64))
        keys, where = np.unique(np.concatenate([b.keys for b in blocks]), return_inverse=True)
        size = len(keys)
        counts = np.bincount(where, np.concatenate([b.counts for b in blocks]), size).astype(np.int64)
        errors = np.bincount(where, np.concatenate([b.errors for b in blocks]), size).astype(np.int64)
        hist = np.zeros((size, BUCKETS), np.int64)
        np.add.at(hist, where, np.concatenate([b.hist for b in blocks]))
        return Totals(keys.astype(np.int64), counts, errors, hist)

    def counts_per_slot(self, start_ns: int, end_ns: int) -> tuple[int, Ints]:
        """(first slot, spans per key × slot) over [start_ns, end_ns): the sparkline data."""
        first, last = start_ns // self.slot_ns, max(start_ns, end_ns - 1) // self.slot_ns
        table = np.zeros((len(self.key_list), last - first + 1), np.int64)
        for index, block in self.blocks.items():
            if first <= index <= last:
                table[block.keys, index - first] += block.counts
        return first, table

    def _blocks(self, start_ns: int, end_ns: int) -> list[_Block]:
        first, last = start_ns // self.slot_ns, (end_ns - 1) // self.slot_ns
        return [block for index, block in self.blocks.items() if first <= index <= last]
