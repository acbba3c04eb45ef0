"""The flat span list: every matching span, newest first."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.reactive import var

from kubespan.query.limits import Deadline
from kubespan.tui.columns import Column, Columns
from kubespan.tui.format import (
    STATUS_ERROR,
    format_clock,
    format_duration,
    kind_name,
    status_name,
)
from kubespan.tui.messages import OpenTrace
from kubespan.tui.result_list import ResultList
from kubespan.tui.source.base import DataSource, Search, SpanSort
from kubespan.tui.text import inert
from kubespan.tui.tree import service_color

KEY_ATTRIBUTES = (
    "k8s.pod", "k8s.pod.name", "k8s.namespace.name", "http.request.method", "http.method",
    "http.response.status_code", "http.status_code", "http.target", "url.path", "rpc.method",
    "rpc.grpc.status_code", "db.system", "error.type", "container.id",
)
"""Attributes shown in the span list's last column, in this order, when present."""

ERROR_SCAN_ROWS = 20_000
"""`e` looks at most this many rows from the cursor for an error span."""

COLUMNS = Columns(
    Column("TIME", 12),
    Column("SERVICE", None, min_width=10, max_width=16),
    Column("NAME", None, min_width=24, max_width=56),
    Column("KIND", 8, drop=2),
    Column("DURATION", 9, "right"),
    Column("STATUS", 6),
    Column("ATTRIBUTES", None, min_width=20, drop=1),
)
"""The span list's columns; ATTRIBUTES, then KIND, are left out on narrow terminals."""


class SpanList(ResultList):
    """Spans of the applied search, newest first; rows looked up in the answer as drawn."""

    KIND = "spans"
    CAPABILITY = "spans"

    BINDINGS = [
        Binding("e", "next_error", "Next error"),
        Binding("E", "previous_error", "Prev error", show=False),
        Binding("o", "cycle_sort", "Sort"),
    ]

    sort: var[SpanSort] = var(SpanSort.START, init=False)
    """The order of the list (`o` cycles: start time, newest first; duration, longest first)."""

    def __init__(self, source: DataSource, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(source, id=id)
        self.tz = tz

    def find(self, search: Search, deadline: Deadline) -> Any:
        return self.source.find_spans(search, self.sort, cancel=deadline)

    def action_cycle_sort(self) -> None:
        self.sort = SpanSort.DURATION if self.sort is SpanSort.START else SpanSort.START

    def watch_sort(self) -> None:
        self.cursor = 0
        self.refresh()  # the header's arrow
        self.start_search(force=True)

    def row_identity(self, index: int) -> Any:
        return self.result.key(index) if self.result is not None and 0 <= index < self.row_count() else None

    def row_key(self, index: int) -> Any:
        """Spans do not change once stored: the ordinal (and whether it is still there) is enough
        (a row itself may hold unhashable array values)."""
        return (self.row_identity(index), self.row(index) is not None)

    @property
    def selected_row(self) -> Any:
        return self.row(self.cursor) if 0 <= self.cursor < self.row_count() else None

    # -- what the app asks of the shown pane -----------------------------------------------------

    def copy_target(self) -> tuple[str, str | None]:
        row = self.selected_row
        return "span id", row.span_id.hex() if row else None

    def trace_target(self) -> bytes | None:
        row = self.selected_row
        return row.trace_id if row else None

    def action_select(self) -> None:
        row = self.selected_row
        if row:
            self.app.post_message(OpenTrace(row.trace_id, select=row.span_id))

    # -- drawing ------------------------------------------------------------------------------------

    def render_header(self, width: int) -> Text:
        title = "TIME" if self.sort is SpanSort.START else "DURATION"
        return COLUMNS.header(width, {title: title + "▼"})

    def render_result_row(self, index: int, row: Any, width: int) -> Text:
        if not row:
            return Text(f"#{self.row_identity(index)} (evicted)", style="dim")
        error = row.status == STATUS_ERROR
        status = Text(status_name(row.status), style="bold red" if error else "dim")
        return COLUMNS.row(
            width,
            Text(format_clock(row.start, self.tz), style="dim"),
            inert(row.service or "?", service_color(row.service or "?"), limit=64),
            inert(row.name, "red" if error else "", limit=200),
            Text(kind_name(row.kind), style="dim"),
            Text(format_duration(row.duration)),
            status,
            key_attributes(row),
        )

    # -- errors ---------------------------------------------------------------------------------------

    def action_next_error(self) -> None:
        self._jump_error(1)

    def action_previous_error(self) -> None:
        self._jump_error(-1)

    def _jump_error(self, step: int) -> None:
        index = self.cursor
        for _ in range(min(self.row_count(), ERROR_SCAN_ROWS)):
            index += step
            if not 0 <= index < self.row_count():
                break
            row = self.row(index)
            if row and row.status == STATUS_ERROR:
                self.move_cursor(index)
                return
        self.app.notify("No more error spans in that direction", severity="warning")


def key_attributes(row, limit: int = 4) -> Text:
    """`key=value` of the most telling attributes, span first, then resource."""
    found = {}
    for key, value in list(row.attributes) + list(getattr(row, "resource_attributes", ()) or ()):
        if key in KEY_ATTRIBUTES and key not in found:
            found[key] = value
    text = Text(end="")
    for key in sorted(found, key=KEY_ATTRIBUTES.index)[:limit]:
        if text:
            text.append(" ")
        text.append(key, "dim")
        text.append("=", "dim")
        text.append_text(inert(_value_text(found[key]), limit=60))
    return text


def _value_text(value) -> str:
    from kubespan.model import value_text

    return value_text(value)
