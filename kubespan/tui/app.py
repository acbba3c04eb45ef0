"""The kubespan App: composes the panes and routes messages; the panes do the work.

State is four reactives bound down to the views: `search` (the applied filter), `paused`,
`feed` (the source's version, polled a few times a second) and `view` (which pane is
shown). Panes post intents up (`OpenTrace`, `ApplyFilter`, `Searched`); the app routes
them. Every read of the data goes through the `DataSource`; searches and trace loads
run in the panes' own workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from typing import Any, cast

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher
from textual.worker import Worker, WorkerState

from kubespan.tui import commands
from kubespan.tui.filter_bar import FilterBar
from kubespan.tui.format import Clock, plural
from kubespan.tui.help_screen import HelpScreen, help_sections
from kubespan.tui.key_hints import KeyHints
from kubespan.tui.messages import ApplyFilter, LoadProgress, OpenTrace, Searched
from kubespan.tui.pod_list import PodList
from kubespan.tui.result_list import ResultList
from kubespan.tui.services_view import ServicesView
from kubespan.tui.source.base import DataSource, Search, SourceStatus, TraceSort
from kubespan.tui.span_detail_pane import SpanDetailPane
from kubespan.tui.span_list import SpanList
from kubespan.tui.status_footer import StatusFooter
from kubespan.tui.status_line import FeedStatus
from kubespan.tui.tag_suggester import TagSuggester
from kubespan.tui.text import notice
from kubespan.tui.trace_list import TraceList
from kubespan.tui.trace_view import TraceView
from kubespan.tui.views import VIEWS, empty_message
from kubespan.tui.waterfall import Waterfall

POLL_INTERVAL = 0.25
"""Seconds between looks at the source's version and counters (4×/s)."""
BOUND_STATE = ("search", "paused", "feed")
"""App reactives bound down to every view that declares one of the same name."""


