"""The waterfall: one trace as a foldable span tree with bars on a shared time axis."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from kubespan.tui.format import STATUS_ERROR, format_duration, plural
from kubespan.tui.line_list import LineList, cells
from kubespan.tui.text import inert
from kubespan.tui.tree import (
    TreeLine,
    bar_cells,
    build_tree,
    service_color,
    time_axis,
    tree_prefix,
)


class Waterfall(LineList):
    """Rows are `TreeLine`s; the cursor selects a span."""

    class Relaid(Message):
        """The number of visible rows changed (a new trace, a fold)."""

    BINDINGS = [
        Binding("left,h", "fold", "Fold"),
        Binding("right,l", "unfold", "Unfold"),
        Binding("space", "toggle_fold", "Fold/unfold", show=False),
        Binding("e", "next_error", "Next error"),
        Binding("E", "previous_error", "Prev error", show=False),
        Binding("enter", "select", "Detail"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.event_times: Callable[[Any], list[int]] | None = None
        """Times (unix ns) of a span's events, drawn as ◆ on its bar (from the trace's data)."""
        self.trace_id: bytes | None = None
        self.rows: list[Any] = []
        self.lines: list[TreeLine] = []
        self.folded: set[bytes] = set()
        self.trace_start = 0
        self.trace_end = 0

    def row_count(self) -> int:
        return len(self.lines)

    @property
    def selected_row(self):
        if 0 <= self.cursor < len(self.lines):
            return self.lines[self.cursor].row
        return None

    def set_trace(self, trace_id: bytes, rows: Sequence[Any], *,
                  event_times: Callable[[Any], list[int]] | None = None) -> None:
        """Show `rows` (all spans of `trace_id`); keeps folds and selection for the same trace."""
        self.event_times = event_times
        selected = self.selected_row.span_id if self.selected_row is not None and trace_id == self.trace_id else None
        if trace_id != self.trace_id:
            self.folded = set()
            self.cursor = 0
        self.trace_id = trace_id
        self.rows = list(rows)
        self.trace_start = min((row.start for row in rows), default=0)
        self.trace_end = max((max(row.end, row.start) for row in rows), default=0)
        self._relayout(selected)

    def _relayout(self, selected: bytes | None) -> None:
        self.lines = build_tree(self.rows, self.folded)
        if selected is not None:
            for index, line in enumerate(self.lines):
                if line.row.span_id == selected:
                    self.cursor = index
                    break
        self.data_changed()
        self.post_message(self.Relaid())

    def render_header(self, width: int) -> Text:
        name_width, bar_width = self._widths(width)
        line = Text(time_axis(self.trace_start, self.trace_end, bar_width), end="")
        total = format_duration(self.trace_end - self.trace_start) if self.rows else ""
        title = f"SPAN ({plural(len(self.rows), 'span')}, {total})" if self.rows else "SPAN"
        return cells((title, name_width, "left"), ("DURATION", 9, "right"), (line, bar_width, "left"))

    def _widths(self, width: int) -> tuple[int, int]:
        name_width = max(24, min(64, width // 2))
        return name_width, max(1, width - name_width - 9 - 2)

    def render_row(self, index: int, width: int) -> Text:
        line = self.lines[index]
        row = line.row
        name_width, bar_width = self._widths(width)
        error = row.status == STATUS_ERROR
        color = service_color(row.service or "?")
        label = Text(tree_prefix(line), style="dim", end="")
        if error:
            label.append("! ", "bold red")
        label.append_text(inert(row.service or "?", color, limit=40))
        label.append(" ")
        label.append_text(inert(row.name, "bold red" if error else "", limit=200))
        if line.folded:
            label.append(f" (+{line.child_count})", "dim")
        if line.orphan:
            label.append(" (orphan)", "italic yellow")
        left, length = bar_cells(row.start, row.end, self.trace_start, self.trace_end, bar_width)
        bar = Text(" " * left, end="")
        bar.append("█" * length, "red" if error else color)
        for moment in self.event_times(row) if self.event_times else ():
            column = bar_cells(moment, moment, self.trace_start, self.trace_end, bar_width)[0]
            bar = bar[:column] + Text("◆", style="bold yellow" if not error else "bold white") + bar[column + 1:]
        return cells(
            (label, name_width, "left"), (format_duration(row.duration), 9, "right"), (bar, bar_width, "left"),
        )

    # -- folding -------------------------------------------------------------------

    def action_fold(self) -> None:
        line = self._line()
        if line is None:
            return
        if line.child_count and not line.folded:
            self.folded.add(line.row.span_id)
            self._relayout(line.row.span_id)
        elif line.depth:
            for index in range(self.cursor - 1, -1, -1):
                if self.lines[index].depth < line.depth:
                    self.move_cursor(index)
                    break

    def action_unfold(self) -> None:
        line = self._line()
        if line is not None and line.folded:
            self.folded.discard(line.row.span_id)
            self._relayout(line.row.span_id)

    def action_toggle_fold(self) -> None:
        line = self._line()
        if line is not None and line.folded:
            self.action_unfold()
        else:
            self.action_fold()

    def _line(self) -> TreeLine | None:
        return self.lines[self.cursor] if 0 <= self.cursor < len(self.lines) else None

    # -- errors --------------------------------------------------------------------

    def action_next_error(self) -> None:
        self._jump_error(1)

    def action_previous_error(self) -> None:
        self._jump_error(-1)

    def _jump_error(self, step: int) -> None:
        if any(row.status == STATUS_ERROR for row in self.rows) and self.folded:
            hidden = any(line.folded for line in self.lines)
            if hidden:  # unfold so that no error span stays hidden
                selected = self.selected_row.span_id if self.selected_row is not None else None
                self.folded.clear()
                self._relayout(selected)
        count = len(self.lines)
        for offset in range(1, count + 1):
            index = (self.cursor + offset * step) % count
            if self.lines[index].row.status == STATUS_ERROR:
                self.move_cursor(index)
                return
        self.notify("No error spans in this trace", severity="warning")
