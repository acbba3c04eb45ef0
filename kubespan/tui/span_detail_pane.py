"""The span detail pane: the lines of one span; `y` copies, `f` filters, Enter opens."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from kubespan.tui.detail_lines import DetailItem, DetailLine, detail_lines
from kubespan.tui.line_list import LineList
from kubespan.tui.value_screen import ValueScreen


class SpanDetailPane(LineList):
    """A LineList of `DetailLine`s built from the store's `SpanDetail`."""

    HEADER = False

    BINDINGS = [
        Binding("enter", "open_line", "Open link / full value"),
        Binding("v", "view_value", "Full value"),
    ]

    DEFAULT_CSS = """
    SpanDetailPane { height: 1fr; }
    """

    class LinkChosen(Message):
        """Enter on a link: show the linked trace, its span selected."""

        def __init__(self, trace_id: bytes, span_id: bytes) -> None:
            super().__init__()
            self.trace_id = trace_id
            self.span_id = span_id

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.lines: list[DetailLine] = []
        self.ordinal: int | None = None

    def row_count(self) -> int:
        return len(self.lines)

    def empty_text(self) -> Text:
        return Text("Select a span to see its details", style="dim")

    def render_row(self, index: int, width: int) -> Text:
        return self.lines[index].text.copy()

    @property
    def selected_item(self) -> DetailItem | None:
        if 0 <= self.cursor < len(self.lines):
            return self.lines[self.cursor].item
        return None

    def show(self, ordinal: int | None, detail: Any, *, cursor: int | None = None) -> None:
        """Show one span's `detail` (None: nothing selected, or evicted when `ordinal` is set)."""
        keep = ordinal == self.ordinal
        self.ordinal = ordinal
        self.lines = detail_lines(detail, self.tz) if detail is not None else (
            [DetailLine(Text("(span evicted from the store)", style="dim"))] if ordinal is not None else []
        )
        if cursor is not None:
            self.cursor = cursor
        elif not keep:
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        self.data_changed()

    def action_open_line(self) -> None:
        item = self.selected_item
        if item is not None and item.link is not None:
            self.post_message(self.LinkChosen(*item.link))
        else:
            self.action_view_value()

    def action_view_value(self) -> None:
        item = self.selected_item
        if item is not None:
            self.app.push_screen(ValueScreen(item.label, item.value))
