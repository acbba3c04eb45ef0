"""The trace view: a title line, the waterfall of one trace, and the selected span's detail.

The trace is fetched from the source in a worker; the view posts `Loaded` (the app then
shows it) or `Missing`. Links are followed in place: Enter on a link in the detail opens
the linked trace, and Escape comes back to the span the link was on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Static
from textual.worker import get_current_worker

from kubespan.tui.format import format_duration, plural
from kubespan.tui.line_list import LineList
from kubespan.tui.source.base import DataSource, TraceData
from kubespan.tui.span_detail_pane import SpanDetailPane
from kubespan.tui.text import inert
from kubespan.tui.waterfall import Waterfall

MIN_PANE_ROWS = 3
"""Neither pane gets less: the waterfall keeps its header, one span and the rule under it."""
DETAIL_ROWS = 10
"""Rows the split leaves to the detail before the waterfall may take more."""
SPLIT_STEP = 2
"""Rows one + or - moves the split."""
HISTORY_SIZE = 50
"""Links followed that Escape can walk back."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where the user was when they followed a link: the trace, its span, the detail line."""

    trace_id: bytes
    span_id: bytes | None
    detail_cursor: int


class TraceView(Vertical):
    """Shows one trace from the source; the waterfall cursor drives the detail pane.

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
    feed: var[int] = var(0, init=False)
    """The source's content version (bound from the app): late spans join the shown trace."""

    class Loaded(Message):
        """A trace is on screen (opened, or reached by a link)."""

    class Missing(Message):
        """The source does not have the trace asked for."""

        def __init__(self, trace_id: bytes, followed: bool) -> None:
            super().__init__()
            self.trace_id = trace_id
            self.followed = followed
            """True when a link pointed to it (the trace shown before stays)."""

    def __init__(self, source: DataSource, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.tz = tz
        self.data: TraceData | None = None
        """The trace shown."""
        self.history: list[Place] = []
        """Where Escape goes back to after links were followed."""

    def compose(self) -> ComposeResult:
        yield Static("", id="trace-title")
        yield Waterfall(id="waterfall")
        yield SpanDetailPane(tz=self.tz, id="detail")

    @property
    def waterfall(self) -> Waterfall:
        return self.query_one(Waterfall)

    @property
    def detail(self) -> SpanDetailPane:
        return self.query_one(SpanDetailPane)

    # -- loading ------------------------------------------------------------------------------------

    def open(self, trace_id: bytes, *, select: bytes | None = None) -> None:
        """Fetch and show `trace_id` (selecting span `select`); a new trace clears the history."""
        self.history.clear()
        self._load(trace_id, select, None, followed=False)

    def follow_link(self, trace_id: bytes, span_id: bytes) -> None:
        if self.data is not None:
            row = self.waterfall.selected_row
            self.history.append(Place(self.data.trace_id, row.span_id if row else None, self.detail.cursor))
            del self.history[:-HISTORY_SIZE]
        self._load(trace_id, span_id, None, followed=True)

    def go_back(self) -> bool:
        """Back to where the last link was followed from; False if there is nowhere to go."""
        if not self.history:
            return False
        place = self.history.pop()
        self._load(place.trace_id, place.span_id, place.detail_cursor, followed=False, focus_detail=True)
        return True

    def _load(self, trace_id: bytes, select: bytes | None, detail_cursor: int | None, *, followed: bool,
              focus_detail: bool = False) -> None:
        self._trace_worker(trace_id, select, detail_cursor, followed, focus_detail)

    @work(thread=True, exclusive=True, group="trace", exit_on_error=False)
    def _trace_worker(self, trace_id: bytes, select: bytes | None, detail_cursor: int | None, followed: bool,
                      focus_detail: bool) -> None:
        data = self.source.trace(trace_id)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, trace_id, data, select, detail_cursor, followed, focus_detail)

    def _show(self, trace_id: bytes, data: TraceData | None, select: bytes | None, detail_cursor: int | None,
              followed: bool, focus_detail: bool) -> None:
        if data is None:
            if followed and self.history:
                self.history.pop()  # the link led nowhere: nothing to come back from
            self.app.post_message(self.Missing(trace_id, followed))
            return
        self.data = data
        waterfall = self.waterfall
        waterfall.set_trace(trace_id, data.rows, event_times=data.event_times)
        if select is not None:
            for index, line in enumerate(waterfall.lines):
                if line.row.span_id == select:
                    waterfall.move_cursor(index, announce=False)
                    break
        self._update_title()
        self._show_detail(cursor=detail_cursor)
        if focus_detail:
            self.detail.focus()  # back where the link was followed from
        elif followed:
            waterfall.focus()  # on the span the link points to
        self.app.post_message(self.Loaded())  # straight to the app: a bubble through the DOM costs a frame

    def watch_feed(self) -> None:
        """The source changed: late spans join the tree, the selection stays."""
        if self.display and self.data is not None and self.source.capabilities.live:
            self._reload_worker(self.data.trace_id)

    @work(thread=True, exclusive=True, group="reload", exit_on_error=False)
    def _reload_worker(self, trace_id: bytes) -> None:
        data = self.source.trace(trace_id)
        if data is not None and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._reloaded, data)

    def _reloaded(self, data: TraceData) -> None:
        shown = self.data
        if shown is None or shown.trace_id != data.trace_id:
            return
        if len(data.rows) != len(shown.rows) or any(
            a.ordinal != b.ordinal or a.end != b.end for a, b in zip(data.rows, shown.rows)
        ):
            self.data = data
            self.waterfall.set_trace(data.trace_id, data.rows, event_times=data.event_times)
            self._update_title()

    # -- what the app asks of the shown pane -----------------------------------------------------

    def copy_target(self) -> tuple[str, str | None]:
        if self.detail.has_focus and self.detail.selected_item is not None:
            item = self.detail.selected_item
            return item.label, item.value
        row = self.waterfall.selected_row
        return "span id", row.span_id.hex() if row else None

    def trace_target(self) -> bytes | None:
        return self.data.trace_id if self.data is not None else None

    def filter_item(self) -> Any:
        """The detail line `f` adds to the filter (an attribute), or None."""
        return self.detail.selected_item

    # -- title and detail ---------------------------------------------------------------------------

    def _update_title(self) -> None:
        data = self.data
        if data is None:
            return
        summary = data.summary
        text = Text(end="", no_wrap=True, overflow="ellipsis")
        if summary is not None:  # what the trace is first: a narrow terminal cuts the id, not the story
            text.append_text(inert(summary.root_service or "?", "bold", limit=40))
            text.append(" ")
            text.append_text(inert(summary.root_name or "(missing root)", limit=120))
            text.append(f"  {format_duration(summary.duration)}  {plural(summary.span_count, 'span')}", "dim")
            if summary.error_count:
                text.append(f"  {plural(summary.error_count, 'error')}", "bold red")
        if data.cut:
            text.append(f"  ({data.cut})", "yellow")
        if self.history:
            text.append(f"  ← Esc back ({len(self.history)})", "bold cyan")
        text.append("  ")
        text.append("Trace ", "bold")
        text.append(data.trace_id.hex())
        self.query_one("#trace-title", Static).update(text)

    @on(LineList.Highlighted, "#waterfall")
    def _waterfall_moved(self, message: LineList.Highlighted) -> None:
        message.stop()
        self._show_detail()

    @on(LineList.Selected, "#waterfall")
    def _waterfall_selected(self, message: LineList.Selected) -> None:
        message.stop()
        self.detail.focus()

    @on(SpanDetailPane.LinkChosen)
    def _link_chosen(self, message: SpanDetailPane.LinkChosen) -> None:
        message.stop()
        self.follow_link(message.trace_id, message.span_id)

    def _show_detail(self, cursor: int | None = None) -> None:
        row = self.waterfall.selected_row
        if row is None or self.data is None:
            self.detail.show(None, None)
            return
        self.detail.show(row.ordinal, self.data.detail(row), cursor=cursor)

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
