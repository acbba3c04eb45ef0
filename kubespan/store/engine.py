"""Indexed evaluation of a query over a store snapshot, vectorised with numpy.

Conditions are first evaluated on the small distinct-value tables (span names,
services, attribute values, event names), giving lookup tables; the per-span work
is then a gather or a membership test over the chunk columns.
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Any, Callable, Sequence

import numpy as np

from kubespan.model import value_text
from kubespan.query.ast import And, BareWord, Cond, Const, Filter, Literal, Not, Or, Spanset
from kubespan.query.limits import Deadline
from kubespan.store.chunk import Chunk
from kubespan.store.snapshot import Snapshot

_NUMERIC_OPS: dict[str, Callable] = {"=": operator.eq, "!=": operator.ne, ">": operator.gt,
                                     ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_SMALL_ID_SET = 4
SCAN_CACHE_ENTRIES = 64
CHECK_EVERY = 4096
"""Values scanned by a Python predicate between two deadline checks."""
"""Predicate scans over attribute values kept per store (as-you-type queries make many)."""


def spans_with(flat: np.ndarray, off: np.ndarray, ids: np.ndarray | None, lut: np.ndarray | None) -> np.ndarray:
    """Per-span flag: does the span's slice of `flat` hold one of the ids? (a scan)"""
    n = len(off) - 1
    if lut is None and (ids is None or len(ids) == 0):
        return np.zeros(n, bool)
    if lut is not None:
        hit = lut[flat]
    else:
        hit = flat == ids[0]
        for other in ids[1:]:
            hit |= flat == other
    return _mark(n, off, np.flatnonzero(hit))


def _mark(n: int, off: np.ndarray, positions: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, bool)
    if len(positions):
        mask[np.searchsorted(off, positions.astype(off.dtype), "right") - 1] = True
    return mask


def indexed_spans(chunk: Chunk, ids: np.ndarray) -> np.ndarray | None:
    """Like `spans_with`, through the chunk's sorted index; None when a scan is cheaper."""
    order = chunk.attr_order()
    if order is None:
        return None
    flat = chunk.attr_flat
    ids = ids.astype(flat.dtype)  # same dtype, or numpy casts (copies) the whole haystack
    lo = np.searchsorted(flat, ids, "left", sorter=order)
    hi = np.searchsorted(flat, ids, "right", sorter=order)
    lengths = hi - lo
    total = int(lengths.sum())
    if total > len(flat) // 8:
        return None
    ends = np.cumsum(lengths)
    picks = np.arange(total) - np.repeat(ends - lengths, lengths) + np.repeat(lo, lengths)
    return _mark(chunk.n, chunk.attr_off, order[picks])


class IdSet:
    """A set of table ids, as a short array or a boolean lookup table."""

    __slots__ = ("ids", "lut")

    def __init__(self, ids: list[int], size: int) -> None:
        self.ids = np.array(sorted(set(ids)), np.int64)
        self.lut = None
        if len(self.ids) > _SMALL_ID_SET:
            self.lut = np.zeros(max(size, 1), bool)
            self.lut[self.ids] = True

    def spans(self, chunk: Chunk) -> np.ndarray:
        if not len(self.ids):
            return np.zeros(chunk.n, bool)
        found = indexed_spans(chunk, self.ids)
        return found if found is not None else spans_with(chunk.attr_flat, chunk.attr_off, self.ids, self.lut)


