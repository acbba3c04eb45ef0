"""Span-by-span access to stored spans for the indexed evaluator's generic paths.

Field expressions the indexes cannot answer (arithmetic, field against field, status
messages, events' and links' attributes, scopes, trace-level intrinsics) are evaluated
span by span through `SnapshotSource`, over live positions (ordinal − floor), like the
naive evaluator does over a batch. Pipelines and the union structural operators run
per trace over `snapshot_traces`.
"""

from __future__ import annotations

import bisect
from functools import cached_property
from typing import Any

import numpy as np
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.query.spansets import TraceSpans


class SnapshotSource:
    """`SpanSource` over a snapshot's live spans; position p is ordinal floor + p."""

    def __init__(self, snap: Any) -> None:
        self.snap = snap
        self.bases = [c.base for c in snap.chunks]
        self._messages: dict[int, Span] = {}
        self._scopes: dict[int, InstrumentationScope] = {}
        self._facts: SnapshotFacts | None = None

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
            found = self._messages[p] = Span.FromString(chunk.raw_span(i, self.snap.attributes))
        return found

    def scope(self, p: int) -> InstrumentationScope:
        chunk, i = self._at(p)
        index = int(chunk.scope[i])
        found = self._scopes.get(index)
        if found is None:
            found = self._scopes[index] = InstrumentationScope.FromString(self.snap.scopes[index].raw)
        return found

    def facts(self) -> SnapshotFacts:
        """Per-trace facts from the columns (root, start, end, children), each built when first read."""
        if self._facts is None:
            self._facts = SnapshotFacts(self.snap)
        return self._facts


class SnapshotFacts:
    """`TraceFacts` of a snapshot's live spans, each table built from the columns on first use."""

    def __init__(self, snap: Any) -> None:
        self.snap = snap
        self.trace = snap.column("trace").astype(np.int64)

    def _per_trace(self, values: np.ndarray, pick: Any) -> dict[int, int]:
        size = int(self.trace.max()) + 1 if len(self.trace) else 0
        best = np.full(size, np.iinfo(np.int64).max if pick is np.minimum else np.iinfo(np.int64).min, np.int64)
        pick.at(best, self.trace, values)
        present = np.flatnonzero(np.bincount(self.trace, minlength=size))
        return dict(zip(present.tolist(), best[present].tolist()))

    @cached_property
    def start(self) -> dict[int, int]:
        return self._per_trace(self.snap.column("start"), np.minimum)

    @cached_property
    def end(self) -> dict[int, int]:
        return self._per_trace(self.snap.column("end"), np.maximum)

    @cached_property
    def _roots(self) -> tuple[dict[int, str], dict[int, str]]:
        snap = self.snap
        roots = np.flatnonzero(snap.column("parent_id") == 0)[::-1]  # the first root of a trace wins: last written
        rows = self.trace[roots].tolist()
        names = [snap.names[i] for i in snap.column("name")[roots].tolist()]
        services = snap.resource_service[snap.scope_resource[snap.column("scope")[roots]]].tolist()
        return dict(zip(rows, names)), dict(zip(rows, [snap.services[i] for i in services]))

    @property
    def root_name(self) -> dict[int, str]:
        return self._roots[0]

    @property
    def root_service(self) -> dict[int, str]:
        return self._roots[1]

    @cached_property
    def children(self) -> dict[tuple[int, bytes], int]:
        parent_id = self.snap.column("parent_id")
        has_parent = np.flatnonzero(parent_id != 0)
        if not len(has_parent):
            return {}
        pairs, counts = np.unique(np.stack([self.trace[has_parent], parent_id[has_parent].astype(np.int64)]),
                                  axis=1, return_counts=True)
        return {(int(t), int(parent).to_bytes(8, "big", signed=True) if parent < 0 else int(parent).to_bytes(8, "big")):
                int(count) for (t, parent), count in zip(pairs.T.tolist(), counts.tolist())}


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


def selected_values(snap: Any, spansets: list[Any]) -> dict[int, list[tuple[str, tuple[str, Any]]]]:
    """Per ordinal of a spanset with `select(…)` fields: each field's TraceQL text and its typed value
    (`spansets` as `StoreReader.spansets` gives them, spans as ordinals)."""
    from kubespan.query.fields import field_value
    from kubespan.query.stringer import to_traceql

    src = SnapshotSource(snap)
    out: dict[int, list[tuple[str, tuple[str, Any]]]] = {}
    for spanset in spansets:
        if not spanset.selected:
            continue
        names = [to_traceql(field) for field in spanset.selected]
        for ordinal in spanset.spans:
            position = ordinal - snap.floor
            out[ordinal] = [(name, field_value(field, src, position, src.facts()))
                            for name, field in zip(names, spanset.selected)]
    return out
