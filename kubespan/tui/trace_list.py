"""The trace list: one row per trace, newest first (or by duration, spans, errors).

`n` folds the noise: repeated roots of one service and name (the kubelet's PLEG
`ListPodSandbox` every second, lease renewals) become one row each, with how many traces
they stand for and the p50/p99 of their durations; Enter on such a row lists them.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.reactive import var

from kubespan.query.limits import Deadline
from kubespan.tui.columns import Column, Columns
from kubespan.tui.filter_terms import quote_value
from kubespan.tui.format import format_clock, format_count, format_duration
from kubespan.tui.messages import ApplyFilter, OpenTrace
from kubespan.tui.result_list import ResultList
from kubespan.tui.source.base import DataSource, RootGroup, Search, TraceSort
from kubespan.tui.text import inert
from kubespan.tui.tree import service_color

COLUMNS = Columns(
    Column("START", 12),
    Column("SERVICE", None, min_width=10, max_width=16),
    Column("ROOT SPAN", None, min_width=20, max_width=48),
    Column("DURATION", 9, "right"),
    Column("SPANS", 6, "right"),
    Column("ERR", 4, "right"),
    Column("SERVICES", None, min_width=16, drop=1),
)
"""The trace list's columns; SERVICES is left out below about 100 columns."""

SORT_COLUMNS = {TraceSort.START: "START", TraceSort.DURATION: "DURATION", TraceSort.SPANS: "SPANS",
                TraceSort.ERRORS: "ERR"}
"""The column whose title gets the ▼ for each order."""

ERROR_LOOKAHEAD_PAGES = 2
"""`e` looks this many pages from the cursor in the listed rows before asking the source."""


