"""The Graph view's edge table: caller, callee, kind, calls/s, error %, p90; Enter filters to its spans."""

from __future__ import annotations

from rich.text import Text

from kubespan.metrics.graph import EdgeStats
from kubespan.tui.format import format_duration
from kubespan.tui.line_list import LineList, cells
from kubespan.tui.services_view import format_rate
from kubespan.tui.text import inert

KIND_NAMES = {"": "call", "messaging_system": "messaging", "database": "database", "virtual_node": "virtual",
              "link": "link"}


class EdgeList(LineList):
    """Rows are `EdgeStats`, busiest first."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.edges: list[EdgeStats] = []
        self.empty_message = ""
        """Set by the app (through GraphView) when the source offers no metrics."""

    def set_edges(self, edges: list[EdgeStats]) -> None:
        selected = self.selected_edge
        self.edges = edges
        if selected is not None:
            for index, edge in enumerate(edges):
                if edge.edge == selected.edge:
                    self.cursor = index
                    break
        self.data_changed()

    @property
    def selected_edge(self) -> EdgeStats | None:
        return self.edges[self.cursor] if 0 <= self.cursor < len(self.edges) else None

    def row_count(self) -> int:
        return len(self.edges)

    def empty_text(self) -> Text:
        if self.empty_message:
            return Text(self.empty_message, style="dim")
        return Text("No calls between services in the window yet (client and server spans pair up)", style="dim")

    def _layout(self, width: int, caller: Text | str, callee: Text | str, kind: Text | str, rate: Text | str,
                errors: Text | str, p90: Text | str) -> Text:
        name = max(10, (width - 10 - 8 - 6 - 7 - 5) // 2)
        return cells((caller, name, "left"), (callee, name, "left"), (kind, 10, "left"), (rate, 8, "right"),
                     (errors, 6, "right"), (p90, 7, "right"))

    def render_header(self, width: int) -> Text:
        return self._layout(width, "CALLER", "CALLEE", "KIND", "CALLS/S", "ERR%", "P90")

    def render_row(self, index: int, width: int) -> Text:
        stats = self.edges[index]
        edge = stats.edge
        errors = Text(f"{stats.error_pct:.1f}", style="bold red") if stats.error_pct else Text("0", style="dim")
        kind = Text(KIND_NAMES.get(edge.connection, edge.connection), style="dim" if not edge.connection else "yellow")
        return self._layout(width, inert(edge.client, "cyan", limit=120), inert(edge.server, "cyan", limit=120),
                            kind, format_rate(stats.rate), errors,
                            format_duration(round(stats.p90 * 1e9)) if stats.p90 else "-")

    def row_key(self, index: int) -> object:
        return (self.edges[index], self._generation)
