"""`compare({selection}, n)`: how often each attribute value occurs among the selected spans and
among the rest (the baseline), per interval — what Grafana's Traces Drilldown compares.

For every span the pipeline selects, every attribute it carries counts once for its value:
span and resource attributes, the intrinsics `name`, `status`, `kind`, `rootName`,
`rootServiceName`, `span:childCount`, `instrumentation:name` and `instrumentation:version`, and
Tempo's dedicated columns (missing ones count as the value nil, as Tempo stores them). Each
(group, attribute) keeps its `n` most frequent values; `<group>_total` series count the spans
that have the attribute. Series labels: `__meta_type` then the attribute.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.metrics.ast import Compare
from kubespan.metrics.columns import label_value
from kubespan.metrics.intrinsics import LABELS, child_counts, root_values, scope_values
from kubespan.metrics.series import LabelValue, Series, SeriesSet
from kubespan.metrics.timegrid import TimeGrid
from kubespan.query.ast import KINDS, STATUSES

META = "__meta_type"
DEDICATED = (("resource", "k8s.cluster.name", "str"), ("resource", "k8s.namespace.name", "str"),
             ("resource", "k8s.pod.name", "str"), ("resource", "k8s.container.name", "str"),
             ("span", "http.request.method", "str"), ("span", "http.response.status_code", "int"),
             ("span", "url.path", "str"), ("span", "url.route", "str"), ("span", "server.address", "str"),
             ("span", "server.port", "int"), ("span", "http.method", "str"), ("span", "http.url", "str"),
             ("span", "http.route", "str"), ("span", "http.status_code", "int"))
"""Tempo's default dedicated attribute columns (tempodb/backend/block_meta.go): always present, nil if unset."""
_KIND_NAMES = {value: name for name, value in KINDS.items()}
_STATUS_NAMES = {value: name for name, value in STATUSES.items()}
NIL: LabelValue = ("nil", None)


def compare(node: Compare, selection: Any, snap: Any, grid: TimeGrid) -> SeriesSet:
    columns, interval = selection.columns, selection.interval
    rows = columns.rows
    if not len(rows):
        return {}
    from kubespan.store.engine import Evaluator

    chosen = Evaluator(snap).spanset(node.selection)[rows]
    if node.start_ns and node.end_ns:
        start = columns.column("start")
        chosen &= (start > node.start_ns) & (start <= node.end_ns)
    counts: dict[tuple[int, str, LabelValue], npt.NDArray[np.float64]] = defaultdict(lambda: np.zeros(grid.intervals))
    totals: dict[tuple[int, str], npt.NDArray[np.float64]] = defaultdict(lambda: np.zeros(grid.intervals))
    group = chosen.astype(np.int64)  # 1 = selection, 0 = baseline

    def count(name: str, position: npt.NDArray[np.int64], values: list[LabelValue],
              codes: npt.NDArray[np.int64]) -> None:
        """One attribute: `codes[i]` indexes `values` for the span at `position[i]`."""
        if not len(position):
            return
        cells = (group[position] * (len(values) + 1) + codes) * grid.intervals + interval[position]
        tally = np.bincount(cells, minlength=2 * (len(values) + 1) * grid.intervals)
        tally = tally.reshape(2, len(values) + 1, grid.intervals)
        for g in (0, 1):
            present = np.flatnonzero(tally[g].sum(axis=1)).tolist()
            for code in present:
                counts[(g, name, values[code])] += tally[g, code]
            if present:
                totals[(g, name)] += tally[g].sum(axis=0)

    for name, values, position, codes in _attribute_pairs(columns, snap):
        count(name, position, values, codes)
    everyone = np.arange(len(rows), dtype=np.int64)
    for name, values, codes in _intrinsics(columns, snap):
        keep = np.flatnonzero(codes >= 0)
        count(name, everyone[keep], values, codes[keep])
    return _series(counts, totals, node.top_n)


def _series(counts: dict, totals: dict, top_n: int) -> SeriesSet:
    out: SeriesSet = {}
    by_attribute: dict[tuple[int, str], list[tuple[LabelValue, npt.NDArray[np.float64]]]] = defaultdict(list)
    for (g, name, value), values in counts.items():
        by_attribute[(g, name)].append((value, values))
    for (g, name), entries in by_attribute.items():
        entries.sort(key=lambda entry: (-float(entry[1].sum()), str(entry[0])))
        for value, values in entries[:top_n]:
            labels = ((META, ("string", ("baseline", "selection")[g])), (name, value))
            out[labels] = Series(labels, values)
    for (g, name), values in totals.items():
        labels = ((META, ("string", ("baseline_total", "selection_total")[g])), (name, NIL))
        out[labels] = Series(labels, values)
    return out


