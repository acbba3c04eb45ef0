"""The kubespan App: composes the panes and routes messages; widgets do the drawing.

State lives here (filter, paused, which view); widgets get data pushed down and post
intents up. The store is read on the UI thread only for what is visible; searches,
pod statistics and file loading run in thread workers and post their results back.
A timer polls `store.version` a few times a second, so ingest never touches the UI.

The searching, the selection actions and the thread workers live in the mixins
:class:`~kubespan.tui.live_search.LiveSearch`,
:class:`~kubespan.tui.selection_actions.SelectionActions` and
:class:`~kubespan.tui.background_work.BackgroundWork`; the ``@on`` message routing stays
here because Textual registers decorated handlers only on its own classes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from pathlib import Path
from typing import Callable, Iterable

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from kubespan.tui import commands
from kubespan.tui.background_work import BackgroundWork
from kubespan.tui.filter_bar import FilterBar
from kubespan.tui.format import Clock
from kubespan.tui.help_screen import HelpScreen
from kubespan.tui.line_list import LineList
from kubespan.tui.live_search import LiveSearch
from kubespan.tui.pod_list import PodList, pod_attribute_filter, pod_filter
from kubespan.tui.selection_actions import SelectionActions
from kubespan.tui.span_detail_pane import SpanDetailPane
from kubespan.tui.span_list import SpanList
from kubespan.tui.key_hints import KeyHints
from kubespan.tui.status_footer import StatusFooter
from kubespan.tui.text import notice
from kubespan.tui.trace_list import TraceList
from kubespan.tui.trace_view import TraceView
from kubespan.tui.waterfall import Waterfall

POLL_INTERVAL = 0.25
"""Seconds between looks at `store.version` (4×/s)."""


def default_compile_query(text: str):
    from kubespan.query import compile_query

    return compile_query(text)


class KubespanApp(LiveSearch, SelectionActions, BackgroundWork, App[None]):
    """Live trace viewer over a `SpanStore`."""

    CSS_PATH = "app.tcss"
    TITLE = "kubespan"

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "back", "Back", show=False),
        Binding("t", "toggle_view", "Traces/spans"),
        Binding("1", "show_view('traces')", "Traces", show=False),
        Binding("2", "show_view('spans')", "Spans", show=False),
        Binding("3,P", "show_view('pods')", "Pods"),
        Binding("p", "pause", "Pause"),
        Binding("y", "copy", "Copy"),
        Binding("f", "add_to_filter", "Add to filter"),
        Binding("s", "save", "Save trace"),
        Binding("e", "next_error", "Next error", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        store,
        *,
        compile_query: Callable[[str], object] | None = None,
        counters=None,
        addresses: dict | None = None,
        warnings: list[str] | None = None,
        clock: Clock | None = None,
        tz: tzinfo | None = None,
        save_dir: str | Path = ".",
        loader: Callable | None = None,
        source: str = "",
        initial_filter: str = "",
        poll_interval: float = POLL_INTERVAL,
        forward_status: Callable[[], list[dict]] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.compile_query = compile_query or default_compile_query
        self.counters = counters
        self.addresses = dict(addresses or {})
        self.warnings = list(warnings or [])
        self.clock = clock or Clock(tz=tz)
        self.tz = tz if tz is not None else self.clock.tz
        self.save_dir = Path(save_dir)
        self.loader = loader
        self.source = source
        self.initial_filter = initial_filter
        self.poll_interval = poll_interval
        self.forward_status = forward_status
        """`Forwarder.status()` of every forward target, read on each poll."""
        self.filter_query = None
        self.filter_text = ""
        self.paused = False
        self.view = "traces"
        self.list_view = "traces"
        self.generation = 0
        self.progress = ""
        self._seen_version = -1
        self._searching = False
        self._search_again = False
        self._polls = 0
        self._searched: dict[str, int] = {}
        self._next_search = 0.0
        self._searched_version: dict[str, int] = {}
        self._searches = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kubespan-search")

    def notify(self, message, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is inert text: span names, attribute values, file paths and
        error messages come from the network or the disk, so markup is off and control
        characters are escaped. (Thread-safe, like `App.notify`.)"""
        super().notify(notice(message), title=notice(title, limit=120), severity=severity,
                       timeout=timeout, markup=False)

    def action_help_quit(self) -> None:
        """Ctrl+C: say how to quit, in plain words (Textual's own hint is markup, and
        every notification here is shown literally)."""
        self.notify("Press q (or ctrl+q) to quit the app", title="Do you want to quit?")

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield FilterBar(self.compile_query, id="filter")
        with ContentSwitcher(initial="traces", id="views"):
            yield TraceList(self.store, tz=self.tz, id="traces")
            yield SpanList(self.store, tz=self.tz, id="spans")
            yield PodList(tz=self.tz, id="pods")
            yield TraceView(self.store, tz=self.tz, id="trace-view")
        yield StatusFooter(id="status")
        yield KeyHints(id="keys")

    def _alive(self) -> bool:
        """False while shutting down, when a late worker result has nowhere to go."""
        return bool(self.screen_stack) and self.is_running

    def _main(self, widget_type):
        """Widgets of the main screen, also while a modal screen is on top."""
        return self.screen_stack[0].query_one(widget_type)

    @property
    def trace_list(self) -> TraceList:
        return self._main(TraceList)

    @property
    def span_list(self) -> SpanList:
        return self._main(SpanList)

    @property
    def pod_list(self) -> PodList:
        return self._main(PodList)

    @property
    def trace_view(self) -> TraceView:
        return self._main(TraceView)

    @property
    def waterfall(self) -> Waterfall:
        return self._main(Waterfall)

    @property
    def detail(self) -> SpanDetailPane:
        return self._main(SpanDetailPane)

    @property
    def filter_bar(self) -> FilterBar:
        return self._main(FilterBar)

    def _update_empty_messages(self) -> None:
        if self.filter_text:
            waiting = "No {} match the filter (Escape in the filter bar reverts, Enter on an empty filter clears)"
        elif self.addresses:
            listen = " and ".join(f"{'gRPC' if k == 'grpc' else k.upper()} {v}" for k, v in self.addresses.items())
            waiting = "Waiting for {}: send OTLP traces to " + listen
        else:
            waiting = "No {} yet"
        self.trace_list.empty_message = waiting.format("traces")
        self.span_list.empty_message = waiting.format("spans")
        self.trace_list.refresh()
        self.span_list.refresh()

    def on_mount(self) -> None:
        self._update_empty_messages()
        self.watch(self.screen, "focused", self._focus_changed)
        self.trace_list.focus()
        self._update_status()
        self.set_interval(self.poll_interval, self._poll)
        if self.initial_filter:
            self.filter_bar.apply(self.initial_filter)
        else:
            self._start_search()
        if self.loader is not None:
            self._run_loader()

    def _focus_changed(self, focused) -> None:
        self.call_after_refresh(self._show_key_hints)

    def _show_key_hints(self) -> None:
        screen = self.screen_stack[0]
        self._main(KeyHints).show_bindings(screen.active_bindings, self.get_key_display)

    def on_unmount(self) -> None:
        self._searches.shutdown(wait=False, cancel_futures=True)

    # -- filter ---------------------------------------------------------------------------

    @on(FilterBar.Applied)
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        self.filter_query = message.query
        self.filter_text = message.text
        self.generation += 1
        self._update_empty_messages()
        self._start_search(force=True)
        self._focus_view()

    @on(FilterBar.Reverted)
    def _filter_reverted(self) -> None:
        self._focus_view()

    def action_focus_filter(self) -> None:
        self.filter_bar.input.focus()

    # -- views ------------------------------------------------------------------------------

    def _focus_view(self) -> None:
        target = {"traces": self.trace_list, "spans": self.span_list, "pods": self.pod_list,
                  "trace": self.waterfall}[self.view]
        target.focus()

    def show_view(self, view: str) -> None:
        self.view = view
        if view in ("traces", "spans"):
            self.list_view = view
        self._main(ContentSwitcher).current = "trace-view" if view == "trace" else view
        self._focus_view()
        if view in ("traces", "spans") and (
            self._searched.get(view) != self.generation or (self._following() and self._stale(view))
        ):
            self._start_search(force=True)
        elif view == "traces":
            self.trace_list.refresh_summaries()
        if view == "pods":
            self._load_pods()

    def action_show_view(self, view: str) -> None:
        self.show_view(view)

    def action_toggle_view(self) -> None:
        self.show_view("spans" if self.list_view == "traces" else "traces")

    def action_back(self) -> None:
        if self.view == "trace":
            if self.detail.has_focus:
                self.waterfall.focus()
            else:
                self.show_view(self.list_view)
        elif self.view == "pods":
            self.show_view(self.list_view)
        else:
            self._focus_view()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._update_status()
        if not self.paused:
            self._start_search(force=True)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list]]:
        from kubespan.tui.filter_bar import FilterInput

        return [
            ("Everywhere", self.BINDINGS),
            ("Lists (traces, spans, pods)", LineList.BINDINGS + TraceList.BINDINGS),
            ("Waterfall", Waterfall.BINDINGS + TraceView.BINDINGS),
            ("Span detail", SpanDetailPane.BINDINGS),
            ("Filter bar", [Binding("enter", "", "Apply")] + FilterInput.BINDINGS),
        ]

    # -- opening traces -----------------------------------------------------------------------

    @on(LineList.Selected, "#traces")
    def _trace_selected(self, message: LineList.Selected) -> None:
        trace_id = self.trace_list.selected_trace
        if trace_id is not None:
            self.open_trace(trace_id)

    @on(LineList.Selected, "#spans")
    def _span_selected(self, message: LineList.Selected) -> None:
        row = self.span_list.selected_row
        if row:
            self.open_trace(row.trace_id, select=row.span_id)

    @on(LineList.Selected, "#pods")
    def _pod_selected(self, message: LineList.Selected) -> None:
        pod = self.pod_list.selected_pod
        if pod is None:
            return
        self.list_view = "traces"
        self.show_view("traces")
        if not self.filter_bar.apply(pod_filter(pod)):
            self.filter_bar.apply(pod_attribute_filter(pod))

    def open_trace(self, trace_id: bytes, *, select: bytes | None = None) -> None:
        if not self.trace_view.load(trace_id, select=select):
            self.notify(f"Trace {trace_id.hex()} was evicted from the store", severity="warning")
            return
        self.show_view("trace")

    # -- search triggers (the searching itself is in LiveSearch) ------------------------------

    @on(LineList.Highlighted, "#traces, #spans")
    def _list_moved(self, message: LineList.Highlighted) -> None:
        if message.index == 0 and self._stale(self.list_view):
            self._start_search(force=True)

    @on(TraceList.FindError)
    def _find_error_trace(self, message: TraceList.FindError) -> None:
        self._searches.submit(self._search_error_traces, message.step, self.generation)

    # -- command palette -----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # Theme, Screenshot (SVG), Keys, Quit
        yield from commands.system_commands(self)
