"""Field expressions (arithmetic, fields against fields) evaluated over a chunk's columns at once.

Intrinsics come straight from the chunk's columns and the per-trace columns; an attribute comes
from a per-key table of its distinct values (`key_values`: typed once per attribute id and kept
store-wide, growing with the attribute table, like the predicate scans), gathered per span
through the chunk's attribute lists. The arithmetic is `kubespan.query.columns`, which gives what
`values.binary` gives span for span; spans it marks `odd` (arrays, numeric edge cases) and
expressions over fields kept only in the span's protobuf (events, links, status message, ids)
are evaluated span by span (`batch_source.evaluate_field`), as the naive evaluator does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.query import columns as col
from kubespan.query.ast import Field, Literal
from kubespan.query.columns import Column
from kubespan.query.nodes import COMPARISON, BinOp, UnOp
from kubespan.query.values import NIL
from kubespan.store.chunk import Chunk
from kubespan.store.engine_index import CHECK_EVERY

VECTOR_KINDS = ("attr", "name", "service", "duration", "kind", "status", "root_name", "root_service",
                "trace_duration")
VECTOR_SCOPES = ("span", "resource", "any")
_STORAGE_TYPES = {"int": col.INT, "duration": col.INT, "float": col.FLOAT}
SERVICE_SOURCE, ATTRIBUTE_SOURCE = 1 << 40, 2 << 40
"""Where a string came from (`Column.num` of a string): span names are their id, services and
attribute values their id plus these."""


def vectorisable(expr: Any) -> bool:
    """Whether every leaf of a field expression has a column."""
    if isinstance(expr, Literal):
        return True
    if isinstance(expr, Field):
        return expr.kind in VECTOR_KINDS and (expr.kind != "attr" or expr.scope in VECTOR_SCOPES)
    if isinstance(expr, BinOp):
        return vectorisable(expr.left) and vectorisable(expr.right)
    if isinstance(expr, UnOp):
        return vectorisable(expr.inner)
    return False


class KeyValues:
    """The typed values of one key's attribute ids (ascending), as a column over those ids."""

    __slots__ = ("ids", "values", "seen")

    def __init__(self, ids: npt.NDArray[np.int64], values: Column, seen: int) -> None:
        self.ids, self.values, self.seen = ids, values, seen


def key_values(snap: Any, key: str) -> KeyValues:
    """`KeyValues` of `key` up to the snapshot's attribute count, extended from the store-wide cache."""
    cache = snap.cache
    cache_key = ("typed", key)
    found = cache.pop(cache_key, None)
    ids = snap.index.ids_of_key(key, snap.n_attributes)
    if not isinstance(found, KeyValues) or found.seen > len(ids):
        found = KeyValues(np.zeros(0, np.int64), col.empty(0), 0)
    if found.seen < len(ids):
        attributes = snap.attributes
        parts = [found.values]
        for start in range(found.seen, len(ids), CHECK_EVERY):
            part = col.from_python([attributes[i].value for i in ids[start:start + CHECK_EVERY]])
            strings = part.type == col.STR
            part.num[strings] = ATTRIBUTE_SOURCE + np.asarray(ids[start:start + CHECK_EVERY], np.int64)[strings]
            parts.append(part)
            if snap.deadline is not None:
                snap.deadline.check()
        values = Column(*(np.concatenate([getattr(p, name) for p in parts])
                          for name in ("type", "num", "real", "text", "odd")))
        found = KeyValues(np.asarray(ids, np.int64), values, len(ids))
    cache[cache_key] = found  # most recently used last, as the predicate scans
    return found