def _attribute_pairs(columns: Any, snap: Any) -> list[tuple[str, list[LabelValue], Any, Any]]:
    """Per attribute name: its values, and (span position, value code) for each span carrying it."""
    rows = columns.rows
    attributes = snap.attributes
    span_ids, span_pos = _span_attribute_ids(snap, rows)
    resource_of = columns.resources()
    pairs: dict[str, tuple[list[LabelValue], dict[LabelValue, int], list[Any], list[Any]]] = {}

    def slot(name: str) -> tuple[list[LabelValue], dict[LabelValue, int], list[Any], list[Any]]:
        return pairs.setdefault(name, ([], {}, [], []))

    def code(name: str, value: LabelValue) -> int:
        values, index, _, _ = slot(name)
        found = index.get(value)
        if found is None:
            found = index[value] = len(values)
            values.append(value)
        return found

    typed: dict[tuple[str, str], npt.NDArray[np.bool_]] = {}
    if len(span_ids):
        distinct, inverse = np.unique(span_ids, return_inverse=True)
        keys = [attributes[i].key for i in distinct.tolist()]
        name_codes = [(f"span.{key}", code(f"span.{key}", label_value(attributes[i])))
                      for key, i in zip(keys, distinct.tolist(), strict=False)]
        by_name: dict[str, list[int]] = defaultdict(list)
        for d, (name, _) in enumerate(name_codes):
            by_name[name].append(d)
        for name, members in by_name.items():
            lut = np.full(len(distinct), -1, np.int64)
            lut[members] = [name_codes[d][1] for d in members]
            hit = np.flatnonzero(lut[inverse] >= 0)
            slot(name)[2].append(span_pos[hit])
            slot(name)[3].append(lut[inverse][hit])
        for scope, key, kind in DEDICATED:
            if scope == "span":
                good = [d for d, i in enumerate(distinct.tolist()) if keys[d] == key and attributes[i].type == kind]
                has = np.zeros(len(rows), bool)
                if good:
                    member = np.zeros(len(distinct), bool)
                    member[good] = True
                    has[span_pos[member[inverse]]] = True
                typed[(scope, key)] = has
    for resource, attribute_ids in enumerate(snap.resource_attrs):
        where = np.flatnonzero(resource_of == resource)
        if not len(where):
            continue
        for attribute_id in attribute_ids:
            attribute = attributes[attribute_id]
            name = f"resource.{attribute.key}"
            slot(name)[2].append(where)
            slot(name)[3].append(np.full(len(where), code(name, label_value(attribute)), np.int64))
            if ("resource", attribute.key, attribute.type) in DEDICATED:
                typed.setdefault(("resource", attribute.key), np.zeros(len(rows), bool))[where] = True
    for scope, key, _ in DEDICATED:
        missing = np.flatnonzero(~typed.get((scope, key), np.zeros(len(rows), bool)))
        if len(missing):
            name = f"{scope}.{key}"
            slot(name)[2].append(missing)
            slot(name)[3].append(np.full(len(missing), code(name, NIL), np.int64))
    out = []
    for name, (values, _, positions, codes) in pairs.items():
        if positions:
            out.append((name, values, np.concatenate(positions), np.concatenate(codes)))
    return out


def _span_attribute_ids(snap: Any, rows: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(attribute id, selected-span position) for every span attribute of the selected spans."""
    wanted = np.zeros(snap.stop - snap.floor, bool)
    wanted[rows] = True
    position = np.full(len(wanted), -1, np.int64)
    position[rows] = np.arange(len(rows))
    ids, owners = [], []
    base = 0
    for chunk, first in snap.live_slices():
        off = chunk.attr_off
        lengths = np.diff(off[first:])
        live = chunk.n - first
        mine = wanted[base:base + live]
        picked = np.flatnonzero(mine)
        if len(picked):
            starts = off[first + picked]
            counts = lengths[picked]
            index = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
            ids.append(chunk.attr_flat[index].astype(np.int64))
            owners.append(np.repeat(position[base + picked], counts))
        base += live
    if not ids:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(ids), np.concatenate(owners)


def _intrinsics(columns: Any, snap: Any) -> list[tuple[str, list[LabelValue], npt.NDArray[np.int64]]]:
    """(name, values, code per selected span, -1 = none) for the intrinsics compare reports."""
    out = []
    plain = (("name", "name", None), ("kind", "kind", _KIND_NAMES), ("status", "status", _STATUS_NAMES))
    for name, column, names in plain:
        raw = columns.column(column).astype(np.int64)
        distinct, codes = np.unique(raw, return_inverse=True)
        if names is None:
            values = [("string", snap.names[i]) for i in distinct.tolist()]
        else:
            values = [("string", names.get(i, str(i))) for i in distinct.tolist()]
        out.append((name, values, codes.reshape(-1).astype(np.int64)))
    out += _trace_intrinsics(columns, snap)
    out += _scope_intrinsics(columns, snap)
    return out


def _trace_intrinsics(columns: Any, snap: Any) -> list[tuple[str, list[LabelValue], npt.NDArray[np.int64]]]:
    """rootName, rootServiceName and span:childCount, from the spans stored with each trace."""
    out = []
    for which in ("root_name", "root_service"):
        values, codes = root_values(snap, columns.rows, which)
        out.append((LABELS[which], values, codes))
    distinct, codes = np.unique(child_counts(snap, columns.rows), return_inverse=True)
    out.append(("span:childCount", [("int", int(c)) for c in distinct.tolist()], codes.reshape(-1).astype(np.int64)))
    return out


def _scope_intrinsics(columns: Any, snap: Any) -> list[tuple[str, list[LabelValue], npt.NDArray[np.int64]]]:
    scope = columns.column("scope")
    return [(LABELS[which], *scope_values(snap, scope, which)) for which in ("scope_name", "scope_version")]
