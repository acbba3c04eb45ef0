"""Span-by-span access to stored spans for the indexed evaluator's generic paths.

Field expressions the indexes cannot answer (arithmetic, field against field, status
messages, events' and links' attributes, scopes, trace-level intrinsics) are evaluated
span by span through `SnapshotSource`, over live positions (ordinal − floor), like the
naive evaluator does over a batch. Pipelines and the union structural operators run
per trace over `snapshot_traces`.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.query.fields import TraceFacts
from kubespan.query.spansets import TraceSpans


class SnapshotSource:
    """`SpanSource` over a snapshot's live spans; position p is ordinal floor + p."""

    def __init__(self, snap: Any) -> None:
        self.snap = snap
        self.bases = [c.base for c in snap.chunks]
        self._messages: dict[int, Span] = {}
        self._scopes: dict[int, InstrumentationScope] = {}
        self._facts: TraceFacts | None = None

    def _at(self, p: int) -> tuple[Any, int]:
        ordinal = self.snap.floor + p
        chunk = self.snap.chunks[bisect.bisect_right(self.bases, ordinal) - 1]
        return chunk, ordinal - chunk.base

    def trace_key(self, p: int) -> Any:
        chunk, i = self._at(p)
        return int(chunk.trace[i])

    def trace_id(self, p: int) -> bytes:
        return self.snap.trace_ids[self.trace_key(p)] or b""

    def span_id(self, p: int) -> bytes:
        chunk, i = self._at(p)
        return int(chunk.span_id[i]).to_bytes(8, "big")

    def parent_id(self, p: int) -> bytes:
        chunk, i = self._at(p)
        parent = int(chunk.parent_id[i])
        return parent.to_bytes(8, "big") if parent else b""

    def name(self, p: int) -> str:
        chunk, i = self._at(p)
        return str(self.snap.names[chunk.name[i]])

    def _resource(self, p: int) -> int:
        chunk, i = self._at(p)
        return int(self.snap.scope_resource[chunk.scope[i]])

    def service(self, p: int) -> str:
        return str(self.snap.services[self.snap.resource_service[self._resource(p)]])

    def kind(self, p: int) -> int:
        chunk, i = self._at(p)
        return int(chunk.kind[i])

    def status(self, p: int) -> int:
        chunk, i = self._at(p)
        return int(chunk.status[i])

    def start(self, p: int) -> int:
        chunk, i = self._at(p)
        return int(chunk.start[i])

    def end(self, p: int) -> int:
        chunk, i = self._at(p)
        return int(chunk.end[i])

    def attributes(self, p: int) -> list[tuple[str, Any]]:
        chunk, i = self._at(p)
        attributes = self.snap.attributes
        flat = chunk.attr_flat[chunk.attr_off[i]:chunk.attr_off[i + 1]].tolist()
        return [(attributes[a].key, attributes[a].value) for a in flat]

    def resource_attributes(self, p: int) -> list[tuple[str, Any]]:
        attributes = self.snap.attributes
        return [(attributes[a].key, attributes[a].value) for a in self.snap.resource_attrs[self._resource(p)]]

    def message(self, p: int) -> Span:
        found = self._messages.get(p)
        if found is None:
            chunk, i = self._at(p)
            found = self._messages[p] = Span.FromString(chunk.raw_span(i))
        return found

    def scope(self, p: int) -> InstrumentationScope:
        chunk, i = self._at(p)
        index = int(chunk.scope[i])
        found = self._scopes.get(index)
        if found is None:
            found = self._scopes[index] = InstrumentationScope.FromString(self.snap.scopes[index].raw)
        return found

    def facts(self) -> TraceFacts:
        """Per-trace facts from the columns (vectorised: root, start, end, children)."""
        if self._facts is None:
            self._facts = snapshot_facts(self.snap)
        return self._facts


def snapshot_facts(snap: Any) -> TraceFacts:
    trace = snap.column("trace").astype(np.int64)
    start, end = snap.column("start"), snap.column("end")
    parent_id = snap.column("parent_id")
    facts = TraceFacts({}, {}, {}, {}, {})
    if not len(trace):
        return facts
    size = int(trace.max()) + 1
    first = np.full(size, np.iinfo(np.int64).max, np.int64)
    last = np.full(size, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(first, trace, start)
    np.maximum.at(last, trace, end)
    present = np.flatnonzero(np.bincount(trace, minlength=size))
    facts.start.update(zip(present.tolist(), first[present].tolist()))
    facts.end.update(zip(present.tolist(), last[present].tolist()))
    source = SnapshotSource.__new__(SnapshotSource)
    source.snap, source.bases = snap, [c.base for c in snap.chunks]
    roots = np.flatnonzero(parent_id == 0)
    for p in roots[::-1].tolist():  # the first root of a trace wins
        key = int(trace[p])
        facts.root_name[key], facts.root_service[key] = source.name(p), source.service(p)
    has_parent = np.flatnonzero(parent_id != 0)
    pairs, counts = np.unique(np.stack([trace[has_parent], parent_id[has_parent].astype(np.int64)]),
                              axis=1, return_counts=True) if len(has_parent) else (np.zeros((2, 0)), [])
    for (t, parent), count in zip(pairs.T.tolist(), np.asarray(counts).tolist()):
        facts.children[(int(t), int(parent).to_bytes(8, "big", signed=True) if parent < 0
                        else int(parent).to_bytes(8, "big"))] = int(count)
    return facts


def snapshot_traces(snap: Any, positions: np.ndarray | None = None) -> list[TraceSpans]:
    """Traces of the live spans (or of the traces holding `positions`), parents resolved by span id."""
    trace = snap.column("trace")
    if positions is not None:
        wanted = np.zeros(int(trace.max()) + 1 if len(trace) else 1, bool)
        wanted[trace[positions]] = True
        members = np.flatnonzero(wanted[trace])
    else:
        members = np.arange(len(trace))
    if not len(members):
        return []
    from kubespan.store.engine_structure import parent_positions

    span_id, parent_id = snap.column("span_id")[members], snap.column("parent_id")[members]
    parent = parent_positions(trace[members], span_id, parent_id)
    order = np.argsort(trace[members], kind="stable")
    bounds = np.flatnonzero(np.diff(trace[members][order])) + 1
    out = []
    members_list, parent_list, root_list = members.tolist(), parent.tolist(), (parent_id == 0).tolist()
    for group in np.split(order, bounds):
        spans = [members_list[g] for g in group.tolist()]
        out.append(TraceSpans(spans, {members_list[g]: (members_list[parent_list[g]] if parent_list[g] >= 0 else -1)
                                      for g in group.tolist()},
                              {members_list[g]: root_list[g] for g in group.tolist()}))
    return out
