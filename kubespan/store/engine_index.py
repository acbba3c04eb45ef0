"""Index and scan helpers of the indexed evaluator: id sets over chunks, cached value scans, lookup tables."""

from __future__ import annotations

import bisect
import operator
from typing import Any, Callable, Sequence

import numpy as np

from kubespan.model import value_text
from kubespan.query.ast import Cond, Literal
from kubespan.query.limits import Deadline
from kubespan.store.chunk import Chunk

_NUMERIC_OPS: dict[str, Callable[..., Any]] = {"=": operator.eq, "!=": operator.ne, ">": operator.gt,
                                     ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_SMALL_ID_SET = 4
_BISECT_IDS = 16
"""Id sets up to this size are looked up in a chunk's sorted index by `bisect` (see `sorted_bounds`)."""
SCAN_CACHE_ENTRIES = 64
"""Predicate scans over attribute values kept per store (as-you-type queries make many)."""
CHECK_EVERY = 4096
"""Values scanned by a Python predicate between two deadline checks."""


def spans_with(flat: np.ndarray, off: np.ndarray, ids: np.ndarray | None, lut: np.ndarray | None) -> np.ndarray:
    """Per-span flag: does the span's slice of `flat` hold one of the ids? (a scan)"""
    n = len(off) - 1
    if lut is None and (ids is None or len(ids) == 0):
        return np.zeros(n, bool)
    if lut is not None:
        hit = lut[flat]
    else:
        assert ids is not None
        hit = flat == ids[0]
        for other in ids[1:]:
            hit |= flat == other
    return _mark(n, off, np.flatnonzero(hit))


def _mark(n: int, off: np.ndarray, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, bool)
    if len(positions):
        mask[np.searchsorted(off, positions.astype(off.dtype), "right") - 1] = True
    return mask


def sorted_bounds(flat: np.ndarray, order: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per id, the [lo, hi) range of `order` (the int32 permutation sorting `flat`) holding it.

    numpy's `searchsorted(..., sorter=order)` first copies an int32 `order` to intp: about 180 µs per
    600k attribute ids, per call, whatever the number of ids. A few ids are bisected in Python over the
    buffers instead (~10 µs each, no copy)."""
    if len(ids) > _BISECT_IDS or flat.dtype != np.int32 or order.dtype != np.int32:
        ids = ids.astype(flat.dtype)  # same dtype, or numpy casts (copies) the whole haystack
        return np.searchsorted(flat, ids, "left", sorter=order), np.searchsorted(flat, ids, "right", sorter=order)
    positions = np.ascontiguousarray(order).data
    value_at = np.ascontiguousarray(flat).data.__getitem__
    lo = np.zeros(len(ids), np.intp)
    hi = np.zeros(len(ids), np.intp)
    for k, wanted in enumerate(ids.tolist()):
        first = bisect.bisect_left(positions, wanted, key=value_at)
        lo[k], hi[k] = first, bisect.bisect_right(positions, wanted, first, key=value_at)
    return lo, hi


def indexed_spans(chunk: Chunk, ids: np.ndarray, build: bool = True) -> np.ndarray | None:
    """Like `spans_with`, through the chunk's sorted index; None when a scan is cheaper, or when
    the chunk has no index yet and `build` is False (the newest chunk, re-merged at every batch,
    would be sorted for each query: ~20 ms at 64k spans against ~1 ms for a scan)."""
    order = chunk.attr_order() if build else chunk.attr_perm
    if order is None:
        return None
    flat = chunk.attr_flat
    lo, hi = sorted_bounds(flat, order, ids)
    lengths = hi - lo
    total = int(lengths.sum())
    if total > len(flat) // 8:
        return None
    ends = np.cumsum(lengths)
    picks = np.arange(total) - np.repeat(ends - lengths, lengths) + np.repeat(lo, lengths)
    return _mark(chunk.n, chunk.attr_off, order[picks])


class IdSet:
    """A set of table ids, as a short array or a boolean lookup table; `build_index`: sort a chunk's
    attribute index on first use (False when the store sorts its segments ahead)."""

    __slots__ = ("ids", "lut", "build_index")

    def __init__(self, ids: list[int], size: int, build_index: bool = True) -> None:
        self.build_index = build_index
        self.ids = np.array(sorted(set(ids)), np.int64)
        self.lut = None
        if len(self.ids) > _SMALL_ID_SET:
            self.lut = np.zeros(max(size, 1), bool)
            self.lut[self.ids] = True

    def spans(self, chunk: Chunk) -> np.ndarray:
        if not len(self.ids):
            return np.zeros(chunk.n, bool)
        found = indexed_spans(chunk, self.ids, self.build_index)
        return found if found is not None else spans_with(chunk.attr_flat, chunk.attr_off, self.ids, self.lut)


def matching_ids(snap: Any, key: str, cond: Cond) -> list[int]:
    """Attribute ids of `key` whose value satisfies the condition."""
    pred = cond.value_pred()
    literal = cond.literal
    attributes = snap.attributes
    if cond.op == "=" and _text_lookup_exact(literal):
        text = literal.text if literal.type != "bool" else value_text(literal.value)
        candidates = snap.index.ids_of_text(key, text)
        return [i for i in candidates if i < snap.n_attributes and pred(attributes[i].value)]
    cache_key = ("attr", key, cond.op, literal.type, literal.value)
    return cached_scan(snap, cache_key, snap.index.ids_of_key(key, snap.n_attributes), lambda a: pred(a.value))


def _text_lookup_exact(literal: Literal) -> bool:
    """Whether the (key, text) index finds every value equal to this literal."""
    if literal.type == "loose":
        from kubespan.query.ast import as_number

        return as_number(literal.text) is None
    return literal.type in ("str", "bool")


def cached_scan(snap: Any, key: tuple[Any, ...], ids: Any, pred: Callable[[Any], bool]) -> list[int]:
    """Ids satisfying `pred`, scanning only ids not seen by an earlier query (store-wide cache)."""
    ids = list(ids) if not isinstance(ids, list) else ids
    cache = snap.cache
    seen, found = cache.pop(key, (0, []))
    if seen > len(ids):
        seen, found = 0, []
    attributes = snap.attributes
    new: list[int] = []
    deadline = snap.deadline
    for start in range(seen, len(ids), CHECK_EVERY):
        new += [i for i in ids[start:start + CHECK_EVERY] if i < snap.n_attributes and pred(attributes[i])]
        if deadline is not None:
            deadline.check()
    result = found + new if new else found
    cache[key] = (len(ids), result)  # re-inserted: the dict's order is least recently used first
    while len(cache) > SCAN_CACHE_ENTRIES:
        cache.pop(next(iter(cache)), None)
    return list(result)


def _string_lut(strings: Sequence[str], pred: Callable[[Any], bool], deadline: Deadline | None = None) -> np.ndarray:
    """`pred` over a distinct-value table (plus a False slot), checking the deadline as it goes."""
    out = np.zeros(len(strings) + 1, bool)
    for start in range(0, len(strings), CHECK_EVERY):
        part = strings[start:start + CHECK_EVERY]
        out[start:start + len(part)] = [pred(s) for s in part]
        if deadline is not None:
            deadline.check()
    return out


def _numeric(values: np.ndarray, op: str, literal: Literal) -> np.ndarray:
    if literal.type not in ("int", "float", "duration"):
        return np.zeros(len(values), bool)
    return np.asarray(_NUMERIC_OPS[op](values, literal.value), bool)


def _id_prefix(column: np.ndarray, prefix: str, kind: str) -> np.ndarray:
    if not prefix:
        return column == 0 if kind == "parent" else np.zeros(len(column), bool)
    if len(prefix) > 16:
        return np.zeros(len(column), bool)
    shift = 64 - 4 * len(prefix)
    low = np.uint64(int(prefix, 16) << shift)
    high = np.uint64((int(prefix, 16) << shift) + (1 << shift) - 1)
    return np.asarray((column >= low) & (column <= high), bool)




