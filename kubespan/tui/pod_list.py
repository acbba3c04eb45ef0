"""The pod view: every pod the matching traces touch, with their spans, errors and last activity.

The numbers are per trace: a trace one of whose spans names the pod counts whole (the
containerd work under a `syncPod` is the pod's). Rows are grouped under their namespace
or node (`b` cycles namespace, node, none) and sorted by spans, errors or last activity
(`o`). Enter on a pod filters on its name across all services, so the trace list shows
its kubelet syncs (with the containerd work under them) and the apiserver requests that
name it; Enter on a heading filters on the namespace or node.
"""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.reactive import var
from textual.worker import get_current_worker

from kubespan.tui.columns import Column, Columns
from kubespan.tui.format import format_clock, format_count, plural
from kubespan.tui.line_list import LineList, cells
from kubespan.tui.messages import ApplyFilter, Searched
from kubespan.tui.source.base import DataSource, Search
from kubespan.tui.source.pods import (
    PodGroup,
    PodGrouping,
    PodRow,
    PodSort,
    group_filter,
    grouped_rows,
    pod_attribute_filter,
    pod_filter,
)
from kubespan.tui.text import inert

REFRESH_EVERY = 2.0
"""Seconds between recomputing the pods while the view is shown and spans arrive."""

NAMESPACE = Column("NAMESPACE", None, min_width=12, max_width=24)
POD = Column("POD", None, min_width=20, max_width=40)
NODE = Column("NODE", None, min_width=18, max_width=32, drop=1)
NUMBERS = (Column("SPANS", 7, "right"), Column("ERRORS", 7, "right"), Column("LAST ACTIVITY", 14))
COLUMNS = {
    PodGrouping.NAMESPACE: Columns(POD, NODE, *NUMBERS),
    PodGrouping.NODE: Columns(NAMESPACE, POD, *NUMBERS),
    PodGrouping.NONE: Columns(NAMESPACE, POD, NODE, *NUMBERS),
}
"""The grouped-by column is left out: the heading above the rows names it."""
SORT_COLUMNS = {PodSort.SPANS: "SPANS", PodSort.ERRORS: "ERRORS", PodSort.LAST: "LAST ACTIVITY"}
TEXT_COLUMNS = {"NAMESPACE", "POD", "NODE"}


