"""Pods named by spans (`k8s.pod`, `k8s.namespace.name`/`k8s.pod.name`) and their activity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubespan.tui.filter_terms import quote_value

MAX_PODS = 500
"""Pods listed (the most active first); each costs two searches per refresh."""


@dataclass
class PodRow:
    namespace: str
    name: str
    spans: int = 0
    errors: int = 0
    last: int = 0
    keys: set = field(default_factory=set)  # which attributes named it

    @property
    def qualified(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


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


def collect_pods(store: Any, compile_query: Callable[[str], object],
                 cancelled: Callable[[], bool] = lambda: False) -> list[PodRow]:
    """Pods seen in the store, most spans first, with error counts and last activity."""
    pods: dict[tuple[str, str], PodRow] = {}
    for value, count in store.attribute_values("k8s.pod", limit=MAX_PODS):
        namespace, _, name = str(value).rpartition("/")
        pod = pods.setdefault((namespace, name), PodRow(namespace, name))
        pod.spans += count
        pod.keys.add("k8s.pod")
    for value, count in store.attribute_values("k8s.pod.name", limit=MAX_PODS):
        name = str(value)
        known = [pod for (ns, n), pod in pods.items() if n == name]
        pod = known[0] if known else pods.setdefault(("", name), PodRow("", name))
        pod.spans = max(pod.spans, count)
        pod.keys.add("k8s.pod.name")
    rows = sorted(pods.values(), key=lambda pod: (-pod.spans, pod.qualified))[:MAX_PODS]
    for pod in rows:
        if cancelled():
            break
        _fill_pod(store, compile_query, pod)
    return rows


def _fill_pod(store, compile_query, pod: PodRow) -> None:
    base = pod_attribute_filter(pod)
    try:
        ordinals = store.search(compile_query(base))
        errors = store.search(compile_query(base + " status=error"))
    except Exception:  # a query the language does not accept: show what we have
        return
    pod.errors = len(errors)
    if len(ordinals):
        row = store.span_row(int(ordinals[-1]))
        if row is not None:
            pod.last = max(row.end, row.start)
            if not pod.namespace:
                pod.namespace = _namespace(row)


def _namespace(row) -> str:
    for key, value in list(row.attributes) + list(getattr(row, "resource_attributes", ()) or ()):
        if key == "k8s.namespace.name":
            return str(value)
    return ""