class Evaluator:
    """Evaluates one query over one snapshot; plans are computed once per condition."""

    def __init__(self, snap: Snapshot, deadline: Deadline | None = None) -> None:
        self.deadline = deadline or Deadline()
        self.deadline.progress.spans_total = snap.stop - snap.floor
        self.snap = dataclasses.replace(snap, deadline=self.deadline)  # for the scans it starts
        self.plans: dict[int, Any] = {}

    # ------------------------------------------------------------ spansets
    def spanset(self, node: Spanset) -> np.ndarray:
        """Global mask over live ordinals [floor, stop)."""
        deadline = self.deadline
        if isinstance(node, Filter):
            parts = []
            for chunk, i in self.snap.live_slices():
                parts.append(self.expr(node.expr, chunk)[i:])
                deadline.advance(chunk.n - i)
            deadline.charge(self.snap.stop - self.snap.floor)
            return np.concatenate(parts) if parts else np.zeros(0, bool)
        left = self.spanset(node.left)
        right = self.spanset(node.right)
        deadline.charge(len(left))
        if node.op == "||":
            return left | right
        trace = self.snap.column("trace")
        size = len(self.snap.trace_ids) + 1
        deadline.charge(trace.nbytes + 2 * size + 4 * len(left))
        both = trace_flags(trace[left], size) & trace_flags(trace[right], size)
        in_both = both[trace]
        if node.op == "&&":
            return (left | right) & in_both
        return structural(node.op, left, right, in_both, trace, self.snap, deadline)

    # ------------------------------------------------------------ span expressions
    def expr(self, expr, chunk: Chunk) -> np.ndarray:
        if isinstance(expr, Cond):
            return self.cond(expr, chunk)
        if isinstance(expr, And):
            left = self.expr(expr.left, chunk)
            return left & self.expr(expr.right, chunk) if left.any() else left
        if isinstance(expr, Or):
            left = self.expr(expr.left, chunk)
            return left | self.expr(expr.right, chunk) if not left.all() else left
        if isinstance(expr, Not):
            return ~self.expr(expr.inner, chunk)
        if isinstance(expr, BareWord):
            return self.bare(expr, chunk)
        if isinstance(expr, Const):
            return np.full(chunk.n, expr.value, bool)
        raise TypeError(f"not an expression: {expr!r}")

    def plan(self, node, build: Callable[[], Any]) -> Any:
        key = id(node)
        found = self.plans.get(key)
        if found is None:
            found = self.plans[key] = build()
        return found

    def cond(self, cond: Cond, chunk: Chunk) -> np.ndarray:
        kind = cond.field.kind
        if kind == "name":
            lut = self.plan(cond, lambda: _string_lut(self.snap.names, cond.value_pred(), self.deadline))
            return lut[chunk.name]
        if kind == "service":
            lut = self.plan(cond, lambda: self.per_scope(_string_lut(self.snap.services, cond.value_pred(), self.deadline)))
            return lut[chunk.scope] if len(lut) else np.zeros(chunk.n, bool)
        if kind in ("kind", "status"):
            return _numeric(chunk.kind if kind == "kind" else chunk.status, cond.op, cond.literal)
        if kind == "duration":
            return _numeric(chunk.end - chunk.start, cond.op, cond.literal)
        if kind == "trace":
            lut = self.plan(cond, lambda: self.trace_lut(cond.literal.value))
            mask = lut[chunk.trace]
            return mask if cond.op == "=" else ~mask
        if kind in ("span", "parent"):
            mask = _id_prefix(chunk.span_id if kind == "span" else chunk.parent_id, cond.literal.value, kind)
            return mask if cond.op == "=" else ~mask
        if kind == "event":
            return self.event(cond, chunk)
        return self.attr(cond, chunk)

    def per_scope(self, service_lut: np.ndarray) -> np.ndarray:
        """A per-service flag turned into a per-scope flag."""
        return service_lut[self.snap.resource_service][self.snap.scope_resource]

    def trace_lut(self, prefix: str) -> np.ndarray:
        trace_ids = self.snap.trace_ids
        lut = np.zeros(len(trace_ids) + 1, bool)
        if len(prefix) == 32:
            found = self.snap.trace_lookup(bytes.fromhex(prefix))
            if found is not None:
                lut[found] = True
        elif prefix:
            for index, trace_id in enumerate(trace_ids):
                if trace_id is not None and trace_id.hex().startswith(prefix):
                    lut[index] = True
        return lut

    def event(self, cond: Cond, chunk: Chunk) -> np.ndarray:
        """Spans with an event whose name satisfies the condition (`!=` too: any event)."""
        lut = self.plan(cond, lambda: _string_lut(self.snap.event_names, cond.value_pred(), self.deadline))
        return spans_with(chunk.event_flat, chunk.event_off, None, lut)

    def attr(self, cond: Cond, chunk: Chunk) -> np.ndarray:
        plan = self.plan(cond, lambda: self.attr_plan(cond))
        match_ids, key_ids, res_match, res_has = plan
        res_has_any = bool(res_has.any())
        scope = cond.field.scope
        nil = cond.literal.type == "nil"
        span_has = None
        if (scope == "any" and res_has_any) or (nil and scope != "resource"):
            span_has = key_ids.spans(chunk)
        if nil:
            if scope == "span":
                present = span_has
            elif scope == "resource":
                present = res_has[chunk.scope]
            else:
                present = span_has | res_has[chunk.scope]
            return ~present if cond.op == "=" else present
        if scope == "resource":
            return res_match[chunk.scope]
        span_match = match_ids.spans(chunk)
        if scope == "span" or not res_has_any:
            return span_match
        return span_match | (~span_has & res_match[chunk.scope])

    def attr_plan(self, cond: Cond):
        snap = self.snap
        key = cond.field.key
        size = snap.n_attributes
        matched = [] if cond.literal.type == "nil" else matching_ids(snap, key, cond)
        attributes = snap.attributes
        matched_set = set(matched)
        res_match = np.array([any(a in matched_set for a in attrs) for attrs in snap.resource_attrs] or [False])
        res_has = np.array([any(attributes[a].key == key for a in attrs) for attrs in snap.resource_attrs] or [False])
        needs_key = cond.literal.type == "nil" or (cond.field.scope == "any" and res_has.any())
        key_set = IdSet(snap.index.ids_of_key(key, size), size) if needs_key else None
        return IdSet(matched, size), key_set, res_match[snap.scope_resource], res_has[snap.scope_resource]

    def bare(self, word: BareWord, chunk: Chunk) -> np.ndarray:
        plan = self.plan(word, lambda: self.bare_plan(word))
        names, scopes, events, attrs = plan
        mask = names[chunk.name] | scopes[chunk.scope]
        mask |= spans_with(chunk.event_flat, chunk.event_off, None, events)
        mask |= attrs.spans(chunk)
        return mask

    def bare_plan(self, word: BareWord):
        snap = self.snap
        folded = word.folded

        def pred(text: str) -> bool:
            return folded in text.casefold()

        ids = cached_scan(snap, ("bare", folded), range(snap.n_attributes), lambda a: pred(value_text(a.value)))
        attrs = IdSet(ids, snap.n_attributes)
        hit = set(ids)
        resource = np.array([pred(snap.services[s]) for s in snap.resource_service] or [False])
        resource |= np.array([any(a in hit for a in attrs_) for attrs_ in snap.resource_attrs] or [False])
        scopes = resource[snap.scope_resource] if len(snap.scope_resource) else np.zeros(1, bool)
        return _string_lut(snap.names, pred, self.deadline), scopes, _string_lut(snap.event_names, pred, self.deadline), attrs


