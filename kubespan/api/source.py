"""What the API reads from the store, through one `StoreReader` (one immutable snapshot) per answer.

Besides the reader's own methods: whole stored spans in bulk (protobuf messages with their resource
and scope, each request blob split once), and per-trace facts for many traces at once (start, end,
root span, spans and errors per service) in one pass over the columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.api.tempo_json import StoredSpan
from kubespan.api.throttle import checkpoint
from kubespan.store.chunk import Chunk
from kubespan.store.trace_spans import trace_positions

ERROR = 2


def stored_spans(reader, ordinals: Iterable[int]) -> list[StoredSpan]:
    """The spans at `ordinals` (evicted ones skipped) with their resource and scope, in ordinal order."""
    snap = reader.snap
    by_part: dict[tuple[int, int], list[tuple[int, int]]] = {}
    chunks: dict[int, Chunk] = {}
    for ordinal in sorted({int(o) for o in ordinals}):
        found = snap.locate(ordinal)
        if found is None:
            continue
        chunk, i = found
        part = chunk.part_of(i)
        chunks[id(chunk)] = chunk
        by_part.setdefault((id(chunk), part), []).append((ordinal, i))
    resources: dict[int, Resource] = {}
    scopes: dict[int, InstrumentationScope] = {}
    out = []
    for (chunk_key, part), items in by_part.items():
        chunk = chunks[chunk_key]
        raw = chunk.part_spans(part)
        first = int(chunk.raw_part_first[part])
        for count, (ordinal, i) in enumerate(items):
            if count % 256 == 255:
                checkpoint()
            scope_id = int(chunk.scope[i])
            entry = snap.scopes[scope_id]
            if scope_id not in scopes:
                scopes[scope_id] = InstrumentationScope.FromString(entry.raw)
            if entry.resource not in resources:
                resources[entry.resource] = Resource.FromString(snap.resources[entry.resource].raw)
            span = Span.FromString(chunk.with_attributes(i, raw[i - first], snap.attributes))
            out.append(StoredSpan(ordinal, span, resources[entry.resource],
                                  scopes[scope_id], entry.resource, scope_id,
                                  snap.resources[entry.resource].schema_url, entry.schema_url))
    out.sort(key=lambda s: s.ordinal)
    return out


def column_at(snap, name: str, ordinals: npt.NDArray[np.int64]) -> npt.NDArray:
    """Column `name` at `ordinals` (ascending), gathered chunk by chunk: no copy of the whole column."""
    parts = []
    for chunk, _ in snap.live_slices():
        lo, hi = np.searchsorted(ordinals, [chunk.base, chunk.stop])
        if hi > lo:
            parts.append(getattr(chunk, name)[ordinals[lo:hi] - chunk.base])
    if not parts:
        return np.zeros(0, np.int32 if name == "trace" else np.int64)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


@dataclass(slots=True)
class TraceFacts:
    """What a search result says about a whole trace."""

    trace_id: bytes
    start: int
    end: int
    root_service: str | None  # None: no span without a parent is stored
    root_name: str
    services: dict[str, list[int]] = field(default_factory=dict)  # service -> [spans, errors]
    order: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # ordinal -> stored-order key

    def ranked(self, ordinals: Iterable[int]) -> list[int]:
        """`ordinals` of this trace in its stored order: resources, then scopes, by first arrival; arrival."""
        return sorted(ordinals, key=lambda o: self.order.get(o, (1 << 62, 0, o)))


def trace_facts(reader, rows: npt.NDArray[np.int64]) -> dict[int, TraceFacts]:
    """Facts about the traces at `rows` (trace table rows), from every live span they have."""
    snap = reader.snap
    out: dict[int, TraceFacts] = {}
    if not len(rows):
        return out
    scope_service = snap.resource_service[snap.scope_resource] if len(snap.scope_resource) else np.zeros(0, np.int32)
    cols: dict[str, list[npt.NDArray]] = {k: [] for k in ("trace", "start", "end", "parent", "status", "service",
                                                          "name", "ordinal", "scope")}
    for chunk, where in trace_positions(snap, rows):
        cols["trace"].append(chunk.trace[where])
        cols["start"].append(chunk.start[where])
        cols["end"].append(chunk.end[where])
        cols["parent"].append(chunk.parent_id[where])
        cols["status"].append(chunk.status[where])
        cols["service"].append(scope_service[chunk.scope[where]])
        cols["name"].append(chunk.name[where])
        cols["scope"].append(chunk.scope[where])
        cols["ordinal"].append(where.astype(np.int64) + chunk.base)
    if not cols["trace"]:
        return out
    c = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((c["ordinal"], c["trace"]))
    c = {k: v[order] for k, v in c.items()}
    bounds = np.flatnonzero(np.diff(c["trace"])) + 1
    starts = np.concatenate(([0], bounds))
    stops = np.concatenate((bounds, [len(c["trace"])]))
    first = np.minimum.reduceat(c["start"], starts).tolist()
    last = np.maximum.reduceat(c["end"], starts).tolist()
    roots = np.flatnonzero(c["parent"] == 0)  # each trace's first span without a parent, by arrival
    if len(roots):
        at = np.minimum(np.searchsorted(roots, starts), len(roots) - 1)
        root = np.where((roots[at] >= starts) & (roots[at] < stops), roots[at], -1).tolist()
    else:
        root = [-1] * len(starts)
    per_service = _service_counts(c["service"], c["status"], starts, stops)
    services, names, ids = snap.services, snap.names, snap.trace_ids
    resources = snap.scope_resource[c["scope"]].tolist()
    ordinals, scope_ids = c["ordinal"].tolist(), c["scope"].tolist()
    service_col, name_col = c["service"], c["name"]
    for count, (row, a, b) in enumerate(zip(c["trace"][starts].tolist(), starts.tolist(), stops.tolist())):
        if count % 64 == 63:
            checkpoint()
        r = root[count]
        facts = TraceFacts(ids[row] or b"", first[count], last[count],
                           services[int(service_col[r])] if r >= 0 else None, names[int(name_col[r])] if r >= 0 else "")
        facts.services = {services[s]: [spans, errors] for s, spans, errors in per_service[count]}
        resource_rank: dict[int, int] = {}
        scope_rank: dict[int, int] = {}
        for i in range(a, b):
            facts.order[ordinals[i]] = (resource_rank.setdefault(resources[i], len(resource_rank)),
                                        scope_rank.setdefault(scope_ids[i], len(scope_rank)), ordinals[i])
        out[row] = facts
    return out


def _service_counts(service: npt.NDArray, status: npt.NDArray, starts: npt.NDArray, stops: npt.NDArray
                    ) -> list[list[tuple[int, int, int]]]:
    """Per group of spans [starts[g], stops[g]): (service id, spans, errors), by service id."""
    group = np.repeat(np.arange(len(starts), dtype=np.int64), stops - starts)
    key = group * (int(service.max(initial=0)) + 1) + service
    order = np.argsort(key, kind="stable")
    key = key[order]
    edges = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1))
    spans = np.diff(np.concatenate((edges, [len(key)])))
    errors = np.add.reduceat((status[order] == ERROR).astype(np.int64), edges) if len(edges) else edges
    out: list[list[tuple[int, int, int]]] = [[] for _ in range(len(starts))]
    for g, s, n, e in zip(group[order][edges].tolist(), service[order][edges].tolist(), spans.tolist(),
                          errors.tolist()):
        out[g].append((s, n, e))
    return out
