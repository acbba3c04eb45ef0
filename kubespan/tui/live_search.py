"""Live searching for the kubespan TUI: the store poll, the search thread and its results.

A timer polls `store.version`; while a list follows the newest spans (cursor at the top, not
paused) a change re-runs the search on an executor thread, paced so that a big store never
keeps the UI thread waiting. Results come back as messages and are dropped when the filter
(generation) changed meanwhile.

Mixed into :class:`~kubespan.tui.app.KubespanApp`, whose state and widgets it uses. Textual
registers ``@on`` handlers only on its own classes, so message routing stays in the app.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from textual.css.query import NoMatches

from kubespan.tui import messages
from kubespan.tui.format import plural
from kubespan.tui.status_footer import StatusFooter
from kubespan.tui.status_line import FeedStatus, forward_states

POD_REFRESH_EVERY = 8
"""Pod statistics are recomputed every this many polls (2 s) while the pod view is shown."""

SEARCH_IDLE_FACTOR = 3.0
"""Live re-searches leave the search thread idle this many times as long as the last
search took, so a big store never keeps the UI thread waiting for the GIL."""


class LiveSearch:
    """Store polling and background searches of :class:`~kubespan.tui.app.KubespanApp`."""

    _searches: ThreadPoolExecutor
    _searching: bool
    _search_again: bool
    _searched: dict[str, int]
    _searched_version: dict[str, int]
    _next_search: float
    _seen_version: int
    _polls: int

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

    def _update_status(self) -> None:
        stats = self.counters.snapshot() if self.counters is not None else {}
        forwards = forward_states(self.forward_status()) if self.forward_status is not None else []
        status = FeedStatus(
            stats=stats, stored=len(self.store), addresses=dict(self.addresses), warnings=tuple(self.warnings),
            paused=self.paused, held=self._held(), source=self.source, progress=self.progress,
            forwards=tuple(forwards),
        )
        self._main(StatusFooter).update_status(status, self.clock.now())

    def _held(self) -> bool:
        """Not paused, but a list is shown with its cursor below the top: new traces are
        not added until the cursor goes back to the first row."""
        if self.paused or self.view not in ("traces", "spans"):
            return False
        return not self._following()

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
        self._searches.submit(self._search, kind, self.filter_query, self.generation)

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
        if self._results_current(message):
            self.trace_list.set_traces(message.trace_ids, follow=not self.paused)
            self._searched_list("traces", message, len(message.trace_ids))

    def on_spans_found(self, message: messages.SpansFound) -> None:
        if self._results_current(message):
            self.span_list.set_ordinals(message.ordinals, follow=not self.paused)
            self._searched_list("spans", message, len(message.ordinals))

    def _results_current(self, message: messages.TracesFound | messages.SpansFound) -> bool:
        """Close the search; true if its results still belong on screen (same filter)."""
        self._search_done()
        return self._alive() and message.generation == self.generation

    def _searched_list(self, kind: str, message: messages.TracesFound | messages.SpansFound,
                       matches: int) -> None:
        """Remember what the `kind` list now shows and count its matches in the filter bar."""
        self._searched[kind] = message.generation
        self._searched_version[kind] = message.version
        if self.list_view == kind:
            self.filter_bar.set_matches(plural(matches, kind.removesuffix("s")))

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
