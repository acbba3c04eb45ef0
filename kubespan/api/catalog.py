"""Tag names and values for the tag endpoints, over all live spans or a subset (a window, a `q`).

Span and resource attributes come from the store's columns (attribute ids). Event, link and
instrumentation-scope attributes are not columns: they are read from the stored spans themselves,
once per chunk (chunks are immutable), newest chunks first and at most `EXTRA_SCAN_SPANS` spans per
answer, the way Tempo bounds a tag query by the bytes it reads.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.api.throttle import checkpoint

EXTRA_SCAN_SPANS = 200_000
TypedValue = tuple[str, Any]  # ("string" | "int" | "float" | "bool", value)


def positions_of(snap, ordinals: npt.NDArray[np.int64] | None):
    """(chunk, positions in the chunk) of the live spans, or of `ordinals` (ascending) only."""
    for chunk, i in snap.live_slices():
        if ordinals is None:
            yield chunk, np.arange(i, chunk.n)
            continue
        lo, hi = np.searchsorted(ordinals, [chunk.base + i, chunk.stop])
        if hi > lo:
            yield chunk, ordinals[lo:hi] - chunk.base


def span_attribute_ids(snap, ordinals: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int32]:
    """Distinct attribute ids on the spans (all live ones, or `ordinals`)."""
    parts = []
    for chunk, where in positions_of(snap, ordinals):
        off = chunk.attr_off
        if len(where) == chunk.n:
            parts.append(np.unique(chunk.attr_flat))
            continue
        lengths = off[where + 1] - off[where]
        total = int(lengths.sum())
        if not total:
            continue
        starts = np.repeat(off[where] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        parts.append(np.unique(chunk.attr_flat[starts + np.arange(total)]))
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int32)


def span_keys(snap, ordinals: npt.NDArray[np.int64]) -> set[str]:
    """Attribute keys on the spans at `ordinals` (through the index: a few keys, not every value)."""
    present = span_attribute_ids(snap, ordinals)
    if not len(present):
        return set()
    return snap.index.keys_of(present)


def present_ids(snap, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The attribute `ids` that at least one live span carries. Whole chunks are answered from their
    sorted attribute index (the one equality queries build and keep), so a key's few values cost a
    binary search per chunk instead of a pass over every attribute of every span. Newest chunks
    first: values are asked for newest first, and new values sit on new spans."""
    if not len(ids):
        return ids
    ids = np.unique(ids)
    found = np.zeros(len(ids), bool)
    for chunk, i in reversed(list(snap.live_slices())):
        todo = ~found
        if not todo.any():
            break
        wanted = ids[todo]
        order = chunk.attr_order() if i == 0 else None
        if order is not None:
            flat = chunk.attr_flat
            at = np.searchsorted(flat, wanted, sorter=order)
            hit = at < len(flat)
            hit[hit] = flat[order[at[hit]]] == wanted[hit]
        else:
            hit = np.isin(wanted, chunk.attr_flat[chunk.attr_off[i]:])
        found[np.flatnonzero(todo)[hit]] = True
    return ids[found]


MAX_VALUE_BYTES = 1_000_000
"""Tempo's `max_bytes_per_tag_values_query`: a tag-values answer stops growing past this much text."""


def key_values(snap, key: str, scope: str, ordinals: npt.NDArray[np.int64] | None, limit: int = 0) -> set:
    """Typed values of `key` on the spans at `ordinals` (all live spans if None; span attributes) or on
    their resources; newest values first, at most `limit` (0: no count limit) and `MAX_VALUE_BYTES`."""
    ids = _ids_of_key(snap, key)[::-1]
    out: set = set()
    if not len(ids):
        return out
    resource_ids = resource_attribute_ids(snap, live_scopes(snap, ordinals)) if scope in ("resource", "any") else set()
    span_ids = span_attribute_ids(snap, ordinals) if ordinals is not None and scope in ("span", "any") else None
    size, batch, first = 0, max(256, 4 * limit), 0
    while first < len(ids):
        checkpoint()
        part = ids[first:first + batch]
        first += batch
        found = set(part[np.isin(part, list(resource_ids))].tolist()) if resource_ids else set()
        if scope in ("span", "any"):
            present = present_ids(snap, part) if span_ids is None else part[np.isin(part, span_ids)]
            found.update(present.tolist())
        for a in sorted(found, reverse=True):
            attribute = snap.attributes[a]
            value = typed(attribute.type, attribute.value)
            if value is not None and value not in out:
                out.add(value)
                size += len(str(value[1])) + 24
                if (limit and len(out) >= limit) or size >= MAX_VALUE_BYTES:
                    return out
        batch = min(batch * 2, 65_536)
    return out


def _ids_of_key(snap, key: str) -> npt.NDArray[np.int64]:
    """The attribute ids of `key` in the snapshot, oldest first (the index's `ids_of_key`, kept an array)."""
    index = snap.index
    key_id = index.storage.key_id(key)
    if key_id < 0:
        return np.zeros(0, np.int64)
    key_of = index.key_of[:min(snap.n_attributes, len(index.key_of))]
    return np.flatnonzero(key_of == key_id).astype(np.int64, copy=False)


def live_scopes(snap, ordinals: npt.NDArray[np.int64] | None) -> npt.NDArray[np.int32]:
    """The scope ids of the live spans (or of `ordinals`), ascending: a flag per scope id, not `np.unique`
    (which hashes: 13 ms per million spans against 2 ms)."""
    seen = np.zeros(max(len(snap.scope_resource), 1), bool)
    for chunk, where in positions_of(snap, ordinals):
        seen[chunk.scope[where]] = True
    return np.flatnonzero(seen).astype(np.int32)


