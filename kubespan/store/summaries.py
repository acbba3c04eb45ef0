"""The live spans of a few traces, and their summaries computed for all of them at once.

A screenful of the trace list asks for ~100 summaries; per trace, a dozen small numpy calls
cost ~50 µs, so they are computed over the gathered spans of every asked trace together
(reductions at the traces' boundaries), with Python only for what is per trace anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kubespan.store.chunk import Chunk
from kubespan.store.rows import TraceSummary
from kubespan.store.snapshot import Snapshot
from kubespan.store.traces import ERROR

I64 = npt.NDArray[np.int64]
_COLUMNS = ("start", "end", "span_id", "parent_id", "status", "scope", "name")


@dataclass(frozen=True, slots=True)
class TraceSpans:
    """Live spans of some trace rows, by (trace row, start, ordinal); `firsts`: where each trace begins."""

    trace: I64
    ordinals: I64
    start: I64
    end: I64
    span_id: npt.NDArray[np.uint64]
    parent_id: npt.NDArray[np.uint64]
    status: I64
    scope: I64
    name: I64
    firsts: npt.NDArray[np.intp]


SEARCHED_CHUNK_SPANS = 8192
"""Chunks at least this big find a trace's spans by a binary search over their sorted trace column."""


def spans_of_rows(snap: Snapshot, rows: npt.NDArray[np.int64]) -> list[tuple[Chunk, npt.NDArray[np.intp]]]:
    """Per chunk, the positions of the live spans of the trace `rows` (ascending, distinct). Chunks
    whose trace rows cannot hold one are skipped (new traces take new rows); big chunks are searched
    through `Chunk.trace_sorter`, small ones (the newest batches) scanned."""
    lowest, highest = int(rows[0]), int(rows[-1])
    lut: npt.NDArray[np.bool_] | None = None
    parts = []
    for chunk, i in snap.live_slices():
        first, last = chunk.trace_range()
        if last < lowest or first > highest:
            continue
        if chunk.n >= SEARCHED_CHUNK_SPANS:
            sorter = chunk.trace_sorter()
            lo = np.searchsorted(chunk.trace, rows, "left", sorter=sorter)
            lengths = np.searchsorted(chunk.trace, rows, "right", sorter=sorter) - lo
            total = int(lengths.sum())
            picks = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths - lo, lengths)
            where = sorter[picks]
            where = where[where >= i] if i else where
        else:
            if lut is None:
                lut = np.zeros(snap.n_traces + 1, bool)
                lut[rows] = True
            where = np.flatnonzero(lut[chunk.trace[i:]]) + i
        if len(where):
            parts.append((chunk, where))
    return parts


def gather(snap: Snapshot, rows: npt.NDArray[np.int64]) -> TraceSpans | None:
    """The live spans of the trace rows (None if none is stored)."""
    parts = spans_of_rows(snap, np.unique(rows))
    if not parts:
        return None
    trace = np.concatenate([c.trace[w] for c, w in parts]).astype(np.int64)
    cols = [np.concatenate([getattr(c, name)[w] for c, w in parts]) for name in _COLUMNS]
    ordinals = np.concatenate([w + c.base for c, w in parts]).astype(np.int64)
    order = np.lexsort((ordinals, cols[0], trace))
    trace = trace[order]
    start, end, span_id, parent_id, status, scope, name = (col[order] for col in cols)
    firsts = np.flatnonzero(np.concatenate(([True], trace[1:] != trace[:-1])))
    return TraceSpans(trace, ordinals[order], start.astype(np.int64), end.astype(np.int64), span_id, parent_id,
                      status.astype(np.int64), scope.astype(np.int64), name.astype(np.int64), firsts)


def summaries(snap: Snapshot, spans: TraceSpans) -> dict[int, TraceSummary]:
    """Per trace row gathered: its summary (root, services, bounds, counts)."""
    firsts = spans.firsts
    groups = len(firsts)
    counts = np.diff(np.append(firsts, len(spans.trace)))
    group_of = np.repeat(np.arange(groups), counts)
    last_end = np.maximum.reduceat(spans.end, firsts)
    errors = np.add.reduceat((spans.status == ERROR).astype(np.int64), firsts)
    roots = np.full(groups, len(spans.trace), np.int64)
    is_root = np.flatnonzero(spans.parent_id == 0)
    np.minimum.at(roots, group_of[is_root], is_root)  # each trace's first span without a parent
    service = snap.resource_service[snap.scope_resource[spans.scope]]
    width = len(snap.services) + 1
    names_of: list[set[str]] = [set() for _ in range(groups)]
    for pair in np.unique(group_of * width + service).tolist():
        names_of[pair // width].add(snap.services[pair % width])
    # per trace, Python values (a numpy scalar read costs as much as the rest of the loop)
    services, names, ordinals = service.tolist(), spans.name.tolist(), spans.ordinals.tolist()
    bounds = zip(spans.trace[firsts].tolist(), firsts.tolist(), counts.tolist(), roots.tolist(),
                 spans.start[firsts].tolist(), last_end.tolist(), errors.tolist())
    out = {}
    for group, (row, lo, count, root_at, first, last, error_count) in enumerate(bounds):
        root: int | None = root_at
        orphan = root_at == len(spans.trace)
        if orphan:  # the first span whose parent is not stored
            missing = np.flatnonzero(~np.isin(spans.parent_id[lo:lo + count], spans.span_id[lo:lo + count]))
            root = lo + int(missing[0]) if len(missing) else None
        out[row] = TraceSummary(
            trace_id=snap.trace_ids[row] or b"",
            root_service=snap.services[services[root]] if root is not None else "",
            root_name=snap.names[names[root]] if root is not None else "",
            start=first, end=last, duration=last - first, span_count=count, error_count=error_count,
            services=tuple(sorted(names_of[group])), root=ordinals[root] if root is not None else None,
            orphan_root=orphan and root is not None,
        )
    return out
