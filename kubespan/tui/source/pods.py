"""Pods named by spans and the traces that touch them. Headless: numpy over one snapshot.

A span names a pod with `k8s.pod` ("namespace/name", the kubelet's key) or with
`k8s.pod.name` (plus `k8s.namespace.name` on the same span or its resource: newer
semantic conventions, and app spans enriched by the Collector's k8sattributes).
A trace *touches* a pod when one of its spans names it, and everything in that trace
counts for the pod: the containerd and CRI spans under a `syncPod` carry no pod
attribute, but a failed image pull there is the pod's error. The node is the pod's
spans' `k8s.node.name` or `host.name` (the kubelet's resource), the most frequent one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.model import value_text
from kubespan.tui.filter_terms import quote_value
from kubespan.tui.source.trace_table import TraceColumns

POD_KEY = "k8s.pod"
POD_NAME_KEY = "k8s.pod.name"
NAMESPACE_KEY = "k8s.namespace.name"
NODE_KEYS = ("k8s.node.name", "host.name")
"""Where a pod's node comes from, the first found wins."""


class PodSort(str, Enum):
    """Orders of the pod view (`o` cycles), largest or newest first."""

    SPANS = "spans"
    ERRORS = "errors"
    LAST = "last activity"


class PodGrouping(str, Enum):
    """How the pod view groups its rows (`g` cycles)."""

    NAMESPACE = "namespace"
    NODE = "node"
    NONE = "none"


