"""Structure between stored spans: parent links, ancestors, and the structural operators (numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from kubespan.query.limits import Deadline


def structural(op: str, left: np.ndarray, right: np.ndarray, trace: np.ndarray, snap: Any,
               deadline: Deadline | None = None) -> np.ndarray:
    """Right-hand spans in relation `op` (> >> < << ~, or their ! negations) with left-hand spans.

    As in Tempo, only spans connected to a root of their trace take part (vParquet's nested
    sets exist only for them): a trace whose root never arrived has no structure.
    """
    negate = op.startswith("!")
    base = op.lstrip("!")
    result = np.zeros(len(left), bool)
    size = len(snap.trace_ids) + 1
    scope = trace_flags(trace[right], size)
    if not negate:
        scope &= trace_flags(trace[left], size)
    where = np.flatnonzero(scope[trace])
    if not len(where):
        return result
    if deadline is not None:
        deadline.charge(48 * len(where))  # ids, parent ids, parent positions, sort order, flags
    span_id = snap.column("span_id")[where]
    parent_id = snap.column("parent_id")[where]
    parent = parent_positions(trace[where], span_id, parent_id)
    if deadline is not None:
        deadline.check()
    root = parent_id == 0
    connected = root | has_ancestor(parent, root)
    sub_left, sub_right = left[where] & connected, right[where] & connected
    if base == ">":
        hit = (parent >= 0) & sub_left[np.maximum(parent, 0)]
    elif base == ">>":
        hit = has_ancestor(parent, sub_left)
    elif base == "<":
        hit = np.zeros(len(where), bool)
        hit[parent[sub_left & (parent >= 0)]] = True
    elif base == "<<":
        hit = ancestors_of(parent, sub_left)
    elif base == "~":  # same parent; a trace's roots count as siblings too (Tempo's parent bound -1)
        _, local_trace = np.unique(trace[where], return_inverse=True)
        group = np.where(root, len(where) + local_trace, np.maximum(parent, 0))
        counts = np.bincount(group[sub_left], minlength=2 * len(where) + 1)
        hit = connected & (counts[group] - sub_left.astype(np.int64) > 0)
    else:
        raise ValueError(f"unknown structural operator {op}")
    result[where] = (hit != negate) & sub_right
    return result


def trace_flags(rows: np.ndarray, size: int) -> np.ndarray:
    """Boolean lookup table over trace rows: which rows occur in `rows` (a scatter, no sort)."""
    flags = np.zeros(size, bool)
    flags[rows] = True
    return flags


def parent_positions(trace: np.ndarray, span_id: np.ndarray, parent_id: np.ndarray) -> np.ndarray:
    """Position of each span's parent among these spans (-1 if absent); first span wins on duplicates."""
    order = np.argsort(span_id, kind="stable")
    ids = span_id[order]
    if len(ids) > 1 and bool((ids[1:] == ids[:-1]).any()):
        return _parent_positions_exact(trace, span_id, parent_id)
    found = np.minimum(np.searchsorted(ids, parent_id), len(ids) - 1)
    candidate = order[found]
    ok = (parent_id != 0) & (ids[found] == parent_id) & (trace[candidate] == trace)
    return np.where(ok, candidate, -1)


def _parent_positions_exact(trace: np.ndarray, span_id: np.ndarray, parent_id: np.ndarray) -> np.ndarray:
    """The general case (a span id used twice): search on (trace, dense rank of the id)."""
    n = len(trace)
    _, rank = np.unique(np.concatenate([span_id, parent_id]), return_inverse=True)
    width = np.int64(2 * n + 1)
    own = trace.astype(np.int64) * width + rank[:n]
    wanted = trace.astype(np.int64) * width + rank[n:]
    order = np.argsort(own, kind="stable")
    sorted_keys = own[order]
    found = np.minimum(np.searchsorted(sorted_keys, wanted, "left"), n - 1)
    ok = (parent_id != 0) & (sorted_keys[found] == wanted)
    return np.where(ok, order[found], -1)


def has_ancestor(parent: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Whether some proper ancestor is flagged, by pointer doubling (cycle safe)."""
    valid = parent >= 0
    up = np.where(valid, parent, -1)
    acc = np.zeros(len(parent), bool)
    acc[valid] = flag[up[valid]]
    for _ in range(64):
        valid = up >= 0
        if not valid.any():
            break
        target = up[valid]
        new_acc = acc.copy()
        new_acc[valid] |= acc[target]
        new_up = np.full(len(up), -1, up.dtype)
        new_up[valid] = up[target]
        acc, up = new_acc, new_up
    return acc


def ancestors_of(parent: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Spans that are a proper ancestor of some flagged span (each span visited once)."""
    marked = np.zeros(len(parent), bool)
    frontier = parent[flag & (parent >= 0)]
    while len(frontier):
        frontier = np.unique(frontier)
        frontier = frontier[~marked[frontier]]
        marked[frontier] = True
        frontier = parent[frontier]
        frontier = frontier[frontier >= 0]
    return marked
