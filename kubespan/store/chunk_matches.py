"""A spanset filter's matches chunk by chunk, evaluated on demand, for searches that stop early.

A search that answers the newest `limit` traces need not evaluate the whole store: chunks hold spans
in arrival order, so it can evaluate the newest chunks first and stop once `limit` traces are found
that start after every span of the chunks left (`Chunk.latest_start`). The traces it keeps may have
matching spans in older chunks too; `ordinals_in` evaluates just the chunks holding them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kubespan.query.ast import Filter
from kubespan.query.limits import QueryCounters, QueryStopped
from kubespan.store.chunk import Chunk
from kubespan.store.engine import Evaluator
from kubespan.store.snapshot import Ordinals, Snapshot


class ChunkMatches:
    """The matches of one filter over one snapshot's live chunks (index 0 the oldest)."""

    def __init__(self, snap: Snapshot, root: Filter, evaluator: Evaluator,
                 counters: QueryCounters | None = None) -> None:
        self.snap = snap
        self.root = root
        self.evaluator = evaluator
        self.counters = counters  # counts a stopped evaluation, as `StoreReader.search` does
        self.slices = list(snap.live_slices())
        self._ordinals: dict[int, Ordinals] = {}
        latest = [chunk.latest_start() for chunk, _ in self.slices]
        self.older_latest = np.maximum.accumulate([-(1 << 63)] + latest)[:-1].tolist() if latest else []
        """Per chunk index k: the latest span start in chunks 0..k-1."""
        self.newer_latest = np.maximum.accumulate(latest[::-1])[::-1].tolist() if latest else []
        """Per chunk index k: the latest span start in chunks k.. (a trace found there starts no later)."""

    def __len__(self) -> int:
        return len(self.slices)

    def ordinals(self, k: int) -> Ordinals:
        """Ordinals of the matching live spans of chunk k, ascending (evaluated once)."""
        found = self._ordinals.get(k)
        if found is None:
            chunk, i = self.slices[k]
            deadline = self.evaluator.deadline
            try:
                mask = self.evaluator.expr(self.root.expr, chunk)[i:]
                deadline.advance(chunk.n - i)
                deadline.charge(chunk.n - i)
            except QueryStopped as stopped:
                if self.counters is not None:
                    self.counters.stopped(stopped)
                raise
            found = self._ordinals[k] = np.flatnonzero(mask).astype(np.int64) + chunk.base + i
        return found

    def all_ordinals(self) -> Ordinals:
        """Every matching live ordinal, ascending."""
        parts = [self.ordinals(k) for k in range(len(self.slices))]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def ordinals_in(self, parts: list[tuple[Chunk, npt.NDArray[np.intp]]]) -> Ordinals:
        """Ordinals of the matching spans among `parts` ((chunk, positions) as `trace_positions` gives)."""
        index = {id(chunk): k for k, (chunk, _) in enumerate(self.slices)}
        out = []
        for chunk, where in parts:
            matched = self.ordinals(index[id(chunk)])
            out.append(np.intersect1d(matched, where.astype(np.int64) + chunk.base, assume_unique=True))
        return np.concatenate(out) if out else np.zeros(0, np.int64)
