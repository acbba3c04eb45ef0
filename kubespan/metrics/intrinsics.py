"""Trace- and scope-level intrinsics per span, vectorised over a snapshot: the trace's root name and
service (`""` when its root is not stored), the span's child count, the trace's duration, and the
instrumentation scope's name and version. Used by `by(…)` and `compare()`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.metrics.series import LabelValue

Coded = tuple[list[LabelValue], npt.NDArray[np.int64]]
"""(distinct values, code per selected span)."""
LABELS = {"root_name": "rootName", "root_service": "rootServiceName", "child_count": "span:childCount",
          "trace_duration": "traceDuration", "scope_name": "instrumentation:name",
          "scope_version": "instrumentation:version", "status_message": "statusMessage", "trace": "trace:id",
          "span": "span:id", "parent": "span:parentID", "event": "event:name"}
"""How Tempo names these intrinsics in series labels."""


def _roots(snap: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(trace row of every live span, the position of its trace's first root span or -1)."""
    trace = snap.column("trace").astype(np.int64)
    roots = np.flatnonzero(snap.column("parent_id") == 0)
    root_of = np.full(int(trace.max()) + 1 if len(trace) else 1, -1, np.int64)
    root_of[trace[roots[::-1]]] = roots[::-1]  # the first root of a trace wins
    return trace, root_of[trace]


def root_values(snap: Any, rows: npt.NDArray[np.int64], which: str) -> Coded:
    """rootName (`which` = "root_name") or rootServiceName ("root_service") of the selected spans."""
    _, root = _roots(snap)
    root = root[rows]
    if which == "root_name":
        source, table = snap.column("name"), snap.names
    else:
        source = np.asarray(snap.resource_service)[np.asarray(snap.scope_resource)[snap.column("scope")]]
        table = snap.services
    raw = np.where(root >= 0, source[np.maximum(root, 0)], -1).astype(np.int64)
    distinct, codes = np.unique(raw, return_inverse=True)
    return [("string", table[i] if i >= 0 else "") for i in distinct.tolist()], codes.reshape(-1).astype(np.int64)


def child_counts(snap: Any, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """How many stored spans have each selected span as their parent."""
    from kubespan.store.engine import parent_positions

    trace = snap.column("trace").astype(np.int64)
    parent = parent_positions(trace, snap.column("span_id"), snap.column("parent_id"))
    return np.bincount(parent[parent >= 0], minlength=len(trace))[rows].astype(np.int64)


def trace_durations(snap: Any, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The duration of each selected span's trace (latest end − earliest start of its stored spans), ns."""
    trace = snap.column("trace").astype(np.int64)
    size = int(trace.max()) + 1 if len(trace) else 1
    first = np.full(size, np.iinfo(np.int64).max, np.int64)
    last = np.full(size, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(first, trace, snap.column("start"))
    np.maximum.at(last, trace, snap.column("end"))
    return (last - first)[trace[rows]]


def scope_values(snap: Any, scope_column: npt.NDArray[np.int64], which: str) -> Coded:
    """instrumentation:name (`which` = "scope_name") or :version ("scope_version") of the selected spans."""
    from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope

    part = "name" if which == "scope_name" else "version"
    texts = [getattr(InstrumentationScope.FromString(entry.raw), part) for entry in snap.scopes]
    distinct = sorted(set(texts))
    index = {text: i for i, text in enumerate(distinct)}
    lut = np.array([index[t] for t in texts] or [0], np.int64)
    return [("string", t) for t in distinct], lut[scope_column.astype(np.int64)]
