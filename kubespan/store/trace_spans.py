"""Where the spans of a few traces are: only the chunks whose trace rows can hold them are read.

Trace rows are numbered in order of first arrival, and a trace's spans mostly arrive together, so each
chunk covers a narrow range of rows (`Chunk.trace_range`, computed once per chunk). Gathering a trace
(by id, a search's chosen traces, Jaeger's whole traces) reads the trace column of the chunks whose
range holds one of the wanted rows, instead of every span in the store. Spans that arrive late for an
old trace widen their chunk's range, which costs a read of that chunk, never a missed span.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kubespan.store.chunk import Chunk
from kubespan.store.snapshot import Snapshot

Positions = npt.NDArray[np.intp]


def trace_positions(snap: Snapshot, rows: npt.NDArray[np.integer]) -> list[tuple[Chunk, Positions]]:
    """Per chunk holding live spans of the trace `rows`: their indexes in that chunk, ascending, in chunk order."""
    rows = np.asarray(rows, np.int64)
    if not len(rows):
        return []
    wanted = np.sort(rows)
    lut: npt.NDArray[np.bool_] | None = None
    single = int(wanted[0]) if wanted[0] == wanted[-1] else None
    out = []
    for chunk, i in snap.live_slices():
        low, high = chunk.trace_range()
        k = int(np.searchsorted(wanted, low))
        if k == len(wanted) or wanted[k] > high:
            continue
        if single is not None:
            hit = chunk.trace[i:] == single
        else:
            if lut is None:
                lut = np.zeros(max(snap.n_traces, int(wanted[-1]) + 1) + 1, bool)
                lut[wanted] = True
            hit = lut[chunk.trace[i:]]
        where = np.flatnonzero(hit) + i
        if len(where):
            out.append((chunk, where))
    return out
