"""Per-span values of a field over a store snapshot, vectorised: what metrics group by and aggregate.

`FieldColumns(snap, rows)` answers for the live spans at positions `rows` (offsets from the
snapshot's first live ordinal):
- `groups(field)`: a small int code per span (-1 where the span has no value) and the typed label
  value of each code, for `by(…)`;
- `numbers(field)`: a float per span (NaN where there is no number) and whether the values are
  durations (seconds), for `sum_over_time(f)` and friends.

Attributes are read through the snapshot's attribute-id columns: a lookup table from attribute
id to value code, gathered over `attr_flat`, then placed on spans by their offsets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.metrics import intrinsics
from kubespan.metrics.series import LabelValue
from kubespan.query.ast import KINDS, STATUSES, Field

Codes = npt.NDArray[np.int64]
_KIND_NAMES = {value: name for name, value in KINDS.items()}
_STATUS_NAMES = {value: name for name, value in STATUSES.items()}
NUMERIC = {"int": 0, "double": 1}


class UnsupportedField(ValueError):
    """A field metrics cannot group by or aggregate (yet): the message says which."""


class FieldColumns:
    """Field values of selected live spans of one snapshot; columns are read once and shared."""

    def __init__(self, snap: Any, rows: npt.NDArray[np.int64]) -> None:
        self.snap = snap
        self.rows = rows
        self._cache: dict[str, npt.NDArray[Any]] = {}

    def column(self, name: str) -> npt.NDArray[Any]:
        """A span column (`start`, `end`, `name`, `scope`, `kind`, `status`) at the selected rows."""
        found = self._cache.get(name)
        if found is None:
            found = self._cache[name] = self.snap.column(name)[self.rows]
        return found

    def resources(self) -> npt.NDArray[np.int32]:
        found = self._cache.get("resource")
        if found is None:
            found = self._cache["resource"] = np.asarray(self.snap.scope_resource)[self.column("scope")]
        return found

    # ------------------------------------------------------------------ grouping
    def groups(self, field: Field) -> tuple[Codes, list[LabelValue]]:
        """(code per span, -1 = nil; label value per code)."""
        snap = self.snap
        kind = field.kind
        if kind == "name":
            return _dense(self.column("name").astype(np.int64), lambda i: ("string", snap.names[i]))
        if kind == "service" or (kind == "attr" and field.scope == "resource" and field.key == "service.name"):
            services = np.asarray(snap.resource_service)[self.resources()].astype(np.int64)
            return _dense(services, lambda i: ("string", snap.services[i]))
        if kind == "kind":
            return _dense(self.column("kind").astype(np.int64), lambda i: ("string", _KIND_NAMES.get(i, str(i))))
        if kind == "status":
            return _dense(self.column("status").astype(np.int64),
                          lambda i: ("string", _STATUS_NAMES.get(i, str(i))))
        if kind == "duration":
            durations = (self.column("end") - self.column("start")).astype(np.int64)
            return _dense(durations, lambda d: ("string", go_duration(d)), sparse=True)
        if kind == "attr":
            return self._attribute_groups(field)
        if kind in ("root_name", "root_service"):
            values, codes = intrinsics.root_values(snap, self.rows, kind)
            return codes, values
        if kind in ("scope_name", "scope_version"):
            values, codes = intrinsics.scope_values(snap, self.column("scope"), kind)
            return codes, values
        if kind == "child_count":
            return _dense(intrinsics.child_counts(snap, self.rows), lambda n: ("int", n), sparse=True)
        if kind == "trace_duration":
            return _dense(intrinsics.trace_durations(snap, self.rows), lambda d: ("string", go_duration(d)),
                          sparse=True)
        raise UnsupportedField(f"metrics cannot group by {field.describe()} yet")

    def _attribute_groups(self, field: Field) -> tuple[Codes, list[LabelValue]]:
        values: dict[LabelValue, int] = {}
        labels: list[LabelValue] = []

        def code_of(attribute_id: int) -> int:
            value = label_value(self.snap.attributes[attribute_id])
            found = values.get(value)
            if found is None:
                found = values[value] = len(labels)
                labels.append(value)
            return found

        codes = self._attribute_codes(field, code_of)
        return codes, labels

    # ------------------------------------------------------------------ numbers
    def numbers(self, field: Field) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
        """(value per span, NaN = none; type per span: 0 int, 1 double, 2 duration, -1 none)."""
        n = len(self.rows)
        if field.kind == "duration":
            seconds = (self.column("end") - self.column("start")).astype(np.float64) / 1e9
            return seconds, np.full(n, 2, np.int8)
        if field.kind == "trace_duration":
            seconds = intrinsics.trace_durations(self.snap, self.rows).astype(np.float64) / 1e9
            return seconds, np.full(n, 2, np.int8)
        if field.kind == "child_count":
            return intrinsics.child_counts(self.snap, self.rows).astype(np.float64), np.zeros(n, np.int8)
        if field.kind != "attr":
            return np.full(n, np.nan), np.full(n, -1, np.int8)
        table: list[tuple[float, int]] = []
        index: dict[int, int] = {}

        def code_of(attribute_id: int) -> int:
            attribute = self.snap.attributes[attribute_id]
            found = index.get(attribute_id)
            if found is None:
                kind = NUMERIC.get(attribute.type, -1)
                value = float(attribute.value) if kind >= 0 else np.nan
                found = index[attribute_id] = len(table)
                table.append((value, kind))
            return found

        codes = self._attribute_codes(field, code_of)
        if not table:
            return np.full(n, np.nan), np.full(n, -1, np.int8)
        values = np.array([v for v, _ in table] + [np.nan], np.float64)
        kinds = np.array([k for _, k in table] + [-1], np.int8)
        return values[codes], kinds[codes]

    def durations_ns(self) -> npt.NDArray[np.int64]:
        return (self.column("end") - self.column("start")).astype(np.int64)

    # ------------------------------------------------------------------ attribute plumbing
    def _attribute_codes(self, field: Field, code_of: Any) -> Codes:
        """Code of the field's attribute per selected span (-1: none); span first for unscoped `.k`."""
        snap = self.snap
        ids = snap.index.ids_of_key(field.key, snap.n_attributes)
        n = len(self.rows)
        codes = np.full(n, -1, np.int64)
        if not ids:
            return codes
        lut = np.full(len(snap.attributes), -1, np.int64)
        lut[np.asarray(ids, np.int64)] = [code_of(i) for i in ids]
        if field.scope in ("span", "any"):
            codes = self._span_codes(lut)
        if field.scope in ("resource", "any"):
            per_resource = np.full(max(1, len(snap.resource_attrs)), -1, np.int64)
            for resource, attribute_ids in enumerate(snap.resource_attrs):
                for attribute_id in attribute_ids:
                    if attribute_id < len(lut) and lut[attribute_id] >= 0:
                        per_resource[resource] = lut[attribute_id]
                        break
            from_resource = per_resource[self.resources()]
            codes = np.where(codes >= 0, codes, from_resource)
        return codes

    def _span_codes(self, lut: Codes) -> Codes:
        """Codes of the span attributes, per live span, then taken at the selected rows."""
        parts = []
        for chunk, first in self.snap.live_slices():
            off = chunk.attr_off
            lo, hi = int(off[first]), int(off[chunk.n])
            hits = lut[chunk.attr_flat[lo:hi]]
            where = np.flatnonzero(hits >= 0)
            codes = np.full(chunk.n - first, -1, np.int64)
            if len(where):
                spans = np.searchsorted(off, where + lo, "right") - 1 - first
                codes[spans] = hits[where]
            parts.append(codes)
        if not parts:
            return np.zeros(0, np.int64)
        every = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return every[self.rows]


