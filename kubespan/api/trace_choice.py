"""Which traces a search answers: the candidates' rows, their bounds, the newest `limit` in a window.

Everything here reads the snapshot's trace table (start, end, live span count per trace row) and
scans span columns only for the traces whose bounds went stale (some of their spans were evicted).
A search matching every span (`{ }`, the "latest traces" listing) never looks at the spans at all:
its candidates are the table's live rows. Distinct rows come from a mask over the table, not
`np.unique` (which hashes: about 40× slower over a million span rows with numpy 2.4).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from kubespan.store.chunk_matches import ChunkMatches
from kubespan.store.reader import newest_first
from kubespan.store.trace_spans import trace_positions

Rows = npt.NDArray[np.int64]


def distinct_rows(rows: npt.NDArray, size: int) -> Rows:
    """The distinct trace rows in `rows`, ascending (`size`: the trace table's length)."""
    if not len(rows):
        return np.zeros(0, np.int64)
    seen = np.zeros(max(size, int(rows.max()) + 1), bool)
    seen[rows] = True
    return np.flatnonzero(seen).astype(np.int64)


def live_rows(snap) -> Rows:
    """Every trace row with a live span in the snapshot: the candidates of a search matching all spans."""
    return np.flatnonzero(snap.traces.count[:snap.n_traces] > 0).astype(np.int64)


def trace_bounds(reader, rows: Rows) -> tuple[Rows, Rows]:
    """(first start, last end) of each trace row, from its live spans (one pass over the columns)."""
    snap = reader.snap
    size = max(snap.n_traces, int(rows.max()) + 1) + 1
    first = np.full(size, np.iinfo(np.int64).max, np.int64)
    last = np.full(size, np.iinfo(np.int64).min, np.int64)
    for chunk, where in trace_positions(snap, rows):
        trace = chunk.trace[where]
        np.minimum.at(first, trace, chunk.start[where])
        np.maximum.at(last, trace, chunk.end[where])
    return first[rows], last[rows]


def table_bounds(reader, rows: Rows) -> tuple[Rows, Rows]:
    """(first start, last end) of each trace row: the trace table's, recomputed where evictions made
    them stale (`dirty`)."""
    snap = reader.snap
    starts, ends = snap.trace_start[rows], snap.traces.end[rows]
    dirty = snap.trace_dirty[rows]
    if dirty.any():
        fresh_start, fresh_end = trace_bounds(reader, rows[dirty])
        starts, ends = starts.copy(), ends.copy()
        starts[dirty], ends[dirty] = fresh_start, fresh_end
    return starts, ends


def choose_traces(reader, rows: Rows, start_s: int, end_s: int, limit: int,
                  durations_ms: tuple[int, int] = (0, 0),
                  keep: Callable[[Rows], Rows] | None = None) -> Rows:
    """Up to `limit` of `rows`, newest first, overlapping [start_s, end_s] (unix seconds; 0 = open) and
    lasting within `durations_ms` (0 = open). `keep` filters a page of the ordered rows further (a
    costlier test, run only until `limit` are kept)."""
    rows = np.asarray(rows, np.int64)
    if not len(rows):
        return rows
    starts, ends = table_bounds(reader, rows)
    ok = np.ones(len(rows), bool)
    if start_s and end_s:
        ok &= (starts <= end_s * 1_000_000_000) & (ends >= start_s * 1_000_000_000)
    min_ms, max_ms = durations_ms
    if min_ms:
        ok &= ends - starts >= min_ms * 1_000_000
    if max_ms:
        ok &= ends - starts <= max_ms * 1_000_000
    if not ok.all():
        rows, starts = rows[ok], starts[ok]
    if keep is None:
        return rows[newest_first(rows, starts, limit)][:limit]
    ordered = rows[newest_first(rows, starts, None)]
    out: list[Rows] = []
    taken = 0
    step = max(64, 4 * limit)
    for first in range(0, len(ordered), step):
        kept = keep(ordered[first:first + step])
        out.append(kept)
        taken += len(kept)
        if taken >= limit:
            break
    return (np.concatenate(out) if out else np.zeros(0, np.int64))[:limit]


def newest_matches(reader, matches: ChunkMatches, start_s: int, end_s: int, limit: int) -> Rows:
    """The matching ordinals a search for the newest `limit` traces needs, ascending: chunks are evaluated
    newest first until `limit` traces are chosen that all start after every span of the chunks left
    (no trace found only there could outrank them), then the chosen traces' matches in those older
    chunks are added. `choose_traces` over the answer's traces picks what it would over all matches.
    A stop is tried only after a chunk k where traces found so far can start after everything older
    (spans arriving in start order), and after 1, 3, 9, … chunks, so a search that cannot stop early
    (spans replayed out of time order) costs about what evaluating every chunk costs."""
    snap = reader.snap
    found: list[Rows] = []
    rows: list[npt.NDArray[np.int32]] = []
    next_check = len(matches) - 1
    for k in range(len(matches) - 1, 0, -1):
        chunk, _ = matches.slices[k]
        ordinals = matches.ordinals(k)
        if len(ordinals):
            found.append(ordinals)
            rows.append(chunk.trace[ordinals - chunk.base])
        if k > next_check or not rows or matches.newer_latest[k] <= matches.older_latest[k]:
            continue
        next_check = k - 2 * (len(matches) - k)
        chosen = choose_traces(reader, distinct_rows(np.concatenate(rows), snap.n_traces), start_s, end_s, limit)
        if len(chosen) < limit or int(table_bounds(reader, chosen)[0].min()) <= matches.older_latest[k]:
            continue
        older = [(c, where) for c, where in trace_positions(snap, chosen) if c.base < chunk.base]
        found.append(matches.ordinals_in(older))
        return np.sort(np.concatenate(found))
    return matches.all_ordinals()
