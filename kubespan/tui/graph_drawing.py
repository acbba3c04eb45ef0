"""A small text drawing of the service graph: each caller once, its callees under a fork.

    kubelet   ─┬─ 2.84/s ─▶ containerd
               └─ 0.20/s ┄▶ apiserver  link
    user      ─── 2.15/s ╌▶ apiserver  virtual

Solid arrows are client/server pairs (and messaging, databases), dotted ones Kubernetes' links,
dashed ones virtual nodes (a peer that sent no spans, or `user`). Lines fit the width given.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from kubespan.metrics.graph import EdgeStats
from kubespan.tui.services_view import format_rate
from kubespan.tui.text import inert

ARROWS = {"link": "┄▶", "virtual_node": "╌▶"}
LABELS = {"link": "link", "virtual_node": "virtual", "database": "db", "messaging_system": "queue"}
MAX_NAME = 20


def draw_graph(edges: list[EdgeStats], width: int = 80) -> list[Text]:
    """Lines of the drawing, callers by total calls, at most `width` cells each."""
    callers: dict[str, list[EdgeStats]] = {}
    for stats in edges:
        callers.setdefault(stats.edge.client, []).append(stats)
    order = sorted(callers, key=lambda name: (-sum(e.calls for e in callers[name]), name))
    column = min(MAX_NAME, max((len(name) for name in order), default=4))
    lines = []
    for caller in order:
        mine = sorted(callers[caller], key=lambda e: (-e.calls, e.edge.server))
        for position, stats in enumerate(mine):
            line = Text(no_wrap=True, end="")
            if position == 0:
                line.append_text(_name(caller, column, "bold cyan"))
                fork = "───" if len(mine) == 1 else "─┬─"
            else:
                line.append(" " * column)
                fork = " └─" if position == len(mine) - 1 else " ├─"
            line.append(" " + fork + " ", style="dim")
            line.append(format_rate(stats.rate) + "/s", style="bold")
            line.append(" " + ARROWS.get(stats.edge.connection, "─▶") + " ", style="dim")
            line.append_text(_name(stats.edge.server, MAX_NAME, "bold red" if stats.error_pct else "cyan",
                                   pad=False))
            label = LABELS.get(stats.edge.connection)
            if label:
                line.append(f"  {label}", style="yellow")
            if stats.error_pct:
                line.append(f"  {stats.error_pct:.1f}% err", style="red")
            line.truncate(width, overflow="ellipsis")
            lines.append(line)
    return lines


def _name(name: str, width: int, style: str, pad: bool = True) -> Text:
    text = inert(name, style, limit=width - 1 if len(name) > width else None)
    if pad and text.cell_len < width:
        text.pad_right(width - text.cell_len)
    return text


class GraphDrawing(Widget):
    """Renders `draw_graph` for the edges it was given, to its own width."""

    DEFAULT_CSS = """
    GraphDrawing { height: auto; max-height: 50%; padding: 0 1; border-top: solid $primary-darken-2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.edges: list[EdgeStats] = []

    def set_edges(self, edges: list[EdgeStats]) -> None:
        self.edges = edges
        self.refresh(layout=True)

    def render(self) -> Text:
        lines = draw_graph(self.edges, max(20, self.size.width - 2))
        if not lines:
            return Text("(no edges yet)", style="dim")
        return Text("\n").join(lines)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(draw_graph(self.edges, width)))
