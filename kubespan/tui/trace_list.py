"""The trace list: one row per trace, newest first, rows refreshed in place."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from kubespan.tui.columns import Column, Columns
from kubespan.tui.format import format_clock, format_count, format_duration
from kubespan.tui.line_list import LineList
from kubespan.tui.text import inert
from kubespan.tui.tree import service_color


COLUMNS = Columns(
    Column("START", 12),
    Column("SERVICE", None, min_width=10, max_width=16),
    Column("ROOT SPAN", None, min_width=20, max_width=48),
    Column("DURATION", 8, "right"),
    Column("SPANS", 5, "right"),
    Column("ERR", 4, "right"),
    Column("SERVICES", None, min_width=16, drop=1),
)
"""The trace list's columns; SERVICES is left out below about 100 columns."""


class TraceList(LineList):
    """Trace ids from a search; summaries fetched from the store for visible rows only."""

    BINDINGS = [
        Binding("e", "next_error", "Next error"),
        Binding("E", "previous_error", "Prev error", show=False),
    ]

    def __init__(self, store, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.tz = tz
        self.trace_ids: list[bytes] = []
        self._summaries: dict[bytes, object] = {}

    def row_count(self) -> int:
        return len(self.trace_ids)

    @property
    def selected_trace(self) -> bytes | None:
        if 0 <= self.cursor < len(self.trace_ids):
            return self.trace_ids[self.cursor]
        return None

    def set_traces(self, trace_ids: list[bytes], *, follow: bool) -> None:
        """New search result; keeps the selected trace selected unless following at the top."""
        selected = self.selected_trace
        at_top = self.cursor == 0
        self.trace_ids = trace_ids
        if len(self._summaries) > 4096:
            self._summaries.clear()
        if selected is not None and not (follow and at_top):
            try:
                self.cursor = trace_ids.index(selected)
            except ValueError:
                pass
        self.data_changed()

    def refresh_summaries(self) -> None:
        """The store changed: visible rows are re-read; rows whose summary changed
        (late spans) are repainted in place, the others stay as they are."""
        old = self._summaries
        self._summaries = {}
        visible = self.visible_range()
        if not len(visible):
            return
        self._load_visible(visible.start)
        for index in visible:
            trace_id = self.trace_ids[index]
            if self._summaries.get(trace_id) != old.get(trace_id):
                self._refresh_row(index)

    def row_key(self, index: int):
        return (self.trace_ids[index], self.summary(index))

    def summary(self, index: int):
        trace_id = self.trace_ids[index]
        found = self._summaries.get(trace_id)
        if found is None:
            self._load_visible(index)
            found = self._summaries.get(trace_id)
        return found

    def _load_visible(self, index: int) -> None:
        rows = self.page_rows
        wanted = range(max(0, index - rows), index + rows)
        ids = [self.trace_ids[i] for i in wanted if 0 <= i < len(self.trace_ids)]
        ids = [trace_id for trace_id in ids if trace_id not in self._summaries]
        for summary in self.store.trace_summaries(ids):
            if summary is not None:
                self._summaries[summary.trace_id] = summary
        for trace_id in ids:
            self._summaries.setdefault(trace_id, False)

    def render_header(self, width: int) -> Text:
        return COLUMNS.header(width)

    def render_row(self, index: int, width: int) -> Text:
        summary = self.summary(index)
        if not summary:
            return Text(f"{self.trace_ids[index].hex()}  (evicted)", style="dim")
        service = summary.root_service or "?"
        name = summary.root_name or "(missing root)"
        error_count = summary.error_count
        errors = Text(str(error_count), style="bold red") if error_count else Text("0", style="dim")
        services = Text(", ", style="dim").join(
            inert(s, service_color(s), limit=40) for s in summary.services
        )
        return COLUMNS.row(
            width,
            Text(format_clock(summary.start, self.tz), style="dim"),
            inert(service, service_color(service), limit=64),
            (Text("! ", style="bold red") if error_count else Text("")) + inert(name, "", limit=200),
            Text(format_duration(summary.duration)),
            Text(format_count(summary.span_count)),
            errors,
            services,
        )

    class FindError(Message):
        """No error trace nearby: the app searches the store for error traces."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def _error_index(self, step: int, limit: int) -> int | None:
        count = len(self.trace_ids)
        index = self.cursor
        for _ in range(min(count, limit)):
            index += step
            if not 0 <= index < count:
                return None
            summary = self.summary(index)
            if summary and summary.error_count:
                return index
        return None

    def action_next_error(self) -> None:
        self._jump_error(1)

    def action_previous_error(self) -> None:
        self._jump_error(-1)

    def _jump_error(self, step: int) -> None:
        found = self._error_index(step, limit=2 * self.page_rows)
        if found is None:
            self.post_message(self.FindError(step))
        else:
            self.move_cursor(found)

    def jump_to_error_in(self, error_trace_ids: set[bytes], step: int) -> bool:
        """Move to the next listed trace (in `step` direction) that is in `error_trace_ids`."""
        index = self.cursor + step
        while 0 <= index < len(self.trace_ids):
            if self.trace_ids[index] in error_trace_ids:
                self.move_cursor(index)
                return True
            index += step
        return False