@dataclass
class PodRow:
    namespace: str
    name: str
    spans: int = 0
    """Spans of the (matching) traces that touch the pod."""
    errors: int = 0
    """Error spans of those traces."""
    last: int = 0
    """Latest span end (unix ns) in those traces."""
    traces: int = 0
    node: str = ""
    keys: set = field(default_factory=set)
    """Which attributes named it (`k8s.pod`, `k8s.pod.name`)."""

    @property
    def qualified(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class PodGroup:
    """A heading row of the pod view: one namespace or node and the totals of its pods."""

    grouping: PodGrouping
    label: str
    pods: int
    spans: int
    errors: int
    last: int

    @property
    def qualified(self) -> str:
        return f"{self.grouping.value}:{self.label}"


def pod_filter(pod: PodRow) -> str:
    """The filter that finds everything about `pod`: its name as a free-text word, which
    matches `k8s.pod`/`k8s.pod.name` attributes and apiserver URLs alike."""
    return quote_value(pod.name)


def pod_attribute_filter(pod: PodRow) -> str:
    if "k8s.pod" in pod.keys:
        return f"k8s.pod={quote_value(pod.qualified)}"
    if pod.namespace:  # newer semantic conventions: the namespace is its own attribute
        return f"k8s.pod.name={quote_value(pod.name)} k8s.namespace.name={quote_value(pod.namespace)}"
    return f"k8s.pod.name={quote_value(pod.name)}"


def group_filter(group: PodGroup) -> str:
    """The filter for a heading: its namespace's or node's spans."""
    if group.grouping is PodGrouping.NODE:
        return " ".join(f"{key}={quote_value(group.label)}" for key in NODE_KEYS[1:])
    return f"{NAMESPACE_KEY}={quote_value(group.label)}"


def sort_pods(pods: list[PodRow], sort: PodSort) -> list[PodRow]:
    key: Callable[[PodRow], Any] = {
        PodSort.SPANS: lambda p: (-p.spans, -p.last, p.qualified),
        PodSort.ERRORS: lambda p: (-p.errors, -p.spans, p.qualified),
        PodSort.LAST: lambda p: (-p.last, p.qualified),
    }[sort]
    return sorted(pods, key=key)


def grouped_rows(pods: list[PodRow], sort: PodSort, grouping: PodGrouping) -> list[PodRow | PodGroup]:
    """Pods in `sort` order under headings; headings ordered by the same key over their pods."""
    ordered = sort_pods(pods, sort)
    if grouping is PodGrouping.NONE:
        return list(ordered)
    members: dict[str, list[PodRow]] = {}
    for pod in ordered:
        members.setdefault(pod.namespace if grouping is PodGrouping.NAMESPACE else pod.node, []).append(pod)
    groups = [PodGroup(grouping, label or "?", len(rows), sum(p.spans for p in rows),
                       sum(p.errors for p in rows), max(p.last for p in rows)) for label, rows in members.items()]
    key = {PodSort.SPANS: lambda g: (-g.spans, g.label), PodSort.ERRORS: lambda g: (-g.errors, -g.spans, g.label),
           PodSort.LAST: lambda g: (-g.last, g.label)}[sort]
    out: list[PodRow | PodGroup] = []
    for group in sorted(groups, key=key):
        out.append(group)
        out.extend(members["" if group.label == "?" else group.label])
    return out


class _Names:
    """Attribute id → a small integer for the texts of one key (pods, names, namespaces, nodes)."""

    def __init__(self, snap: Any, size: int) -> None:
        self.snap = snap
        self.texts: list[str] = []
        self._slots: dict[str, int] = {}
        self.of_attr = np.full(size, -1, np.int64)

    def slot(self, text: str) -> int:
        found = self._slots.get(text)
        if found is None:
            found = self._slots[text] = len(self.texts)
            self.texts.append(text)
        return found

    def add_key(self, key: str) -> None:
        for index in self.snap.index.ids_of_key(key, self.snap.n_attributes):
            self.of_attr[index] = self.slot(value_text(self.snap.attributes[index].value))


def _per_span(chunk: Any, first: int, names: _Names) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(span index, slot) of every live span in `chunk` carrying one of `names`' attributes."""
    hits = names.of_attr[chunk.attr_flat]
    positions = np.flatnonzero(hits >= 0)
    spans = np.searchsorted(chunk.attr_off, positions, "right") - 1
    live = spans >= first
    return spans[live], hits[positions[live]]


def _per_resource(snap: Any, names: _Names) -> npt.NDArray[np.int64]:
    """Resource id → slot of its attribute of `names` (-1: none)."""
    out = np.full(len(snap.resource_attrs) + 1, -1, np.int64)
    for resource, attrs in enumerate(snap.resource_attrs):
        for a in attrs:
            if a < len(names.of_attr) and names.of_attr[a] >= 0:
                out[resource] = names.of_attr[a]
                break
    return out


def collect_pods(snap: Any, table: TraceColumns, matching: npt.NDArray[np.int64] | None = None,
                 cancelled: Callable[[], bool] = lambda: False) -> list[PodRow]:
    """Every pod named in `snap` whose traces include one of the trace rows `matching`
    (all traces when None), with its spans, errors and last activity summed over them."""
    size = snap.n_attributes
    pod_key, pod_name, namespace, node = (_Names(snap, size) for _ in range(4))
    pod_key.add_key(POD_KEY)
    pod_name.add_key(POD_NAME_KEY)
    namespace.add_key(NAMESPACE_KEY)
    for key in reversed(NODE_KEYS):  # the first key wins: added last
        node.add_key(key)
    if not pod_key.texts and not pod_name.texts:
        return []
    res_name, res_namespace, res_node = (_per_resource(snap, names) for names in (pod_name, namespace, node))
    pods: dict[tuple[str, str], int] = {}
    rows: list[PodRow] = []

    def pod_slot(ns: str, name: str, key: str) -> int:
        slot = pods.get((ns, name))
        if slot is None and not ns:  # a bare name: the namespaced pod of that name, if one is known
            slot = next((s for (n, m), s in pods.items() if m == name), None)
        if slot is None:
            slot = pods[(ns, name)] = len(rows)
            rows.append(PodRow(ns, name))
        rows[slot].keys.add(key)
        return slot

    key_pod = np.array([pod_slot(*_split(text), POD_KEY) for text in pod_key.texts] or [-1], np.int64)
    width = snap.n_traces + 1
    pairs: list[npt.NDArray[np.int64]] = []  # pod slot * width + trace row
    node_pairs: list[npt.NDArray[np.int64]] = []  # pod slot * nodes + node slot
    node_width = len(node.texts) + 1
    for chunk, first in snap.live_slices():
        if cancelled():
            return []
        resource = snap.scope_resource[chunk.scope].astype(np.int64)
        pod_of_span = np.full(len(resource), -1, np.int64)
        at, slot = _per_span(chunk, first, pod_key)
        pod_of_span[at] = key_pod[slot]
        span_name, span_namespace, span_node = res_name[resource], res_namespace[resource], res_node[resource]
        for names, column in ((pod_name, span_name), (namespace, span_namespace), (node, span_node)):
            at, slot = _per_span(chunk, first, names)
            column[at] = slot
        by_name = np.flatnonzero((span_name >= 0) & (pod_of_span < 0))
        by_name = by_name[by_name >= first]
        if len(by_name):
            names_width = len(pod_name.texts)
            combos = (span_namespace[by_name] + 1) * names_width + span_name[by_name]
            unique, inverse = np.unique(combos, return_inverse=True)
            slots = []
            for combo in unique.tolist():
                ns, name = divmod(combo, names_width)
                slots.append(pod_slot(namespace.texts[ns - 1] if ns else "", pod_name.texts[name], POD_NAME_KEY))
            pod_of_span[by_name] = np.array(slots, np.int64)[inverse.reshape(-1)]
        spans = np.flatnonzero(pod_of_span >= 0)
        spans = spans[spans >= first]
        if not len(spans):
            continue
        pairs.append(pod_of_span[spans] * width + chunk.trace[spans].astype(np.int64))
        with_node = spans[span_node[spans] >= 0]
        node_pairs.append(pod_of_span[with_node] * node_width + span_node[with_node])
    if not rows:
        return []
    unique = np.unique(np.concatenate(pairs)) if pairs else np.zeros(0, np.int64)
    pod_of, trace_of = unique // width, unique % width
    if matching is not None:
        keep = np.zeros(width, bool)
        keep[matching] = True
        shown = keep[trace_of]
        pod_of, trace_of = pod_of[shown], trace_of[shown]
    count = len(rows)
    traces = np.bincount(pod_of, minlength=count)
    spans_sum = np.bincount(pod_of, weights=table.spans[trace_of], minlength=count)
    errors_sum = np.bincount(pod_of, weights=table.errors[trace_of], minlength=count)
    last = np.zeros(count, np.int64)
    np.maximum.at(last, pod_of, table.end[trace_of])
    pod_nodes = _most_frequent(node_pairs, node_width, node.texts)
    out = []
    for index, pod in enumerate(rows):
        if traces[index] == 0:
            continue  # none of its traces match the filter
        pod.traces, pod.spans, pod.errors = int(traces[index]), int(spans_sum[index]), int(errors_sum[index])
        pod.last = int(last[index])
        pod.node = pod_nodes.get(index, "")
        out.append(pod)
    return sort_pods(out, PodSort.SPANS)


def _split(text: str) -> tuple[str, str]:
    namespace, _, name = text.rpartition("/")
    return namespace, name


def _most_frequent(pairs: list[npt.NDArray[np.int64]], width: int, texts: list[str]) -> dict[int, str]:
    """Pod slot → the text seen most often with it (`pairs`: slot * width + text slot)."""
    if not pairs:
        return {}
    combos, counts = np.unique(np.concatenate(pairs), return_counts=True)
    best: dict[int, tuple[int, str]] = {}
    for combo, count in zip(combos.tolist(), counts.tolist()):
        pod, text = divmod(combo, width)
        if pod not in best or count > best[pod][0]:
            best[pod] = (count, texts[text])
    return {pod: text for pod, (_, text) in best.items()}
