"""The Services view (key 4): RED numbers per service, then per operation under it.

Rows come from `kubespan.metrics.live.LiveMetrics` (counted as spans arrive); this widget only
sorts and draws them. Columns: rate (spans/s over the window), error %, p50, p90, p99 and a
sparkline of the rate. `o` cycles the sort column, `O` reverses it; operations stay under their
service. Enter on an operation posts `OperationChosen` to the app (it lists the operation's
slowest traces); `f` adds the row's service and operation to the filter (`filter_with`).
"""

from __future__ import annotations

import itertools
from datetime import tzinfo
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import var

from kubespan.metrics.red import RedRow, operation_query
from kubespan.tui.filter_terms import combine_filter
from kubespan.tui.format import format_duration, three_digits
from kubespan.tui.line_list import LineList, cells
from kubespan.tui.messages import Searched
from kubespan.tui.metrics_refresh import MetricsRefresh, Window
from kubespan.tui.text import inert

SORTS = ("name", "rate", "errors", "p50", "p90", "p99")
SORT_TITLES = {"name": "SERVICE / OPERATION", "rate": "RATE/S", "errors": "ERR%", "p50": "P50", "p90": "P90",
               "p99": "P99"}
BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 16


def sparkline(values: tuple[int, ...], width: int = SPARK_WIDTH) -> str:
    """`values` in at most `width` bars (neighbours summed), scaled to the largest; blank where nothing happened."""
    if len(values) > width:
        edges = [round(i * len(values) / width) for i in range(width + 1)]
        values = tuple(sum(values[a:b]) for a, b in itertools.pairwise(edges))
    top = max(values, default=0)
    if not top:
        return " " * len(values)
    return "".join(BARS[min(len(BARS) - 1, round(v / top * (len(BARS) - 1)))] if v else " " for v in values)


def format_rate(rate: float) -> str:
    return three_digits(rate, ",")


def sort_rows(rows: list[RedRow], column: str, descending: bool) -> list[RedRow]:
    """Services ordered by `column`, each followed by its operations ordered the same way; ties by name."""
    def key(row: RedRow) -> tuple[float, str]:
        name = (row.operation or row.service).casefold()
        if column == "name":
            return (0.0, name)
        value = {"rate": row.rate, "errors": row.error_pct, "p50": row.p50, "p90": row.p90, "p99": row.p99}[column]
        return (-value if descending else value, name)

    reverse = column == "name" and descending
    services = sorted((r for r in rows if r.is_service), key=key, reverse=reverse)
    out: list[RedRow] = []
    for service in services:
        out.append(service)
        mine = [r for r in rows if not r.is_service and r.service == service.service]
        out += sorted(mine, key=key, reverse=reverse)
    return out


