"""The trace view: a title line, the waterfall of one trace, and the selected span's detail."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from kubespan.tui.format import format_duration, plural
from kubespan.tui.line_list import LineList
from kubespan.tui.span_detail import SpanDetail
from kubespan.tui.text import inert
from kubespan.tui.waterfall import Waterfall

MAX_TRACE_SPANS = 20_000
"""Spans of one trace laid out in the waterfall (a runaway watch trace stays usable)."""


class TraceView(Vertical):
    """Reads one trace from the store; the waterfall cursor drives the detail pane."""

    def __init__(self, store, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.tz = tz
        self._events: dict[int, list[int]] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="trace-title")
        yield Waterfall(event_times=self._event_times, id="waterfall")
        yield SpanDetail(tz=self.tz, id="detail")

    @property
    def waterfall(self) -> Waterfall:
        return self.query_one(Waterfall)

    @property
    def detail(self) -> SpanDetail:
        return self.query_one(SpanDetail)

    def load(self, trace_id: bytes, *, select: bytes | None = None) -> bool:
        """Show `trace_id` (selecting span `select`); False if the store no longer has it."""
        rows = self._rows(trace_id)
        if not rows:
            return False
        waterfall = self.waterfall
        waterfall.set_trace(trace_id, rows)
        if select is not None:
            for index, line in enumerate(waterfall.lines):
                if line.row.span_id == select:
                    waterfall.move_cursor(index, announce=False)
                    break
        self._update_title()
        self._show_detail()
        return True

    def reload(self) -> None:
        """The store changed: late spans join the tree, the selection stays."""
        waterfall = self.waterfall
        if waterfall.trace_id is None:
            return
        rows = self._rows(waterfall.trace_id)
        if len(rows) != len(waterfall.rows) or any(
            a.ordinal != b.ordinal or a.end != b.end for a, b in zip(rows, waterfall.rows)
        ):
            waterfall.set_trace(waterfall.trace_id, rows)
            self._update_title()

    def _event_times(self, ordinal: int) -> list[int]:
        """Event times of one span, read from its detail once (only visible rows ask)."""
        found = self._events.get(ordinal)
        if found is None:
            if len(self._events) > 4096:
                self._events.clear()
            detail = self.store.span_detail(ordinal)
            found = [event.time_unix_nano for event in detail.span.events] if detail is not None else []
            self._events[ordinal] = found
        return found

    def _rows(self, trace_id: bytes) -> list:
        ordinals = self.store.trace_ordinals(trace_id)[:MAX_TRACE_SPANS]
        return [row for row in self.store.span_rows(ordinals) if row is not None]

    def _update_title(self) -> None:
        waterfall = self.waterfall
        trace_id = waterfall.trace_id
        summary = self.store.trace_summary(trace_id) if trace_id else None
        text = Text("Trace ", style="bold", end="")
        text.append(trace_id.hex() if trace_id else "?")
        if summary is not None:
            text.append("  ")
            text.append_text(inert(summary.root_service or "?", "bold", limit=40))
            text.append(" ")
            text.append_text(inert(summary.root_name or "(missing root)", limit=120))
            text.append(f"  {format_duration(summary.duration)}  {plural(summary.span_count, 'span')}", "dim")
            if summary.error_count:
                text.append(f"  {plural(summary.error_count, 'error')}", "bold red")
            if len(waterfall.rows) < summary.span_count:
                text.append(f"  (showing {len(waterfall.rows)})", "yellow")
        self.query_one("#trace-title", Static).update(text)

    @on(LineList.Highlighted, "#waterfall")
    def _waterfall_moved(self, message: LineList.Highlighted) -> None:
        message.stop()
        self._show_detail()

    @on(LineList.Selected, "#waterfall")
    def _waterfall_selected(self, message: LineList.Selected) -> None:
        message.stop()
        self.detail.focus()

    def _show_detail(self) -> None:
        row = self.waterfall.selected_row
        if row is None:
            self.detail.show(None, None)
            return
        self.detail.show(row.ordinal, self.store.span_detail(row.ordinal))
