"""What is stored, by name: attribute keys per scope, values of a key, services and operations.

Functions of one `Snapshot` (see `StoreReader`), counting live spans only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.model import value_text
from kubespan.store.rows import TagValue, ValueStats
from kubespan.store.snapshot import Snapshot
from kubespan.store.traces import ERROR

SCOPES = ("span", "resource")
INT64_MIN = np.iinfo(np.int64).min


class Tally:
    """Span count, error count and latest end per slot, accumulated chunk by chunk."""

    def __init__(self, size: int) -> None:
        self.spans = np.zeros(size, np.int64)
        self.errors = np.zeros(size, np.int64)
        self.last_end = np.full(size, INT64_MIN, np.int64)

    def add(self, slots: npt.NDArray[Any], status: npt.NDArray[np.int32], end: npt.NDArray[np.int64]) -> None:
        size = len(self.spans)
        self.spans += np.bincount(slots, minlength=size)[:size]
        self.errors += np.bincount(slots[status == ERROR], minlength=size)[:size]
        np.maximum.at(self.last_end, slots, end)

    def merge(self, slot: int, other: Tally, index: int) -> None:
        self.spans[slot] += other.spans[index]
        self.errors[slot] += other.errors[index]
        self.last_end[slot] = max(self.last_end[slot], other.last_end[index])


def _check_scope(scope: str | None) -> None:
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown attribute scope {scope!r}: use one of {', '.join(SCOPES)}")


def tally(snap: Snapshot, key: str, scope: str | None) -> tuple[list[int], Tally]:
    """The attribute ids of `key` and, per id, the live spans carrying it in `scope`."""
    _check_scope(scope)
    ids = snap.index.ids_of_key(key, snap.n_attributes)
    per_id = Tally(len(ids))
    if not ids:
        return ids, per_id
    slot = np.full(snap.n_attributes, -1, np.int64)
    slot[ids] = np.arange(len(ids))
    per_scope = Tally(len(snap.scope_resource) + 1)
    for chunk, i in snap.live_slices():
        if scope != "resource":
            hits = slot[chunk.attr_flat]
            positions = np.flatnonzero(hits >= 0)
            spans = np.searchsorted(chunk.attr_off, positions, "right") - 1
            live = spans >= i
            per_id.add(hits[positions[live]], chunk.status[spans[live]], chunk.end[spans[live]])
        if scope != "span":
            per_scope.add(chunk.scope[i:], chunk.status[i:], chunk.end[i:])
    for scope_id in np.flatnonzero(per_scope.spans[:-1]).tolist():
        for a in snap.resource_attrs[int(snap.scope_resource[scope_id])]:
            if slot[a] >= 0:
                per_id.merge(int(slot[a]), per_scope, scope_id)
    return ids, per_id


def attribute_stats(snap: Snapshot, key: str, limit: int = 1000) -> list[ValueStats]:
    """Per distinct value text of `key` (span and resource): spans, errors, latest end; most spans first."""
    ids, per_id = tally(snap, key, None)
    totals: dict[str, list[int]] = {}
    attributes = snap.attributes
    for index, spans, errors, last in zip(ids, per_id.spans.tolist(), per_id.errors.tolist(),
                                          per_id.last_end.tolist()):
        if spans:
            total = totals.setdefault(value_text(attributes[index].value), [0, 0, INT64_MIN])
            total[0] += spans
            total[1] += errors
            total[2] = max(total[2], last)
    ordered = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    return [ValueStats(text, spans, errors, last) for text, (spans, errors, last) in ordered]


def tag_values(snap: Snapshot, key: str, scope: str | None, limit: int) -> list[TagValue]:
    """Distinct typed values of `key` in `scope` with their span counts; most spans first."""
    ids, per_id = tally(snap, key, scope)
    found: dict[tuple[str, str], TagValue] = {}
    attributes = snap.attributes
    for index, spans in zip(ids, per_id.spans.tolist()):
        if spans:
            attribute = attributes[index]
            text = value_text(attribute.value)
            known = found.get((attribute.type, text))
            count = spans + (known.spans if known else 0)
            found[(attribute.type, text)] = TagValue(attribute.type, attribute.value, text, count)
    ordered = sorted(found.values(), key=lambda v: (-v.spans, v.text, v.type))
    return ordered[:limit]


def tag_names(snap: Snapshot) -> dict[str, list[str]]:
    """Attribute keys carried by live spans, per scope, sorted."""
    attributes = snap.attributes
    span_ids: set[int] = set()
    scopes: set[int] = set()
    for chunk, i in snap.live_slices():
        present = chunk.attribute_ids() if i == 0 else np.unique(chunk.attr_flat[chunk.attr_off[i]:])
        span_ids.update(present.tolist())
        scopes.update(np.unique(chunk.scope[i:]).tolist())
    resource_ids = {a for s in scopes for a in snap.resource_attrs[int(snap.scope_resource[s])]}
    return {
        "span": sorted({attributes[a].key for a in span_ids}),
        "resource": sorted({attributes[a].key for a in resource_ids}),
    }


def services(snap: Snapshot) -> list[str]:
    """Service names of the live spans, sorted."""
    scopes = _live_scopes(snap)
    service_ids = np.unique(snap.resource_service[snap.scope_resource[scopes]])
    return sorted({snap.services[s] for s in service_ids.tolist()})


def operations(snap: Snapshot, service: str | None) -> list[tuple[str, str]]:
    """(service, span name) pairs of the live spans, sorted."""
    pairs: set[tuple[int, int]] = set()
    scope_service = snap.resource_service[snap.scope_resource] if len(snap.scope_resource) else np.zeros(0, np.int32)
    for chunk, i in snap.live_slices():
        codes = scope_service[chunk.scope[i:]].astype(np.int64) << 32 | chunk.name[i:].astype(np.int64)
        pairs.update((c >> 32, c & 0xFFFFFFFF) for c in np.unique(codes).tolist())
    out = sorted((snap.services[s], snap.names[n]) for s, n in pairs)
    return out if service is None else [pair for pair in out if pair[0] == service]


def _live_scopes(snap: Snapshot) -> npt.NDArray[np.int32]:
    parts = [np.unique(chunk.scope[i:]) for chunk, i in snap.live_slices()]
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int32)