class TraceList(ResultList):
    """Traces of the applied search; rows are looked up in the answer as they are drawn."""

    KIND = "traces"

    BINDINGS = [
        Binding("e", "next_error", "Next error"),
        Binding("E", "previous_error", "Prev error", show=False),
        Binding("o", "cycle_sort", "Sort"),
        Binding("n", "toggle_fold_repeats", "Fold repeats"),
    ]

    sort: var[TraceSort] = var(TraceSort.START, init=False)
    """The order of the list (`o` cycles: start, duration, spans, errors; largest first)."""
    fold: var[bool] = var(False, init=False)
    """`n`: repeated roots of one service and name are folded into one row."""

    def __init__(self, source: DataSource, *, tz: tzinfo | None = None, id: str | None = None) -> None:
        super().__init__(source, id=id)
        self.tz = tz

    def find(self, search: Search, deadline: Deadline) -> Any:
        fold = self.fold and self.source.capabilities.fold
        return self.source.find_traces(search, self.sort, fold=fold, cancel=deadline)

    def action_cycle_sort(self) -> None:
        sorts = self.source.capabilities.sorts
        self.sort = sorts[(sorts.index(self.sort) + 1) % len(sorts)] if self.sort in sorts else sorts[0]

    def watch_sort(self) -> None:
        self.cursor = 0
        self.refresh()  # the header's arrow
        self.start_search(force=True)

    def action_toggle_fold_repeats(self) -> None:
        if not self.source.capabilities.fold:
            self.app.notify(f"Folding repeated roots: {self.source.capabilities.missing_note}", severity="warning")
            return
        self.fold = not self.fold

    def watch_fold(self) -> None:
        self.cursor = 0
        self.start_search(force=True)

    def row_identity(self, index: int) -> bytes | None:
        return self.result.key(index) if self.result is not None and 0 <= index < self.row_count() else None

    @property
    def selected_trace(self) -> bytes | None:
        return self.row_identity(self.cursor)

    # -- what the app asks of the shown pane -----------------------------------------------------

    def copy_target(self) -> tuple[str, str | None]:
        trace_id = self.selected_trace
        return "trace id", trace_id.hex() if trace_id else None

    def trace_target(self) -> bytes | None:
        return self.selected_trace

    def action_select(self) -> None:
        trace_id = self.selected_trace
        if trace_id is None:
            return
        group = self.row(self.cursor)
        if isinstance(group, RootGroup):  # list the traces it stands for, unfolded
            self.fold = False
            self.app.post_message(ApplyFilter(root_filter(group)))
            return
        self.app.post_message(OpenTrace(trace_id))

    # -- drawing ------------------------------------------------------------------------------------

    def render_header(self, width: int) -> Text:
        title = SORT_COLUMNS[self.sort]
        return COLUMNS.header(width, {title: title + "▼"})

    def render_result_row(self, index: int, summary: Any, width: int) -> Text:
        if isinstance(summary, RootGroup):
            return self._render_group(summary, width)
        if not summary:
            trace_id = self.row_identity(index)
            return Text(f"{trace_id.hex() if trace_id else '?'}  (evicted)", style="dim")
        service = summary.root_service or "?"
        name = summary.root_name or "(missing root)"
        error_count = summary.error_count
        errors = Text(str(error_count), style="bold red") if error_count else Text("0", style="dim")
        services = Text(", ", style="dim").join(inert(s, service_color(s), limit=40) for s in summary.services)
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

    def _render_group(self, group: RootGroup, width: int) -> Text:
        """A folded row: the newest start, the root, how many traces, p50 and p99 of their
        durations (the name gives way so the numbers stay readable at 80 columns)."""
        count = Text(f"×{format_count(group.count)} ", style="bold")
        numbers = Text(f"  p50 {format_duration(group.p50)} p99 {format_duration(group.p99)}", style="dim")
        cell = COLUMNS.widths(width)[2]
        if cell - count.cell_len - numbers.cell_len < 16:  # narrow: the p99 is in the DURATION column
            numbers = Text(f"  p50 {format_duration(group.p50)}", style="dim")
        room = max(8, cell - count.cell_len - numbers.cell_len)
        root = inert(group.name, "", limit=None if len(group.name) <= 200 else 200)
        if root.cell_len > room:  # keep the end: the method of an RPC, the route of a request
            root = Text("…", style="dim") + inert(group.name[-(room - 1):], "", limit=None)
        name = count + root + numbers
        errors = Text(format_count(group.errors), style="bold red") if group.errors else Text("0", style="dim")
        return COLUMNS.row(
            width,
            Text(format_clock(group.latest, self.tz), style="dim"),
            inert(group.service, service_color(group.service), limit=64),
            name,
            Text(format_duration(group.p99), style="dim"),
            Text(format_count(group.spans)),
            errors,
            inert(group.service, service_color(group.service), limit=40),
        )

    # -- errors ---------------------------------------------------------------------------------------

    def action_next_error(self) -> None:
        self._jump_error(1)

    def action_previous_error(self) -> None:
        self._jump_error(-1)

    def _jump_error(self, step: int) -> None:
        """The next listed trace with an error span: nearby rows first, then the whole list
        (every error trace, found in a worker, intersected with the list)."""
        index = self.cursor
        for _ in range(min(self.row_count(), ERROR_LOOKAHEAD_PAGES * self.page_rows)):
            index += step
            if not 0 <= index < self.row_count():
                break
            summary = self.row(index)
            if summary and (summary.errors if isinstance(summary, RootGroup) else summary.error_count):
                self.move_cursor(index)
                return
        self._find_error_traces(step, self.search, self.result)

    def _find_error_traces(self, step: int, search: Search, result: Any) -> None:
        self._error_worker(step, self.source.compile("status=error"), search, result)

    @work(thread=True, exclusive=True, group="errors", exit_on_error=False)
    def _error_worker(self, step: int, errors: Search, search: Search, result: Any) -> None:
        """Every trace with an error span (the list is already filtered: intersected below)."""
        found = self.source.find_traces(errors)
        keys = {found.key(index) for index in range(found.total)}
        self.app.call_from_thread(self._error_traces_found, step, keys, search, result)

    def _error_traces_found(self, step: int, found: set[bytes], search: Search, result: Any) -> None:
        if search is not self.search or result is not self.result:
            return
        index = self.cursor + step
        while 0 <= index < self.row_count():
            if self.row_identity(index) in found:
                self.move_cursor(index)
                return
            index += step
        self.app.notify("No more traces with errors in that direction", severity="warning")


def root_filter(group: RootGroup) -> str:
    """The traces a folded row stands for: their root's service and name."""
    return (f"{{ trace:rootService = {quote_value(group.service)} && "
            f"trace:rootName = {quote_value(group.name)} }}")
