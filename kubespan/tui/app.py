"""The kubespan App: composes the panes and routes messages; widgets do the drawing.

State lives here (filter, paused, which view); widgets get data pushed down and post
intents up. The store is read on the UI thread only for what is visible; searches,
pod statistics and file loading run in thread workers and post their results back.
A timer polls `store.version` a few times a second, so ingest never touches the UI.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from pathlib import Path
from typing import Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import ContentSwitcher
from textual.worker import get_current_worker

from kubespan.tui import commands, messages
from kubespan.tui.filter_bar import FilterBar
from kubespan.tui.format import Clock, format_count
from kubespan.tui.help_screen import HelpScreen
from kubespan.tui.line_list import LineList
from kubespan.tui.pod_list import PodList, collect_pods, pod_attribute_filter, pod_filter
from kubespan.tui.span_detail import SpanDetail
from kubespan.tui.span_list import SpanList
from kubespan.tui.status_footer import KeyHints, StatusFooter
from kubespan.tui.text import inert
from kubespan.tui.trace_list import TraceList
from kubespan.tui.trace_view import TraceView
from kubespan.tui.waterfall import Waterfall

POLL_INTERVAL = 0.25
"""Seconds between looks at `store.version` (4×/s)."""

POD_REFRESH_EVERY = 8
"""Pod statistics are recomputed every this many polls (2 s) while the pod view is shown."""

SEARCH_IDLE_FACTOR = 3.0
"""Live re-searches leave the search thread idle this many times as long as the last
search took, so a big store never keeps the UI thread waiting for the GIL."""


def default_compile_query(text: str):
    from kubespan.query import compile_query

    return compile_query(text)


class KubespanApp(App[None]):
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
        self.query = None
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
    def detail(self) -> SpanDetail:
        return self._main(SpanDetail)

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

    # -- polling and searching ----------------------------------------------------------

    def _poll(self) -> None:
        try:
            self._poll_store()
        except NoMatches:  # shutting down: the main screen is gone
            pass

    def _poll_store(self) -> None:
        self._polls += 1
        self._update_status()
        version = self.store.version
        if version == self._seen_version:
            return
        self._seen_version = version
        if self._following():
            self._start_search()
        if self.view == "traces":
            self.trace_list.refresh_summaries()
        elif self.view == "trace":
            self.trace_view.reload()
        elif self.view == "pods" and self._polls % POD_REFRESH_EVERY == 0:
            self._load_pods()

    def _following(self) -> bool:
        """New spans re-run the search only while a list is shown with its cursor at the
        top; a user reading further down (or a waterfall) is not disturbed, and the
        search thread stays quiet while they work. Going back to the top catches up."""
        if self.paused or self.view not in ("traces", "spans"):
            return False
        shown = self.trace_list if self.view == "traces" else self.span_list
        return shown.cursor == 0

    def _stale(self, kind: str) -> bool:
        return (self._searched.get(kind) != self.generation
                or (not self.paused and self._searched_version.get(kind) != self.store.version))

    @on(LineList.Highlighted, "#traces, #spans")
    def _list_moved(self, message: LineList.Highlighted) -> None:
        if message.index == 0 and self._stale(self.list_view):
            self._start_search(force=True)

    def _update_status(self) -> None:
        stats = self.counters.snapshot() if self.counters is not None else {}
        self._main(StatusFooter).update_stats(
            stats=stats, stored=len(self.store), addresses=self.addresses, warnings=self.warnings,
            paused=self.paused, now=self.clock.now(), source=self.source, progress=self.progress,
        )

    def _start_search(self, *, force: bool = False) -> None:
        if self.view == "pods":
            return
        kind = "spans" if self.list_view == "spans" else "traces"
        if self._searching and not force:
            self._search_again = True
            return
        if not force and time.monotonic() < self._next_search:
            return  # the store is big and busy: give the UI thread room between searches
        self._searching = True
        self._search_again = False
        self._searches.submit(self._search, kind, self.query, self.generation)

    def _search(self, kind: str, query, generation: int) -> None:
        """Runs on a search thread; only posts messages (thread-safe) back to the app.

        A plain executor thread rather than a Textual thread worker: a worker starts
        only once the event loop gets round to its task (after the next frame), which
        measured 10-40 ms of every filter keypress. Stale results are dropped by
        generation in the handlers, which is all `exclusive=True` would give."""
        started = time.monotonic()
        try:
            version = self.store.version
            if kind == "traces":
                message = messages.TracesFound(self.store.search_traces(query), generation, version)
            else:
                message = messages.SpansFound(self.store.search(query), generation, version)
        except Exception as exc:  # report, never kill the thread pool
            self.post_message(messages.SearchFailed(f"search failed: {exc}"))
            return
        self._next_search = time.monotonic() + SEARCH_IDLE_FACTOR * (time.monotonic() - started)
        self.post_message(message)

    def on_search_failed(self, message: messages.SearchFailed) -> None:
        self._search_done()
        self.notify(message.error, severity="error", timeout=8)

    def _search_done(self) -> None:
        self._searching = False
        if self._search_again and not self.paused:
            self._start_search()

    def on_traces_found(self, message: messages.TracesFound) -> None:
        self._search_done()
        if not self._alive():
            return
        if message.generation != self.generation:
            return
        self.trace_list.set_traces(message.trace_ids, follow=not self.paused)
        self._searched["traces"] = message.generation
        self._searched_version["traces"] = message.version
        if self.list_view == "traces":
            self.filter_bar.set_matches(f"{format_count(len(message.trace_ids))} traces")

    def on_spans_found(self, message: messages.SpansFound) -> None:
        self._search_done()
        if not self._alive():
            return
        if message.generation != self.generation:
            return
        self.span_list.set_ordinals(message.ordinals, follow=not self.paused)
        self._searched["spans"] = message.generation
        self._searched_version["spans"] = message.version
        if self.list_view == "spans":
            self.filter_bar.set_matches(f"{format_count(len(message.ordinals))} spans")

    def on_worker_state_changed(self, event) -> None:
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", timeout=8)

    # -- filter ---------------------------------------------------------------------------

    @on(FilterBar.Applied)
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        self.query = message.query
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
            ("Waterfall", Waterfall.BINDINGS),
            ("Span detail", SpanDetail.BINDINGS),
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

    # -- pods -------------------------------------------------------------------------------

    def _load_pods(self) -> None:
        self._collect_pods(self.store.version)

    @work(thread=True, exclusive=True, group="pods", exit_on_error=False)
    def _collect_pods(self, version: int) -> None:
        worker = get_current_worker()
        pods = collect_pods(self.store, self.compile_query, lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.post_message(messages.PodsFound(pods, version))

    def on_pods_found(self, message: messages.PodsFound) -> None:
        if not self._alive():
            return
        self.pod_list.set_pods(message.pods)
        if self.view == "pods":
            self.filter_bar.set_matches(f"{len(message.pods)} pods")

    # -- copy, add to filter, errors, save --------------------------------------------------

    def selected_span_row(self):
        if self.view == "trace":
            return self.waterfall.selected_row
        if self.view == "spans":
            return self.span_list.selected_row or None
        return None

    def selected_trace_id(self) -> bytes | None:
        if self.view == "trace":
            return self.waterfall.trace_id
        if self.view == "traces":
            return self.trace_list.selected_trace
        row = self.selected_span_row()
        return row.trace_id if row else None

    def action_copy(self) -> None:
        what, value = self._copy_target()
        if value is None:
            self.notify("Nothing selected to copy", severity="warning")
            return
        self.copy_to_clipboard(value)
        shown = value if len(value) <= 60 else value[:59] + "…"
        self.notify(Text.assemble(f"Copied {what}: ", inert(shown, limit=60)), timeout=3)

    def _copy_target(self) -> tuple[str, str | None]:
        focused = self.focused
        if isinstance(focused, SpanDetail) and focused.selected_item is not None:
            item = focused.selected_item
            return item.label, item.value
        if self.view == "pods":
            pod = self.pod_list.selected_pod
            return "pod", pod.qualified if pod else None
        if self.view in ("trace", "spans"):
            row = self.selected_span_row()
            return ("span id", row.span_id.hex()) if row else ("span id", None)
        trace_id = self.selected_trace_id()
        return "trace id", trace_id.hex() if trace_id else None

    def action_add_to_filter(self) -> None:
        item = self.detail.selected_item if self.view == "trace" else None
        if item is None or item.key is None:
            self.notify("Select an attribute in the span detail (Enter on a span, then move to it)",
                        severity="warning")
            return
        if item.scope in ("event", "link", "scope"):
            self.notify(f"The query language cannot filter on {item.scope} attributes yet; "
                        "copy the value with y instead", severity="warning")
            return
        text = self.filter_bar.add_term(item.key, item.raw, scope=item.scope)
        self.notify(Text.assemble("Filter: ", inert(text, limit=200)), timeout=3)

    def action_next_error(self) -> None:
        if self.view == "trace":
            self.waterfall.action_next_error()
        elif self.view == "spans":
            self.span_list.action_next_error()
        elif self.view == "traces":
            self.trace_list.action_next_error()

    @on(TraceList.FindError)
    def _find_error_trace(self, message: TraceList.FindError) -> None:
        self._searches.submit(self._search_error_traces, message.step, self.generation)

    def _search_error_traces(self, step: int, generation: int) -> None:
        """Executor thread: every trace with an error span (intersected with the list later)."""
        try:
            found = set(self.store.search_traces(self.compile_query("status=error")))
        except Exception as exc:
            self.post_message(messages.SearchFailed(f"error search failed: {exc}"))
            return
        self.post_message(messages.ErrorTracesFound(found, step, generation))

    def on_error_traces_found(self, message: messages.ErrorTracesFound) -> None:
        if not self._alive() or message.generation != self.generation:
            return
        if not self.trace_list.jump_to_error_in(message.trace_ids, message.step):
            self.notify("No more traces with errors in that direction", severity="warning")

    def action_save(self) -> None:
        trace_id = self.selected_trace_id()
        if trace_id is None:
            self.notify("No trace selected to save", severity="warning")
            return
        from kubespan.tui.export import save_trace

        try:
            path, count = save_trace(self.store, trace_id, self.save_dir)
        except OSError as exc:
            self.notify(f"Cannot save: {exc}", severity="error")
            return
        self.notify(f"Saved {count} spans to {path}", timeout=4)

    # -- loading files ------------------------------------------------------------------------

    @work(thread=True, group="load", exit_on_error=False)
    def _run_loader(self) -> None:
        def progress(**report) -> None:
            self.post_message(messages.LoadProgress(**report))

        self.loader(progress)

    def on_load_progress(self, message: messages.LoadProgress) -> None:
        if not self._alive():
            return
        if message.finished:
            self.progress = ""
            detail = f"Loaded {message.spans:,} spans from {message.path}"
            self.notify(detail if not message.error else f"{message.path}: {message.error}",
                        severity="error" if message.error else "information", timeout=4)
        else:
            share = f" {100 * message.done // message.total}%" if message.total else ""
            self.progress = f"loading {Path(message.path).name}{share} ({format_count(message.spans)} spans)"
        for warning in message.warnings:
            self.notify(str(warning), severity="warning", timeout=6)
        self._update_status()

    # -- command palette -----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # Theme, Screenshot (SVG), Keys, Quit
        yield from commands.system_commands(self)