def matching_ids(snap: Snapshot, key: str, cond: Cond) -> list[int]:
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


def cached_scan(snap: Snapshot, key: tuple, ids, pred: Callable[[Any], bool]) -> list[int]:
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
    return result


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
    return _NUMERIC_OPS[op](values, literal.value)


def _id_prefix(column: np.ndarray, prefix: str, kind: str) -> np.ndarray:
    if not prefix:
        return column == 0 if kind == "parent" else np.zeros(len(column), bool)
    if len(prefix) > 16:
        return np.zeros(len(column), bool)
    shift = 64 - 4 * len(prefix)
    low = np.uint64(int(prefix, 16) << shift)
    high = np.uint64((int(prefix, 16) << shift) + (1 << shift) - 1)
    return (column >= low) & (column <= high)


# ---------------------------------------------------------------- structure


def structural(op: str, left: np.ndarray, right: np.ndarray, in_both: np.ndarray,
               trace: np.ndarray, snap: Snapshot, deadline: Deadline | None = None) -> np.ndarray:
    """Right-hand spans in relation `op` (> >> < << ~) with a left-hand span of the same trace."""
    result = np.zeros(len(left), bool)
    where = np.flatnonzero(in_both)
    if not len(where):
        return result
    if deadline is not None:
        deadline.charge(40 * len(where))  # ids, parent ids, parent positions, sort order
    span_id = snap.column("span_id")[where]
    parent_id = snap.column("parent_id")[where]
    parent = parent_positions(trace[where], span_id, parent_id)
    if deadline is not None:
        deadline.check()
    sub_left, sub_right = left[where], right[where]
    if op == ">":
        hit = (parent >= 0) & sub_left[np.maximum(parent, 0)]
    elif op == ">>":
        hit = has_ancestor(parent, sub_left)
    elif op == "<":
        hit = np.zeros(len(where), bool)
        hit[parent[sub_left & (parent >= 0)]] = True
    elif op == "<<":
        hit = ancestors_of(parent, sub_left)
    elif op == "~":
        counts = np.bincount(parent[sub_left & (parent >= 0)], minlength=len(where))
        safe = np.maximum(parent, 0)
        own = (sub_left & (parent >= 0)).astype(np.int64)
        hit = (parent >= 0) & (counts[safe] - own > 0)
    else:
        raise ValueError(f"unknown structural operator {op}")
    result[where] = hit & sub_right
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
