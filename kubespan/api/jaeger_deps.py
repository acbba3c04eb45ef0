"""Jaeger's `/api/dependencies` as its memory store computes it (Jaeger v1.75.0, tests/golden/jaeger/).

Every trace that lies inside the window (its first start after `end − lookback`, its last end before
`end`, both strictly) contributes one call per span whose parent span is in the same trace: the parent
span's service → the span's service, a service calling itself included. Links come summed per pair.
"""

from __future__ import annotations

import numpy as np


def dependency_links(snap, start_ns: int, end_ns: int) -> list[dict]:
    """`[{"parent", "child", "callCount"}]`, sorted by parent and child (Jaeger's order is a Go map's)."""
    trace = snap.column("trace").astype(np.int64)
    if not len(trace):
        return []
    # a trace's extent as stored (spans evicted since included, as for a trace Jaeger keeps whole)
    inside = ((snap.traces.start > start_ns) & (snap.traces.end < end_ns))[trace]
    if not inside.any():
        return []
    trace = trace[inside]
    span_id, parent_id = snap.column("span_id")[inside], snap.column("parent_id")[inside]
    scope = snap.column("scope")[inside]
    service = snap.resource_service[snap.scope_resource[scope]] if len(scope) else np.zeros(0, np.int32)
    child = np.flatnonzero(parent_id != 0)
    parents = np.full(len(child), -1, np.int64)
    # spans by (span id, trace, stored order): each child's parent is the first span of its trace with
    # that id, as Jaeger's findServiceNameWithSpanId takes it
    order = np.lexsort((trace, span_id))
    ids = span_id[order]
    wanted = parent_id[child]
    needles = np.argsort(wanted, kind="stable")  # sorted needles: a cache-friendly searchsorted
    at = np.empty(len(child), np.int64)
    at[needles] = np.searchsorted(ids, wanted[needles])
    at_ok = np.minimum(at, len(ids) - 1)
    same_id = (at < len(ids)) & (ids[at_ok] == wanted)
    hit = same_id & (trace[order[at_ok]] == trace[child])
    parents[hit] = order[at_ok[hit]]
    for i in np.flatnonzero(same_id & ~hit).tolist():  # the id is in other traces too: find this trace's
        lo, hi = int(at[i]), int(np.searchsorted(ids, wanted[i], "right"))
        j = lo + int(np.searchsorted(trace[order[lo:hi]], trace[child[i]]))
        if j < hi and trace[order[j]] == trace[child[i]]:
            parents[i] = order[j]
    found = parents >= 0
    parents = parents[found]
    pairs = service[parents].astype(np.int64) << 32 | service[child[found]].astype(np.int64)
    codes, counts = np.unique(pairs, return_counts=True)
    names = snap.services
    links = [{"parent": names[int(c) >> 32], "child": names[int(c) & 0xFFFFFFFF], "callCount": int(k)}
             for c, k in zip(codes.tolist(), counts.tolist())]
    return sorted(links, key=lambda d: (d["parent"], d["child"]))
