"""The Graph view (key 5): the edge table above a text drawing of the service graph.

Edges come from `kubespan.metrics.live.LiveMetrics` (paired as spans arrive) or a remote's
`kubespan.remote.metrics.RemoteMetrics`; what they leave out is said in a line above the table. Enter on an edge
shows its spans (the app applies `ApplyFilter` with the edge's filter, `filter_text()`); `f` adds
that filter to the current TraceQL one (`filter_with`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import var
from textual.widgets import Static

from kubespan.metrics.graph import EdgeStats, edge_query
from kubespan.tui.edge_list import EdgeList
from kubespan.tui.graph_drawing import GraphDrawing
from kubespan.tui.line_list import LineList
from kubespan.tui.messages import ApplyFilter, Searched
from kubespan.tui.metrics_refresh import MetricsRefresh, Window


@dataclass
class EdgesCounted(Searched):
    """The number of edges, for the filter bar's count while the graph is shown."""

    graph: Any = None

    @property
    def control(self) -> Any:
        return self.graph


class GraphView(MetricsRefresh, Vertical):
    """Edge table (focusable) and drawing; `set_edges` from a worker's result."""

    search: var[Any] = var(None, init=False)
    paused: var[bool] = var(False)
    narrows = False
    capability = "graph"

    def __init__(self, source: Any = None, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        """`source.metrics()` gives the edges; None: fed by `set_edges` only."""
        super().__init__(id=id)
        self.source = source
        self.tz = tz

    def collect_metrics(self, live: Any, window: Window) -> tuple[list[EdgeStats], list[str]]:
        return live.edges(window.start, window.end), live.edge_notes()

    def show_metrics(self, data: tuple[list[EdgeStats], list[str]], window: Window) -> None:
        edges, notes = data
        self.set_edges(edges)
        self.set_notes(notes)
        self.app.post_message(EdgesCounted("edges", len(edges), graph=self))

    DEFAULT_CSS = """
    GraphView { height: 1fr; }
    GraphView > EdgeList { height: 1fr; }
    GraphView > #graph-notes { height: auto; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="graph-notes")
        yield EdgeList(id="edges")
        yield GraphDrawing(id="drawing")

    def on_mount(self) -> None:  # then MetricsRefresh.on_mount starts the refresh timer
        self.set_notes([])

    def set_notes(self, notes: list[str]) -> None:
        """What the edges leave out or why they are old (a limit, a remote that failed); hidden when none."""
        label = self.query_one("#graph-notes", Static)
        label.update(Text("; ".join(notes), no_wrap=True, overflow="ellipsis"))
        label.display = bool(notes)

    @property
    def edge_list(self) -> EdgeList:
        return self.query_one(EdgeList)

    def set_edges(self, edges: list[EdgeStats]) -> None:
        self.edge_list.set_edges(edges)
        self.query_one(GraphDrawing).set_edges(edges)

    @property
    def empty_message(self) -> str:
        """What the edge table says when empty; the app sets it for a source without metrics."""
        return self.edge_list.empty_message

    @empty_message.setter
    def empty_message(self, text: str) -> None:
        self.edge_list.empty_message = text
        self.edge_list.refresh()

    def filter_text(self) -> str | None:
        """The TraceQL filter for the spans behind the selected edge (Enter applies it)."""
        selected = self.edge_list.selected_edge
        return None if selected is None else edge_query(selected.edge)

    def filter_with(self, current: str) -> str | None:
        """`current` AND the selected edge's filter (`f`); None if there is no edge or `current` is not
        TraceQL (the shorthand has no structure: Enter replaces the filter instead)."""
        query = self.filter_text()
        current = current.strip()
        if query is None or (current and not current.startswith("{")):
            return None
        return f"({current}) && ({query})" if current else query

    def copy_target(self) -> tuple[str, str | None]:
        return "edge filter", self.filter_text()

    def trace_target(self) -> bytes | None:
        return None

    def on_line_list_selected(self, message: LineList.Selected) -> None:
        message.stop()
        query = self.filter_text()
        if query is not None:
            self.app.post_message(ApplyFilter(query, view="spans"))

    def action_select(self) -> None:
        """Enter from the palette: as Enter on the edge table."""
        self.edge_list.action_select()

    def focus(self, scroll_visible: bool = True) -> GraphView:
        """Focus goes to the edge table (the drawing takes no keys)."""
        self.edge_list.focus(scroll_visible)
        return self

    def focus_edges(self) -> None:
        self.edge_list.focus()