def resource_attribute_ids(snap, scopes: npt.NDArray[np.int32]) -> set[int]:
    resources = {int(snap.scope_resource[s]) for s in scopes.tolist()}
    return {a for r in resources for a in snap.resource_attrs[r]}


def typed(attribute_type: str, value: Any) -> TypedValue | None:
    """An attribute value as Tempo types it (arrays, maps and bytes are not offered)."""
    if attribute_type == "str":
        return ("string", value)
    if attribute_type == "int":
        return ("int", value)
    if attribute_type == "double":
        return ("float", value)
    if attribute_type == "bool":
        return ("bool", value)
    return None


def any_typed(any_value) -> TypedValue | None:
    kind = any_value.WhichOneof("value")
    if kind == "string_value":
        return ("string", any_value.string_value)
    if kind == "int_value":
        return ("int", any_value.int_value)
    if kind == "double_value":
        return ("float", any_value.double_value)
    if kind == "bool_value":
        return ("bool", any_value.bool_value)
    return None


@dataclass
class Extras:
    """Event and link attributes, event names and status messages of some spans."""

    event: dict[str, set[TypedValue]] = field(default_factory=lambda: defaultdict(set))
    link: dict[str, set[TypedValue]] = field(default_factory=lambda: defaultdict(set))
    status_messages: set[str] = field(default_factory=set)

    def merge(self, other: Extras) -> None:
        for mine, theirs in ((self.event, other.event), (self.link, other.link)):
            for key, values in theirs.items():
                mine[key] |= values
        self.status_messages |= other.status_messages


def _read(raw_spans: list[bytes], spans: list[int]) -> Extras:
    out = Extras()
    for i in spans:
        span = Span.FromString(raw_spans[i])
        for event in span.events:
            for kv in event.attributes:
                value = any_typed(kv.value)
                if value is not None:
                    out.event[kv.key].add(value)
        for link in span.links:
            for kv in link.attributes:
                value = any_typed(kv.value)
                if value is not None:
                    out.link[kv.key].add(value)
        if span.status.code:
            out.status_messages.add(span.status.message)
    return out


class ExtraCatalog:
    """Per chunk, memoised: the `Extras` of all its spans, read from their wire bytes."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, int, Extras]] = {}
        self._lock = threading.Lock()

    def extras(self, snap, ordinals: npt.NDArray[np.int64] | None = None) -> Extras:
        """Of all live spans (memoised per chunk, newest first, bounded), or of `ordinals` (read now)."""
        out = Extras()
        budget = EXTRA_SCAN_SPANS
        pairs = list(positions_of(snap, ordinals))
        for chunk, where in reversed(pairs):
            checkpoint()
            if budget <= 0:
                break
            if ordinals is None and where[0] == 0:
                out.merge(self._whole(chunk))
            else:
                out.merge(self._some(chunk, where[-budget:]))
            budget -= len(where)
        if ordinals is None:
            self._forget(snap)
        return out

    def _whole(self, chunk) -> Extras:
        key = id(chunk)
        with self._lock:
            memo = self._memo.get(key)
        if memo is not None and memo[0] is chunk and memo[1] == chunk.n:
            return memo[2]
        extras = self._some(chunk, np.arange(chunk.n))
        with self._lock:
            self._memo[key] = (chunk, chunk.n, extras)
        return extras

    @staticmethod
    def _some(chunk, where: npt.NDArray) -> Extras:
        out = Extras()
        first = chunk.raw_part_first
        parts = np.searchsorted(first, where, "right") - 1
        for part in np.unique(parts).tolist():
            raw = chunk.part_spans(part)  # without attributes: only events, links and status are read
            base = int(first[part])
            out.merge(_read(raw, (where[parts == part] - base).tolist()))
        return out

    def _forget(self, snap) -> None:
        alive = {id(c) for c in snap.chunks}
        with self._lock:
            for key in [k for k in self._memo if k not in alive]:
                del self._memo[key]


def scope_attributes(snap, scopes: npt.NDArray[np.int32]) -> tuple[dict[str, set[TypedValue]], set[str], set[str]]:
    """Instrumentation scopes of `scopes`: their attributes, names and versions."""
    attributes: dict[str, set[TypedValue]] = defaultdict(set)
    names: set[str] = set()
    versions: set[str] = set()
    for s in scopes.tolist():
        scope = InstrumentationScope.FromString(snap.scopes[s].raw)
        if scope.name:
            names.add(scope.name)
        if scope.version:
            versions.add(scope.version)
        for kv in scope.attributes:
            value = any_typed(kv.value)
            if value is not None:
                attributes[kv.key].add(value)
    return attributes, names, versions


def event_names(snap, ordinals: npt.NDArray[np.int64] | None) -> set[str]:
    names: set[int] = set()
    for chunk, where in positions_of(snap, ordinals):
        off = chunk.event_off
        if len(where) == chunk.n:
            names.update(np.unique(chunk.event_flat).tolist())
            continue
        for p in where[(off[where + 1] - off[where]) > 0].tolist():
            names.update(chunk.event_flat[off[p]:off[p + 1]].tolist())
    return {snap.event_names[n] for n in names}


def span_names(snap, ordinals: npt.NDArray[np.int64] | None) -> set[str]:
    ids: set[int] = set()
    for chunk, where in positions_of(snap, ordinals):
        ids.update(np.unique(chunk.name[where]).tolist())
    return {snap.names[n] for n in ids}
