"""The trace view: a title line, the waterfall of one trace, and the selected span's detail."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import var
from textual.containers import Vertical
from textual.widgets import Static

from kubespan.tui.format import format_duration, plural
from kubespan.tui.line_list import LineList
from kubespan.tui.span_detail_pane import SpanDetailPane
from kubespan.tui.text import inert
from kubespan.tui.waterfall import Waterfall

MAX_TRACE_SPANS = 20_000
"""Spans of one trace laid out in the waterfall (a runaway watch trace stays usable)."""
MIN_PANE_ROWS = 3
"""Neither pane gets less: the waterfall keeps its header, one span and the rule under it."""
DETAIL_ROWS = 10
"""Rows the split leaves to the detail before the waterfall may take more."""
SPLIT_STEP = 2
"""Rows one + or - moves the split."""


class TraceView(Vertical):
    """Reads one trace from the store; the waterfall cursor drives the detail pane.

    The waterfall is as tall as the trace needs (a 2-span trace takes 4 rows, the detail
    gets the rest) up to what leaves the detail `DETAIL_ROWS`; + and - move the split
    from there and = gives it back to the trace's size."""

    BINDINGS = [
        Binding("plus", "move_split(1)", "Taller waterfall", show=False),
        Binding("minus", "move_split(-1)", "Shorter waterfall", show=False),
        Binding("equals_sign", "reset_split", "Split by size", show=False),
    ]

    split_offset: var[int] = var(0)
    """Rows the user moved the split by (+ grows the waterfall); kept from trace to trace."""

    def __init__(self, store, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.tz = tz
        self._events: dict[int, list[int]] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="trace-title")
        yield Waterfall(event_times=self._event_times, id="waterfall")
        yield SpanDetailPane(tz=self.tz, id="detail")

    @property
    def waterfall(self) -> Waterfall:
        return self.query_one(Waterfall)

    @property
    def detail(self) -> SpanDetailPane:
        return self.query_one(SpanDetailPane)

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
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        if summary is not None:  # what the trace is first: a narrow terminal cuts the id, not the story
            text.append_text(inert(summary.root_service or "?", "bold", limit=40))
            text.append(" ")
            text.append_text(inert(summary.root_name or "(missing root)", limit=120))
            text.append(f"  {format_duration(summary.duration)}  {plural(summary.span_count, 'span')}", "dim")
            if summary.error_count:
                text.append(f"  {plural(summary.error_count, 'error')}", "bold red")
            if len(waterfall.rows) < summary.span_count:
                text.append(f"  (showing {len(waterfall.rows)})", "yellow")
            text.append("  ")
        text.append("Trace ", "bold")
        text.append(trace_id.hex() if trace_id else "?")
        self.query_one("#trace-title", Static).update(text)

    # -- the split between waterfall and detail ------------------------------------------------

    def watch_split_offset(self) -> None:
        self.fit_split()

    def on_resize(self) -> None:
        self.fit_split()

    @on(Waterfall.Relaid)
    def _waterfall_relaid(self, message: Waterfall.Relaid) -> None:
        message.stop()
        self.fit_split()

    def action_move_split(self, step: int) -> None:
        low, high = self._split_bounds()
        height = self._split_height()
        moved = max(low, min(high, height + step * SPLIT_STEP))
        self.split_offset += moved - height

    def action_reset_split(self) -> None:
        self.split_offset = 0

    def fit_split(self) -> None:
        if self.size.height:  # hidden views have no height to split (sized again when shown)
            self.waterfall.styles.height = self._split_height()

    def _split_bounds(self) -> tuple[int, int]:
        available = max(2 * MIN_PANE_ROWS, self.size.height - 1)  # the title line
        return MIN_PANE_ROWS, available - MIN_PANE_ROWS

    def _split_height(self) -> int:
        low, high = self._split_bounds()
        wanted = self.waterfall.row_count() + 2  # header and the rule below
        auto = max(low, min(wanted, high + MIN_PANE_ROWS - DETAIL_ROWS))
        return max(low, min(high, auto + self.split_offset))

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
