"""The flat span list: every matching span, newest first."""

from __future__ import annotations

from datetime import tzinfo

import numpy as np
from rich.text import Text
from textual.binding import Binding

from kubespan.tui.format import STATUS_ERROR, format_clock, format_duration, kind_name, status_name
from kubespan.tui.columns import Column, Columns
from kubespan.tui.line_list import LineList
from kubespan.tui.text import inert
from kubespan.tui.tree import service_color

KEY_ATTRIBUTES = (
    "k8s.pod", "k8s.pod.name", "k8s.namespace.name", "http.request.method", "http.method",
    "http.response.status_code", "http.status_code", "http.target", "url.path", "rpc.method",
    "rpc.grpc.status_code", "db.system", "error.type", "container.id",
)
"""Attributes shown in the span list's last column, in this order, when present."""

ROW_CACHE_SIZE = 4096

COLUMNS = Columns(
    Column("TIME", 12),
    Column("SERVICE", None, min_width=10, max_width=16),
    Column("NAME", None, min_width=24, max_width=56),
    Column("KIND", 8, drop=2),
    Column("DURATION", 8, "right"),
    Column("STATUS", 6),
    Column("ATTRIBUTES", None, min_width=20, drop=1),
)
"""The span list's columns; ATTRIBUTES, then KIND, are left out on narrow terminals."""


class SpanList(LineList):
    """Span ordinals from a search; rows fetched from the store for visible lines only."""

    BINDINGS = [
        Binding("e", "next_error", "Next error"),
        Binding("E", "previous_error", "Prev error", show=False),
    ]

    def __init__(self, store, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.tz = tz
        self.ordinals = np.empty(0, dtype=np.int64)
        self._rows: dict[int, object] = {}

    def row_count(self) -> int:
        return len(self.ordinals)

    def ordinal_at(self, index: int) -> int:
        """Newest first: row 0 is the last ordinal."""
        return int(self.ordinals[len(self.ordinals) - 1 - index])

    @property
    def selected_ordinal(self) -> int | None:
        if 0 <= self.cursor < len(self.ordinals):
            return self.ordinal_at(self.cursor)
        return None

    @property
    def selected_row(self):
        ordinal = self.selected_ordinal
        return None if ordinal is None else self.row(self.cursor)

    def set_ordinals(self, ordinals, *, follow: bool) -> None:
        selected = self.selected_ordinal
        at_top = self.cursor == 0
        self.ordinals = np.asarray(ordinals)
        if len(self._rows) > ROW_CACHE_SIZE:
            self._rows.clear()
        if selected is not None and not (follow and at_top) and len(self.ordinals):
            position = int(np.searchsorted(self.ordinals, selected))
            if position < len(self.ordinals) and int(self.ordinals[position]) == selected:
                self.cursor = len(self.ordinals) - 1 - position
        self.data_changed()

    def row(self, index: int):
        ordinal = self.ordinal_at(index)
        found = self._rows.get(ordinal)
        if found is None:
            rows = self.page_rows
            wanted = [self.ordinal_at(i) for i in range(max(0, index - rows), min(self.row_count(), index + rows))]
            wanted = [o for o in wanted if o not in self._rows]
            for row in self.store.span_rows(wanted):
                if row is not None:
                    self._rows[row.ordinal] = row
            for o in wanted:
                self._rows.setdefault(o, False)
            found = self._rows.get(ordinal)
        return found

    def row_key(self, index: int):
        return (self.ordinal_at(index), bool(self.row(index)))

    def render_header(self, width: int) -> Text:
        return COLUMNS.header(width)

    def render_row(self, index: int, width: int) -> Text:
        row = self.row(index)
        if not row:
            return Text(f"#{self.ordinal_at(index)} (evicted)", style="dim")
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

    def action_next_error(self) -> None:
        self._jump_error(1)

    def action_previous_error(self) -> None:
        self._jump_error(-1)

    def _jump_error(self, step: int) -> None:
        index = self.cursor
        for _ in range(min(self.row_count(), 20000)):
            index += step
            if not 0 <= index < self.row_count():
                break
            row = self.row(index)
            if row and row.status == STATUS_ERROR:
                self.move_cursor(index)
                return
        self.notify("No more error spans in that direction", severity="warning")


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