def label_value(attribute: Any) -> LabelValue:
    """The typed label of an attribute value, as Tempo shows it in a series."""
    kind, value = attribute.type, attribute.value
    if kind == "str":
        return ("string", value)
    if kind == "int":
        return ("int", int(value))
    if kind == "double":
        return ("double", float(value))
    if kind == "bool":
        return ("bool", bool(value))
    from kubespan.model import value_text

    return ("string", value_text(value))


def _dense(values: Codes, label: Any, sparse: bool = False) -> tuple[Codes, list[LabelValue]]:
    """Renumber raw ids to 0..k-1 in the order of the ids; small id spaces without sorting."""
    if not len(values):
        return values, []
    top = int(values.max())
    if not sparse and int(values.min()) >= 0 and top < 1 << 24:
        present = np.bincount(values, minlength=top + 1) > 0
        remap = np.cumsum(present) - 1
        distinct = np.flatnonzero(present)
        return remap[values].astype(np.int64), [label(int(v)) for v in distinct.tolist()]
    distinct, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), [label(int(v)) for v in distinct.tolist()]


def go_duration(nanos: int) -> str:
    """Go's time.Duration.String(): `1.5s`, `2m3.5s`, `250µs`, `0s`."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 1000:
        return f"{sign}{n}ns"
    if n < 1_000_000:
        return sign + _fraction(n, 1000) + "µs"
    if n < 1_000_000_000:
        return sign + _fraction(n, 1_000_000) + "ms"
    hours, rest = divmod(n, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"