class PodList(LineList):
    """Rows are `PodGroup` headings and `PodRow`s, computed by the source in a worker."""

    BINDINGS = [
        Binding("o", "cycle_sort", "Sort"),
        Binding("b", "cycle_grouping", "Group by"),
    ]

    search: var[Search] = var(Search, init=False)
    """The applied filter (bound from the app)."""
    feed: var[int] = var(0, init=False)
    """The source's content version (bound from the app)."""
    sort: var[PodSort] = var(PodSort.SPANS, init=False)
    """`o` cycles: spans, errors, last activity (largest or newest first)."""
    grouping: var[PodGrouping] = var(PodGrouping.NAMESPACE, init=False)
    """`b` cycles: by namespace, by node, not grouped."""

    def __init__(self, source: DataSource, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.tz = tz
        self.pods: list[PodRow] = []
        """The pods as the source answered, most spans first."""
        self.rows: list[PodRow | PodGroup] = []
        """What is listed: headings and pods, in order."""
        self._refreshed = 0.0

    def row_count(self) -> int:
        return len(self.rows)

    empty_message = "No pods seen yet (spans with k8s.pod or k8s.pod.name attributes)"

    def empty_text(self) -> Text:
        if self.search.text and self.source.capabilities.pods:
            return Text("No pods in the traces that match the filter", style="dim")
        return super().empty_text()

    @property
    def selected(self) -> PodRow | PodGroup | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def index_of(self, qualified: str) -> int | None:
        """Where the pod (or heading) `qualified` is listed."""
        return next((i for i, row in enumerate(self.rows) if row.qualified == qualified), None)

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
        if not self.source.capabilities.pods:
            self.app.post_message(Searched("pods", 0))
            return
        self._refreshed = time.monotonic()
        self._pods_worker(self.search)

    @work(thread=True, exclusive=True, group="pods", exit_on_error=False)
    def _pods_worker(self, search: Search) -> None:
        pods = self.source.pods(search)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.set_pods, pods)

    def set_pods(self, pods: list[PodRow]) -> None:
        self.pods = pods
        self._arrange()
        self.app.post_message(Searched("pods", len(pods)))

    def _arrange(self) -> None:
        """Lay the pods out for the sort and grouping; the selected row stays selected."""
        selected = self.selected
        self.rows = grouped_rows(self.pods, self.sort, self.grouping)
        if selected is not None:
            found = self.index_of(selected.qualified)
            self.cursor = found if found is not None else min(self.cursor, max(0, len(self.rows) - 1))
        self.data_changed()

    def action_cycle_sort(self) -> None:
        sorts = list(PodSort)
        self.sort = sorts[(sorts.index(self.sort) + 1) % len(sorts)]

    def action_cycle_grouping(self) -> None:
        groupings = list(PodGrouping)
        self.grouping = groupings[(groupings.index(self.grouping) + 1) % len(groupings)]

    def watch_sort(self) -> None:
        self._arrange()

    def watch_grouping(self) -> None:
        self._arrange()

    # -- what the app asks of the shown pane -----------------------------------------------------

    def copy_target(self) -> tuple[str, str | None]:
        row = self.selected
        if isinstance(row, PodGroup):
            return row.grouping.value, row.label
        return "pod", row.qualified if row else None

    def trace_target(self) -> bytes | None:
        return None

    def action_select(self) -> None:
        row = self.selected
        if row is None:
            return
        if isinstance(row, PodGroup):
            self.app.post_message(ApplyFilter(group_filter(row)))
            return
        try:
            self.source.compile(pod_filter(row))
            text = pod_filter(row)
        except Exception:  # noqa: BLE001 - a name the free-text syntax cannot take
            text = pod_attribute_filter(row)
        self.app.post_message(ApplyFilter(text))

    # -- drawing ------------------------------------------------------------------------------------

    @property
    def columns(self) -> Columns:
        return COLUMNS[self.grouping]

    def render_header(self, width: int) -> Text:
        title = SORT_COLUMNS[self.sort]
        return self.columns.header(width, {title: title + "▼"})

    def render_row(self, index: int, width: int) -> Text:
        row = self.rows[index]
        if isinstance(row, PodGroup):
            return self._render_group(row, width)
        values = {
            "NAMESPACE": inert(row.namespace or "?", "cyan", limit=64),
            "POD": inert(row.name, "bold", limit=200),
            "NODE": self._node_text(row.node, width),
        }
        return self.columns.row(width, *(values[c.title] for c in self.columns.columns if c.title in values),
                                *self._numbers(row.spans, row.errors, row.last))

    def _render_group(self, group: PodGroup, width: int) -> Text:
        """A heading: the namespace or node across the text columns, then its pods' totals."""
        columns = self.columns
        shown = [(c, w) for c, w in zip(columns.columns, columns.widths(width)) if w > 0]
        label_width = sum(w for c, w in shown if c.title in TEXT_COLUMNS)
        label_width += columns.GAP * (sum(1 for c, _ in shown if c.title in TEXT_COLUMNS) - 1)
        label = inert(group.label, "bold cyan" if group.grouping is PodGrouping.NAMESPACE else "bold magenta",
                      limit=128)
        label.append(f"  {group.grouping.value} · {plural(group.pods, 'pod', exact=True)}", style="dim")
        numbers = self._numbers(group.spans, group.errors, group.last)
        tail = [(value, w, c.justify) for value, (c, w) in zip(numbers, [s for s in shown if s[0].title not in
                                                                           TEXT_COLUMNS])]
        return cells((label, label_width, "left"), *tail, gap=columns.GAP)

    def _node_text(self, node: str, width: int) -> Text:
        """Node names differ at their end (`…-server-0`, `…-agent-1`): cut at the front."""
        room = dict(zip((c.title for c in self.columns.columns), self.columns.widths(width))).get("NODE", 0)
        if not node:
            return Text("?", style="dim")
        if 0 < room < len(node):
            return Text("…", style="dim") + inert(node[-(room - 1):], "dim", limit=None)
        return inert(node, "dim", limit=128)

    def _numbers(self, spans: int, errors: int, last: int) -> tuple[Text, Text, Text]:
        return (Text(format_count(spans)),
                Text(str(errors), style="bold red") if errors else Text("0", style="dim"),
                Text(format_clock(last, self.tz) if last else "", style="dim"))

    def row_key(self, index: int) -> Any:
        row = self.rows[index]
        return (self.grouping, row.qualified, row.spans, row.errors, row.last, getattr(row, "node", ""))
