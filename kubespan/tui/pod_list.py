"""The pod view: every pod named by spans, with its activity.

Enter opens a pod: the filter becomes the pod's name across all services, so the
trace list shows its kubelet syncs (with the containerd work under them) and the
apiserver requests that name it.
"""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual import work
from textual.reactive import var
from textual.worker import get_current_worker

from kubespan.tui.columns import Column, Columns
from kubespan.tui.format import format_clock, format_count
from kubespan.tui.line_list import LineList
from kubespan.tui.messages import ApplyFilter, Searched
from kubespan.tui.source.base import DataSource, Search
from kubespan.tui.source.pods import PodRow, pod_attribute_filter, pod_filter
from kubespan.tui.text import inert

REFRESH_EVERY = 2.0
"""Seconds between recomputing the pods while the view is shown and spans arrive."""

COLUMNS = Columns(
    Column("NAMESPACE", None, min_width=12, max_width=24),
    Column("POD", None, min_width=20),
    Column("SPANS", 7, "right"),
    Column("ERRORS", 7, "right"),
    Column("LAST ACTIVITY", 13),
)


class PodList(LineList):
    """Rows are `PodRow`s, computed by the source in a worker."""

    search: var[Search] = var(Search, init=False)
    """The applied filter (bound from the app)."""
    feed: var[int] = var(0, init=False)
    """The source's content version (bound from the app)."""

    def __init__(self, source: DataSource, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.tz = tz
        self.pods: list[PodRow] = []
        self._refreshed = 0.0

    def row_count(self) -> int:
        return len(self.pods)

    empty_message = "No pods seen yet (spans with k8s.pod or k8s.pod.name attributes)"

    @property
    def selected_pod(self) -> PodRow | None:
        return self.pods[self.cursor] if 0 <= self.cursor < len(self.pods) else None

    # -- loading ------------------------------------------------------------------------------------

    def on_show(self) -> None:
        self.load()

    def watch_search(self) -> None:
        if self.display:
            self.load()

    def watch_feed(self) -> None:
        if self.display and time.monotonic() - self._refreshed >= REFRESH_EVERY:
            self.load()

    def load(self) -> None:
        self._refreshed = time.monotonic()
        self._pods_worker(self.search)

    @work(thread=True, exclusive=True, group="pods", exit_on_error=False)
    def _pods_worker(self, search: Search) -> None:
        pods = self.source.pods(search)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.set_pods, pods)

    def set_pods(self, pods: list[PodRow]) -> None:
        selected = self.selected_pod
        self.pods = pods
        if selected is not None:
            for index, pod in enumerate(pods):
                if pod.qualified == selected.qualified:
                    self.cursor = index
                    break
        self.data_changed()
        self.app.post_message(Searched("pods", len(pods)))

    # -- what the app asks of the shown pane -----------------------------------------------------

    def copy_target(self) -> tuple[str, str | None]:
        pod = self.selected_pod
        return "pod", pod.qualified if pod else None

    def trace_target(self) -> bytes | None:
        return None

    def action_select(self) -> None:
        pod = self.selected_pod
        if pod is None:
            return
        try:
            self.source.compile(pod_filter(pod))
            text = pod_filter(pod)
        except Exception:  # noqa: BLE001 - a name the free-text syntax cannot take
            text = pod_attribute_filter(pod)
        self.app.post_message(ApplyFilter(text))

    # -- drawing ------------------------------------------------------------------------------------

    def render_header(self, width: int) -> Text:
        return COLUMNS.header(width)

    def render_row(self, index: int, width: int) -> Text:
        pod = self.pods[index]
        return COLUMNS.row(
            width,
            inert(pod.namespace or "?", "cyan", limit=64),
            inert(pod.name, "bold", limit=200),
            Text(format_count(pod.spans)),
            Text(str(pod.errors), style="bold red") if pod.errors else Text("0", style="dim"),
            Text(format_clock(pod.last, self.tz) if pod.last else "", style="dim"),
        )

    def row_key(self, index: int) -> Any:
        pod = self.pods[index]
        return (pod.qualified, pod.spans, pod.errors, pod.last)
