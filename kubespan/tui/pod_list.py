"""The pod view: every pod named by spans (`k8s.pod`, `k8s.namespace.name`/`k8s.pod.name`).

Enter opens a pod: the filter becomes the pod's name across all services, so the
trace list shows its kubelet syncs (with the containerd work under them) and the
apiserver requests that name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Callable

from rich.text import Text

from kubespan.tui.format import format_clock, format_count
from kubespan.tui.filter_bar import traceql_string
from kubespan.tui.line_list import LineList, cells
from kubespan.tui.text import inert

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
    return traceql_string(pod.name)


def pod_attribute_filter(pod: PodRow) -> str:
    if "k8s.pod" in pod.keys:
        return f"k8s.pod={traceql_string(pod.qualified)}"
    if pod.namespace:  # newer semantic conventions: the namespace is its own attribute
        return f"k8s.pod.name={traceql_string(pod.name)} k8s.namespace.name={traceql_string(pod.namespace)}"
    return f"k8s.pod.name={traceql_string(pod.name)}"


def collect_pods(store, compile_query: Callable[[str], object], cancelled: Callable[[], bool] = lambda: False) -> list[PodRow]:
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


class PodList(LineList):
    """Rows are `PodRow`s from a worker."""

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.pods: list[PodRow] = []

    def row_count(self) -> int:
        return len(self.pods)

    def empty_text(self) -> Text:
        return Text("No pods seen yet (spans with k8s.pod or k8s.pod.name attributes)", style="dim")

    @property
    def selected_pod(self) -> PodRow | None:
        return self.pods[self.cursor] if 0 <= self.cursor < len(self.pods) else None

    def set_pods(self, pods: list[PodRow]) -> None:
        selected = self.selected_pod
        self.pods = pods
        if selected is not None:
            for index, pod in enumerate(pods):
                if pod.qualified == selected.qualified:
                    self.cursor = index
                    break
        self.data_changed()

    def render_header(self, width: int) -> Text:
        return self._layout(width, "NAMESPACE", "POD", "SPANS", "ERRORS", "LAST ACTIVITY")

    def _layout(self, width, namespace, name, spans, errors, last) -> Text:
        name_width = max(10, width - 24 - 8 - 8 - 14 - 4)
        return cells((namespace, 24, "left"), (name, name_width, "left"), (spans, 8, "right"),
                     (errors, 8, "right"), (last, 14, "left"))

    def render_row(self, index: int, width: int) -> Text:
        pod = self.pods[index]
        return self._layout(
            width,
            inert(pod.namespace or "?", "cyan", limit=64),
            inert(pod.name, "bold", limit=200),
            Text(format_count(pod.spans)),
            Text(str(pod.errors), style="bold red") if pod.errors else Text("0", style="dim"),
            Text(format_clock(pod.last, self.tz) if pod.last else "", style="dim"),
        )