class ServicesView(MetricsRefresh, LineList):
    """One row per service, then one per operation: rate, error %, p50, p90, p99, sparkline."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "cycle_sort", "Sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False),
    ]

    class OperationChosen(Message):
        """Enter on an operation (or a service: `operation` is "")."""

        def __init__(self, service: str, operation: str) -> None:
            super().__init__()
            self.service = service
            self.operation = operation
            self.query = operation_query(service, operation)
            """The TraceQL filter for its spans."""

    search: var[Any] = var(None, init=False)
    """The applied filter (the app binds its `search` down): narrows the counts, may name the window."""
    paused: var[bool] = var(False)

    def __init__(self, source: Any = None, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        """`source.metrics()` gives the numbers (kubespan.metrics.live.LiveMetrics or alike); None: fed by
        `set_rows` only."""
        super().__init__(id=id)
        self.source = source
        self.tz = tz
        self.rows: list[RedRow] = []
        self.shown: list[RedRow] = []
        self.sort_column = "rate"
        self.descending = True
        self.window_text = ""
        self.notes: list[str] = []
        self.empty_message = ""
        """Set by the app when the source offers no metrics: says so instead of "no spans yet"."""

    # -- data ---------------------------------------------------------------------------
    def watch_search(self) -> None:
        self.refresh_metrics()

    def collect_metrics(self, live: Any, window: Window) -> tuple[list[RedRow], list[str]]:
        return live.rows(window.start, window.end), live.notes()

    def show_metrics(self, data: tuple[list[RedRow], list[str]], window: Window) -> None:
        rows, notes = data
        self.set_rows(rows, window.describe(), notes)
        self.app.post_message(Searched("services", sum(1 for row in rows if row.is_service)))

    def set_rows(self, rows: list[RedRow], window_text: str = "", notes: list[str] | None = None) -> None:
        """New numbers (from a worker); the cursor stays on the same service or operation. `notes` (what
        the numbers leave out, a remote's failure) take the name column's title, marked ⚠."""
        selected = self.selected_row
        self.rows = rows
        self.window_text = window_text
        self.notes = list(notes or [])
        self._arrange()
        if selected is not None:
            self._select(selected.service, selected.operation)
        self.data_changed()

    def _arrange(self) -> None:
        self.shown = sort_rows(self.rows, self.sort_column, self.descending)

    def _select(self, service: str, operation: str) -> None:
        for index, row in enumerate(self.shown):
            if row.service == service and row.operation == operation:
                self.cursor = index
                return

    @property
    def selected_row(self) -> RedRow | None:
        return self.shown[self.cursor] if 0 <= self.cursor < len(self.shown) else None

    def filter_text(self) -> str | None:
        """The TraceQL filter for the row under the cursor (Enter applies it)."""
        row = self.selected_row
        return None if row is None else operation_query(row.service, row.operation)

    def filter_with(self, current: str) -> str | None:
        """`current` narrowed to the row under the cursor (`f`), in the filter's own syntax."""
        row = self.selected_row
        if row is None:
            return None
        if not current.strip():
            return operation_query(row.service, row.operation)
        text = combine_filter(current, "service", row.service)
        return combine_filter(text, "name", row.operation) if row.operation else text

    # -- what the app asks of the shown pane ----------------------------------------------
    def copy_target(self) -> tuple[str, str | None]:
        row = self.selected_row
        if row is None:
            return "operation", None
        return ("operation", row.operation) if row.operation else ("service", row.service)

    def trace_target(self) -> bytes | None:
        return None

    # -- keys ---------------------------------------------------------------------------
    def action_cycle_sort(self) -> None:
        self.sort_column = SORTS[(SORTS.index(self.sort_column) + 1) % len(SORTS)]
        self.descending = self.sort_column != "name"
        self._resort()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._resort()

    def _resort(self) -> None:
        selected = self.selected_row
        self._arrange()
        if selected is not None:
            self._select(selected.service, selected.operation)
        self.data_changed()

    def action_select(self) -> None:
        row = self.selected_row
        if row is not None:
            self.app.post_message(self.OperationChosen(row.service, row.operation))

    # -- drawing ------------------------------------------------------------------------
    def row_count(self) -> int:
        return len(self.shown)

    def empty_text(self) -> Text:
        if self.empty_message:
            return Text(self.empty_message, style="dim")
        said = "; ".join([*self.notes, self.window_text] if self.window_text else self.notes)
        return Text("No spans in the window yet" + (f" ({said})" if said else ""), style="dim")

    @staticmethod
    def _widths(width: int) -> tuple[int, int]:
        """(name column, sparkline) widths for a line of `width` cells."""
        spark_width = SPARK_WIDTH if width >= 100 else 8
        return max(12, width - 8 - 6 - 3 * 7 - spark_width - 6), spark_width

    def _layout(self, width: int, name: Text | str, rate: Text | str, errors: Text | str, p50: Text | str,
                p90: Text | str, p99: Text | str, spark: Text | str) -> Text:
        name_width, spark_width = self._widths(width)
        return cells((name, name_width, "left"), (rate, 8, "right"), (errors, 6, "right"), (p50, 7, "right"),
                     (p90, 7, "right"), (p99, 7, "right"), (spark, spark_width, "left"))

    def render_header(self, width: int) -> Text:
        arrow = "↓" if self.descending else "↑"
        titles = {key: SORT_TITLES[key] + (arrow if key == self.sort_column else "") for key in SORTS}
        if self.notes:
            titles["name"] = "⚠ " + "; ".join([*self.notes, self.window_text] if self.window_text else self.notes)
        elif self.window_text:
            titles["name"] += f"  ({self.window_text})"
        return self._layout(width, titles["name"], titles["rate"], titles["errors"], titles["p50"], titles["p90"],
                            titles["p99"], "RATE")

    def render_row(self, index: int, width: int) -> Text:
        row = self.shown[index]
        if row.is_service:
            name = inert(row.service, "bold cyan", limit=120)
        else:
            name_width, _ = self._widths(width)
            name = Text("  ", end="")
            name.append_text(inert(_tail(row.operation, name_width - 2), "", limit=200))
        errors = Text(f"{row.error_pct:.1f}", style="bold red") if row.error_pct else Text("0", style="dim")
        _, spark_width = self._widths(width)
        return self._layout(width, name, format_rate(row.rate), errors, _duration(row.p50), _duration(row.p90),
                            _duration(row.p99), Text(sparkline(row.sparkline, spark_width), style="green"))

    def row_key(self, index: int) -> object:
        return (self.shown[index], self._generation)


def _tail(name: str, width: int) -> str:
    """A long operation name keeps its end (`…Service/RemoveContainer`): that is what tells them apart."""
    return name if len(name) <= width else "…" + name[len(name) - width + 1:]


def _duration(seconds: float) -> str:
    return format_duration(round(seconds * 1e9)) if seconds else "-"