class KubespanApp(App[None]):
    """Live trace viewer over a `DataSource`."""

    CSS_PATH = "app.tcss"
    TITLE = "kubespan"

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "back", "Back", show=False),
        Binding("t", "toggle_view", "Traces/spans"),
        *(Binding(v.keys, f"show_view('{v.id}')", v.title, show=v.id == "pods") for v in VIEWS if v.keys),
        Binding("p", "pause", "Pause"),
        Binding("y", "copy", "Copy"),
        Binding("f", "add_to_filter", "Add to filter"),
        Binding("s", "save", "Save trace"),
        Binding("e", "next_error", "Next error", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    search: var[Search] = var(Search)
    """The applied filter; the lists search with it."""
    paused: var[bool] = var(False)
    """`p`: the lists keep what they show while spans keep arriving."""
    feed: var[int] = var(-1)
    """The source's version at the last poll; a change refreshes what is shown."""
    view: var[str] = var("traces")
    """The shown view's id (see `views.VIEWS`)."""

    def __init__(self, source: DataSource, *, clock: Clock | None = None, tz: tzinfo | None = None,
                 save_dir: str | Path = ".", loader: Callable[..., Any] | None = None, label: str = "",
                 initial_filter: str = "", poll_interval: float = POLL_INTERVAL) -> None:
        super().__init__()
        self.source = source
        self.clock = clock or Clock(tz=tz)
        self.tz = tz if tz is not None else self.clock.tz
        self.save_dir = Path(save_dir)
        self.loader = loader
        """`kubespan open`: reads the files into the store, reporting progress (in a worker)."""
        self.label = label
        """What is being viewed (file names, "demo"), for the footer."""
        self.initial_filter = initial_filter
        self.poll_interval = poll_interval
        self.list_view = "traces"
        """The list Escape from a trace returns to, and `t` toggles from."""
        self.progress = ""
        self.source_status = SourceStatus()  # as last read (`_read_status`, on a worker)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is inert text: span names, attribute values, file paths and error messages
        come from the network or the disk, so markup is off and control characters are escaped (thread-safe)."""
        super().notify(notice(message), title=notice(title, limit=120), severity=severity,
                       timeout=timeout, markup=False)

    def action_help_quit(self) -> None:
        """Ctrl+C: say how to quit, in plain words (Textual's own hint is markup; ours are shown literally)."""
        self.notify("Press q (or ctrl+q) to quit the app", title="Do you want to quit?")

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        suggester = TagSuggester(self.source) if hasattr(self.source, "tag_names") else None
        yield FilterBar(self.source.compile, id="filter", suggester=suggester)
        with ContentSwitcher(initial="traces", id="views"):
            for spec in VIEWS:
                widget = spec.make(self.source, self.tz)
                widget.display = spec.id == "traces"  # hidden views search when first shown, not at start
                bound = [getattr(KubespanApp, name) for name in BOUND_STATE if name in widget._reactives]
                yield widget.data_bind(*bound) if bound else widget
        yield StatusFooter(id="status")
        yield KeyHints(id="keys")

    def _alive(self) -> bool:
        """False while shutting down, when a late message has nowhere to go."""
        return bool(self.screen_stack) and self.is_running

    def pane(self, view_id: str | None = None) -> Widget:
        """A view's widget (the shown one by default), also while a modal screen is on top."""
        return self.screen_stack[0].query_one(f"#{view_id or self.view}")

    @property
    def filter_bar(self) -> FilterBar:
        return self.screen_stack[0].query_one(FilterBar)

    @property
    def trace_list(self) -> TraceList:
        return self.screen_stack[0].query_one(TraceList)

    @property
    def span_list(self) -> SpanList:
        return self.screen_stack[0].query_one(SpanList)

    @property
    def pod_list(self) -> PodList:
        return self.screen_stack[0].query_one(PodList)

    @property
    def trace_view(self) -> TraceView:
        return self.screen_stack[0].query_one(TraceView)

    @property
    def waterfall(self) -> Waterfall:
        return self.trace_view.waterfall

    @property
    def detail(self) -> SpanDetailPane:
        return self.trace_view.detail

    def on_mount(self) -> None:
        self.source_status = self.source.status()
        self._update_empty_messages()
        self.watch(self.screen, "focused", self._focus_moved)
        self.pane("traces").focus()
        self.set_interval(self.poll_interval, self._poll)
        self._poll()
        if self.initial_filter:
            self.filter_bar.apply(self.initial_filter)
        if self.loader is not None:
            self._load_files()

    def _poll(self) -> None:
        if not self._alive():
            return
        self.feed = self.source.version()
        self._read_status()

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def _read_status(self) -> None:
        """The counters (gauges may take the store's lock) are read on a worker, never on the UI thread."""
        status = self.source.status()
        if self._alive():
            self.call_from_thread(self._update_status, status)

    def _focus_moved(self, _focused: Widget | None) -> None:
        self.call_after_refresh(self._show_key_hints)  # the bindings shown are those of the new focus

    def _show_key_hints(self) -> None:
        screen = self.screen_stack[0]
        screen.query_one(KeyHints).show_bindings(screen.active_bindings, self.get_key_display)

    def _update_status(self, status: SourceStatus | None = None) -> None:
        """Redraw the footer with `status` (from `_read_status`), or the last one read."""
        if status is not None:
            self.source_status = status
        status = self.source_status
        shown = self.pane()
        held = isinstance(shown, ResultList) and not self.paused and not shown.following
        feed = FeedStatus(stats=status.stats, stored=status.stored, addresses=status.addresses,
                          warnings=status.warnings, paused=self.paused, held=held, source=self.label,
                          progress=self.progress, forwards=status.forwards, remote=status.remote, tz=self.tz)
        self.screen_stack[0].query_one(StatusFooter).update_status(feed, self.clock.now())

    def _update_empty_messages(self) -> None:
        for spec in VIEWS:
            status, filtered = self.source_status, bool(self.search.text)
            message = empty_message(spec, filtered, status.addresses, self.source.capabilities)
            if message is not None:
                pane = self.pane(spec.id)
                cast(Any, pane).empty_message = message
                pane.refresh()

    # -- views -----------------------------------------------------------------------------------

    def watch_view(self, view: str) -> None:
        if any(spec.id == view and spec.is_list for spec in VIEWS):
            self.list_view = view
        self.screen_stack[0].query_one(ContentSwitcher).current = view
        self._focus_view()

    def _focus_view(self) -> None:
        pane = self.pane()
        (pane.waterfall if isinstance(pane, TraceView) else pane).focus()

    def action_show_view(self, view: str) -> None:
        self.view = view

    def action_toggle_view(self) -> None:
        self.view = "spans" if self.list_view == "traces" else "traces"

    async def action_back(self) -> None:
        if self.view == "trace":
            trace_view = self.trace_view
            if trace_view.detail.has_focus:
                trace_view.waterfall.focus()
            elif not trace_view.go_back():
                self.view = self.list_view
        elif self.view != self.list_view:
            self.view = self.list_view
        else:
            self._focus_view()

    def action_focus_filter(self) -> None:
        self.filter_bar.input.focus()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._follow()
        self._update_status()

    def _follow(self) -> None:
        """A remote source polls for the followed search only, and not while paused."""
        follow = getattr(self.source, "follow", None)
        if follow is not None:
            follow(self.search, self.paused)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_sections(self.BINDINGS)))

    # -- messages from the panes ---------------------------------------------------------------------

    @on(FilterBar.Applied)
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        self.search = message.search
        self._follow()
        self._update_empty_messages()
        self._focus_view()

    @on(FilterBar.Reverted)
    def _filter_reverted(self) -> None:
        self._focus_view()

    @on(ApplyFilter)
    def _apply_filter(self, message: ApplyFilter) -> None:
        self.view = message.view
        self.filter_bar.apply(message.text)

    @on(Searched)
    def _searched(self, message: Searched) -> None:
        if not self._alive():
            return
        if message.control is self.pane() or message.kind == self.view:
            cut = f" ({message.cut})" if message.cut else ""
            self.filter_bar.set_matches(plural(message.total, message.kind.removesuffix("s")) + cut)

    @on(ServicesView.OperationChosen)
    def _operation_chosen(self, message: ServicesView.OperationChosen) -> None:
        """Enter in the Services view: the operation's traces, slowest first."""
        self.trace_list.sort = TraceSort.DURATION
        self._apply_filter(ApplyFilter(message.query))

    @on(OpenTrace)
    def _open_trace(self, message: OpenTrace) -> None:
        self.trace_view.open(message.trace_id, select=message.select)

    @on(TraceView.Loaded)
    def _trace_loaded(self) -> None:
        if self._alive():
            self.view = "trace"

    @on(TraceView.Missing)
    def _trace_missing(self, message: TraceView.Missing) -> None:
        where = "the linked trace " if message.followed else "trace "
        self.notify(f"{where.capitalize()}{message.trace_id.hex()} is not in the store (evicted or never received)",
                    severity="warning")

    # -- actions on what is selected -------------------------------------------------------------

    def action_copy(self) -> None:
        target = getattr(self.pane(), "copy_target", None)  # views without a selection to copy have none
        what, value = target() if target is not None else ("", None)
        if value is None:
            self.notify("Nothing selected to copy", severity="warning")
            return
        self.copy_to_clipboard(value)
        shown = value if len(value) <= 60 else value[:59] + "…"
        self.notify(f"Copied {what}: {shown}", timeout=3)

    def action_add_to_filter(self) -> None:
        narrow = getattr(self.pane(), "filter_with", None)  # the Services and Graph views
        if narrow is not None:
            text = narrow(self.filter_bar.applied)
            if text is None or not self.filter_bar.apply(text):
                return self.notify("Select a row (an edge adds only to a TraceQL filter)", severity="warning")
        else:
            item = self.trace_view.filter_item() if self.view == "trace" else None
            if item is None or item.key is None:
                return self.notify("Select an attribute in the span detail (Enter on a span, then move to it)",
                                   severity="warning")
            if item.scope in ("event", "link", "scope"):
                return self.notify(f"The query language cannot filter on {item.scope} attributes yet; "
                                   "copy the value with y instead", severity="warning")
            text = self.filter_bar.add_term(item.key, item.raw, scope=item.scope)
        self.notify(f"Filter: {text if len(text) <= 200 else text[:199] + '…'}", timeout=3)

    def action_next_error(self) -> None:
        self._on_shown("next_error")

    def action_previous_error(self) -> None:
        self._on_shown("previous_error")

    def _on_shown(self, action: str) -> None:
        pane = self.pane()
        target = pane.waterfall if isinstance(pane, TraceView) else pane
        method = getattr(target, f"action_{action}", None)
        if method is not None:
            method()

    def action_save(self) -> None:
        target = getattr(self.pane(), "trace_target", None)
        trace_id = target() if target is not None else None
        if trace_id is None:
            self.notify("No trace selected to save", severity="warning")
            return
        if not self.source.capabilities.save:
            self.notify(f"Saving: {self.source.capabilities.missing_note}", severity="warning")
            return
        try:
            path, count = self.source.save_trace(trace_id, self.save_dir)
        except OSError as exc:
            self.notify(f"Cannot save: {exc}", severity="error")
            return
        self.notify(f"Saved {plural(count, 'span', exact=True)} to {path.resolve()}", timeout=6)

    # -- loading files ---------------------------------------------------------------------------

    @work(thread=True, group="load", exit_on_error=False)
    def _load_files(self) -> None:
        def progress(**report: Any) -> None:
            self.post_message(LoadProgress(**report))

        assert self.loader is not None
        self.loader(progress)

    def on_load_progress(self, message: LoadProgress) -> None:
        if not self._alive():
            return
        if message.finished:
            self.progress = ""
            detail = f"Loaded {plural(message.spans, 'span', exact=True)} from {message.path}"
            self.notify(detail if not message.error else f"{message.path}: {message.error}",
                        severity="error" if message.error else "information", timeout=4)
        else:
            share = f" {100 * message.done // message.total}%" if message.total else ""
            self.progress = f"loading {Path(message.path).name}{share} ({plural(message.spans, 'span')})"
        for warning in message.warnings:
            self.notify(str(warning), severity="warning", timeout=6)
        self._update_status()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", timeout=8)

    # -- command palette -----------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # Theme, Screenshot (SVG), Keys, Quit
        yield from commands.system_commands(self)