class FieldColumns:
    """Columns of field expressions over whole chunks, for one evaluator (plans kept per query)."""

    def __init__(self, evaluator: Any) -> None:
        self.evaluator = evaluator
        self.snap = evaluator.snap
        self.plans: dict[Any, Any] = {}

    def mask(self, expr: Any, chunk: Chunk) -> npt.NDArray[np.bool_]:
        """Per span of the chunk: is the expression true? (odd spans evaluated span by span)"""
        column = self.column(expr, chunk)
        mask = col.is_true(column)
        first = max(0, self.snap.floor - chunk.base)
        odd = np.flatnonzero(column.needs_python()[first:]) + first
        if len(odd):
            from kubespan.query.batch_source import evaluate_field, is_true

            src = self.evaluator.source()
            facts, offset = src.facts(), chunk.base - self.snap.floor
            mask[odd] = [is_true(evaluate_field(expr, src, i + offset, facts)) for i in odd.tolist()]
        return mask

    def column(self, expr: Any, chunk: Chunk) -> Column:
        n = chunk.n
        if isinstance(expr, Literal):
            return col.constant(NIL if expr.type == "nil" else (expr.type, expr.value), n)
        if isinstance(expr, Field):
            return self.field(expr, chunk)
        if isinstance(expr, UnOp):
            return col.unary(expr.op, self.column(expr.inner, chunk))
        if not isinstance(expr, BinOp):
            raise TypeError(f"not a field expression: {expr!r}")
        left, right = self.column(expr.left, chunk), self.column(expr.right, chunk)
        if expr.op in COMPARISON:
            left, right = _storage_typed(expr.left, left, expr.right, right)
        out = col.binary(expr.op, left, right)
        if expr.op in ("&&", "||"):  # short-circuit: a decided left side is the answer
            decided = (left.type == col.BOOL) & (left.num == (expr.op == "||"))
            if decided.any():
                out.type[decided], out.num[decided], out.odd[decided] = col.BOOL, left.num[decided], left.odd[decided]
        return out

    def field(self, field: Field, chunk: Chunk) -> Column:
        kind, n = field.kind, chunk.n
        out = col.empty(n)
        if kind == "attr":
            return self.attribute(field, chunk)
        if kind == "name":
            out.type[:], out.text[:], out.num[:] = col.STR, self.strings("names")[chunk.name], chunk.name
        elif kind == "service":
            services = self.snap.resource_service[self.snap.scope_resource][chunk.scope]
            out.type[:], out.text[:] = col.STR, self.strings("services")[services]
            out.num[:] = SERVICE_SOURCE + services
        elif kind == "duration":
            out.type[:], out.num[:] = col.DURATION, chunk.end - chunk.start
        elif kind in ("kind", "status"):
            out.num[:] = chunk.kind if kind == "kind" else chunk.status
            names = col.KIND_NAMES if kind == "kind" else col.STATUS_NAMES
            col.codes(out.type, out.num, names, col.KIND if kind == "kind" else col.STATUS)
        elif kind == "trace_duration":
            first, last = self.evaluator.traces().extent()
            out.type[:], out.num[:] = col.DURATION, (last - first)[chunk.trace]
        elif kind in ("root_name", "root_service"):
            names, services = self.evaluator.traces().roots()
            ids = (names if kind == "root_name" else services)[chunk.trace]
            strings = self.strings("names" if kind == "root_name" else "services")
            out.type[:], out.text[:] = col.STR, np.where(ids >= 0, strings[np.maximum(ids, 0)], "")
            out.num[:] = np.where(ids >= 0, ids + (0 if kind == "root_name" else SERVICE_SOURCE), -1)
        else:
            raise ValueError(f"no column for {field!r}")
        return out

    def strings(self, table: str) -> npt.NDArray[np.object_]:
        found = self.plans.get(table)
        if found is None:
            values = getattr(self.snap, table)
            found = self.plans[table] = np.array(list(values[:len(values)]) + [""], object)
        return found

    # ------------------------------------------------------------ attributes

    def attribute(self, field: Field, chunk: Chunk) -> Column:
        values, rows_of, per_scope = self.plans.get(field) or self.attribute_plan(field)
        if field.scope == "resource":
            return per_scope.take(chunk.scope)
        positions = _key_positions(chunk, values.ids, rows_of)
        span = np.searchsorted(chunk.attr_off, positions, "right") - 1
        first = np.ones(len(span), bool)
        first[1:] = span[1:] != span[:-1]  # a key repeated in one span: its first value
        span, rows = span[first], rows_of[chunk.attr_flat[positions[first]]]
        if field.scope == "any" and len(per_scope):
            out = per_scope.take(chunk.scope)
        else:
            out = col.empty(chunk.n)
        found = values.values.take(rows)
        out.type[span], out.num[span], out.real[span], out.text[span] = found.type, found.num, found.real, found.text
        return out

    def attribute_plan(self, field: Field) -> tuple[KeyValues, npt.NDArray[np.int32], Column]:
        """The key's typed values, a row per attribute id (-1: another key's id) and the per-scope
        values of the resources (for `resource.` and unscoped fields)."""
        snap = self.snap
        values = key_values(snap, field.key)
        rows_of = np.full(max(snap.n_attributes, 1), -1, np.int32)
        rows_of[values.ids] = np.arange(len(values.ids), dtype=np.int32)
        resource = col.empty(len(snap.resource_attrs))
        if field.scope != "span":
            for r, attrs in enumerate(snap.resource_attrs):
                row = next((int(rows_of[a]) for a in attrs if a < len(rows_of) and rows_of[a] >= 0), None)
                if row is not None:
                    resource.type[r], resource.num[r] = values.values.type[row], values.values.num[row]
                    resource.real[r], resource.text[r] = values.values.real[row], values.values.text[row]
        per_scope = resource.take(snap.scope_resource) if len(snap.scope_resource) else col.empty(0)
        plan = self.plans[field] = (values, rows_of, per_scope)
        return plan


def _key_positions(chunk: Chunk, ids: npt.NDArray[np.int64], rows_of: npt.NDArray[np.int32]) -> npt.NDArray[np.intp]:
    """Ascending positions in the chunk's attribute lists holding one of `ids`."""
    order = chunk.attr_order() if len(ids) < 4096 else None
    flat = chunk.attr_flat
    if order is not None:
        wanted = ids.astype(flat.dtype)
        lo = np.searchsorted(flat, wanted, "left", sorter=order)
        hi = np.searchsorted(flat, wanted, "right", sorter=order)
        lengths = hi - lo
        total = int(lengths.sum())
        if total <= len(flat) // 8:
            ends = np.cumsum(lengths)
            picks = np.arange(total) - np.repeat(ends - lengths, lengths) + np.repeat(lo, lengths)
            return np.sort(order[picks]).astype(np.intp)
    return np.flatnonzero(rows_of[flat] >= 0)


def _storage_typed(left_node: Any, left: Column, right_node: Any, right: Column) -> tuple[Column, Column]:
    """`batch_source._storage_typed` over columns: an attribute against a number literal."""
    for field, literal, put in ((left_node, right_node, 0), (right_node, left_node, 1)):
        if isinstance(field, Field) and field.kind == "attr" and isinstance(literal, Literal) \
                and literal.type in _STORAGE_TYPES:
            want = _STORAGE_TYPES[literal.type]
            if put == 0:
                return col.storage_typed(left, want), right
            return left, col.storage_typed(right, want)
    return left, right
