"""The Graph view (key 5): the edge table above a text drawing of the service graph.

Edges come from `kubespan.metrics.live.LiveMetrics` (paired as spans arrive). Enter on an edge
posts `EdgeChosen` with a filter for its spans; `f` adds that filter (`filter_text()`).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var

from kubespan.metrics.graph import EdgeStats, edge_query
from kubespan.tui.edge_list import EdgeList
from kubespan.tui.graph_drawing import GraphDrawing
from kubespan.tui.line_list import LineList
from kubespan.tui.metrics_refresh import REFRESH_S, MetricsRefresh, Window


class GraphView(MetricsRefresh, Vertical):
    """Edge table (focusable) and drawing; `set_edges` from a worker's result."""

    search: var[Any] = var(None, init=False)
    paused: var[bool] = var(False)
    narrows = False

    def __init__(self, source: Any = None, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        """`source.metrics()` gives the edges; None: fed by `set_edges` only."""
        super().__init__(id=id)
        self.source = source
        self.tz = tz

    def on_mount(self) -> None:
        if self.source is not None:
            self.set_interval(REFRESH_S, self.refresh_metrics)
            self.refresh_metrics()

    def on_show(self) -> None:
        self.refresh_metrics()

    def collect_metrics(self, live: Any, window: Window) -> list[EdgeStats]:
        return live.edges(window.start, window.end)  # type: ignore[no-any-return]

    def show_metrics(self, data: list[EdgeStats], window: Window) -> None:
        self.set_edges(data)

    DEFAULT_CSS = """
    GraphView { height: 1fr; }
    GraphView > EdgeList { height: 1fr; }
    """

    class EdgeChosen(Message):
        """Enter on an edge: `query` finds its spans."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    def compose(self) -> ComposeResult:
        yield EdgeList(id="edges")
        yield GraphDrawing(id="drawing")

    @property
    def edge_list(self) -> EdgeList:
        return self.query_one(EdgeList)

    def set_edges(self, edges: list[EdgeStats]) -> None:
        self.edge_list.set_edges(edges)
        self.query_one(GraphDrawing).set_edges(edges)

    def filter_text(self) -> str | None:
        selected = self.edge_list.selected_edge
        return None if selected is None else edge_query(selected.edge)

    def on_line_list_selected(self, message: LineList.Selected) -> None:
        message.stop()
        query = self.filter_text()
        if query is not None:
            self.post_message(self.EdgeChosen(query))

    def focus_edges(self) -> None:
        self.edge_list.focus()
