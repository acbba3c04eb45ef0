"""A list of search results that owns its search worker and follows the live feed.

The app binds three reactives down: `search` (the applied filter), `paused` and `feed`
(the source's version, polled a few times a second). The list searches when the filter
changes, and when the feed moved while it is *following*: shown, not paused, cursor on the
first row. A user reading further down is not disturbed (the list is *held*; going back
to the top catches up). Searches run in one exclusive thread worker per list, paced so a
big store never keeps the UI waiting; the rows on screen are looked up in the answer.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import work
from textual.reactive import var
from textual.worker import get_current_worker

from kubespan.query.limits import Deadline, QueryStopped
from kubespan.tui.line_list import LineList
from kubespan.tui.messages import Searched
from kubespan.tui.source.base import DataSource, Search

SEARCH_IDLE_FACTOR = 3.0
"""Live re-searches leave the worker idle this many times as long as the last search
took, so a big store never keeps the UI thread waiting for the GIL."""
ROW_CACHE_SIZE = 4096
"""Rows looked up and kept; cleared when it grows past this."""


class ResultList(LineList):
    """Subclasses set `KIND` and implement `find`, `render_result_row` and `row_identity`."""

    KIND = "rows"
    CAPABILITY: str | None = None
    """The `Capabilities` flag the list needs (as its `View.needs`): without it, no search is sent
    (the app shows the source's note in the list)."""

    search: var[Search] = var(Search, init=False)
    """The applied filter (bound from the app)."""
    paused: var[bool] = var(False, init=False)
    """`p`: the list stays as it is while spans keep arriving."""
    feed: var[int] = var(0, init=False)
    """The source's content version (bound from the app); a change may re-search."""

    def __init__(self, source: DataSource, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.result: Any = None
        """The last answer applied (`TraceResult`/`SpanResult`), None before the first."""
        self.result_search: Search | None = None
        """The search whose answer is shown."""
        self.result_version = -1
        """The source version that answer was taken at."""
        self._rows: dict[int, Any] = {}
        self._running = False
        self._again = False
        self._next_search = 0.0
        self._deadline: Deadline | None = None

    # -- for subclasses --------------------------------------------------------------------------

    def find(self, search: Search, deadline: Deadline) -> Any:
        """Run on the worker thread: the source's answer for `search`."""
        raise NotImplementedError

    def render_result_row(self, index: int, row: Any, width: int) -> Text:
        raise NotImplementedError

    def row_identity(self, index: int) -> Any:
        """What stays selected across re-searches (a trace id, a span ordinal)."""
        return None

    # -- state -----------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self.CAPABILITY is None or bool(getattr(self.source.capabilities, self.CAPABILITY, True))

    @property
    def following(self) -> bool:
        return not self.paused and self.cursor == 0

    @property
    def searching(self) -> bool:
        return self._running

    def stale(self) -> bool:
        return self.result_search is not self.search or (
            not self.paused and self.result_version != self.source.version())

    def row_count(self) -> int:
        return self.result.total if self.result is not None else 0

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        """Back on the first row, a held list catches up with what arrived meanwhile."""
        super().move_cursor(index, announce=announce)
        if self.cursor == 0 and self.stale():
            self.start_search(force=True)

    def row(self, index: int) -> Any:
        """The answer's row at `index` (looked up with a page around it), None if gone. The
        workers look up what is on screen after each search and refresh; this is for the rest."""
        if index not in self._rows:
            if len(self._rows) > ROW_CACHE_SIZE:
                self._rows.clear()
            page = self.page_rows
            start = max(0, index - page)
            for offset, row in enumerate(self.result.rows(start, 3 * page), start):
                self._rows[offset] = row
            self._rows.setdefault(index, None)
        return self._rows[index]

    def render_row(self, index: int, width: int) -> Text:
        return self.render_result_row(index, self.row(index), width)

    def row_key(self, index: int) -> Any:
        return (self.row_identity(index), self.row(index))

    # -- watchers: what makes the list search ----------------------------------------------------

    def watch_search(self) -> None:
        self.call_later(self._search_if_shown)

    def _search_if_shown(self) -> None:
        """Hidden lists search when they are shown (`on_show`), not for every filter."""
        if self.display:
            self.start_search(force=True)

    def watch_paused(self, paused: bool) -> None:
        if not paused and self.display:
            self.start_search(force=True)

    def watch_feed(self) -> None:
        if not self.display:
            return
        if self.following:
            self.start_search()
        else:
            self.refresh_rows()

    def on_show(self) -> None:
        if not self.available:  # the filter bar counts this view's rows: none
            self.app.post_message(Searched(self.KIND, 0))
            return
        if self.stale() and (self.result_search is not self.search or self.following):
            self.start_search(force=True)
        elif self.result is not None:
            self.refresh_rows()
            self.app.post_message(Searched(self.KIND, self.result.total, getattr(self.result, "cut", "")))

    def refresh_rows(self) -> None:
        """Rows on screen are looked up again (on a worker); those that changed (late spans) are repainted."""
        if self.result is None:
            return
        visible = self.visible_range()
        if len(visible):
            self._rows_worker(self.result, visible.start, len(visible))

    @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
    def _rows_worker(self, result: Any, start: int, count: int) -> None:
        rows = dict(enumerate(result.rows(start, count), start))
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._rows_read, result, rows)

    def _rows_read(self, result: Any, rows: dict[int, Any]) -> None:
        if result is not self.result or not self.is_attached:
            return
        for index, row in rows.items():
            if index not in self._rows or self._rows[index] != row:
                self._rows[index] = row
                self._refresh_row(index)

    # -- searching --------------------------------------------------------------------------------

    def start_search(self, *, force: bool = False) -> None:
        if not self.available:
            return
        if self._running and not force:
            self._again = True
            return
        if not force and time.monotonic() < self._next_search:
            return  # the store is big and busy: give the UI thread room between searches
        if self._deadline is not None:
            self._deadline.cancel()
        self._running = True
        self._again = False
        self._deadline = Deadline()
        selected = self.row_identity(self.cursor) if not self.following and self.row_count() else None
        self._search_worker(self.search, self._deadline, selected)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search_worker(self, search: Search, deadline: Deadline, selected: Any) -> None:
        started = time.monotonic()
        version = self.source.version()
        try:
            result = self.find(search, deadline)
            position = result.position(selected) if selected is not None else None
            rows = self._rows_around(result, position or 0)  # drawn without a lookup on the UI thread
        except QueryStopped:
            return  # a newer search took over
        except Exception as exc:  # noqa: BLE001 - a SourceError or a bug: shown, the list stays usable
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._failed, search, exc)
            return
        self._next_search = time.monotonic() + SEARCH_IDLE_FACTOR * (time.monotonic() - started)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._apply, search, result, version, selected, position, rows)

    def _rows_around(self, result: Any, index: int) -> dict[int, Any]:
        """The rows `row(index)` would look up: a page before `index` and two from it."""
        start = max(0, index - self.page_rows)
        return dict(enumerate(result.rows(start, 3 * self.page_rows), start)) if result.total else {}

    def _failed(self, search: Search, exc: Exception) -> None:
        self._done()
        if search is self.search:
            self.app.notify(f"search failed: {exc}", severity="error", timeout=8)

    def _done(self) -> None:
        self._running = False
        if self._again and not self.paused:
            self.start_search()

    def _apply(self, search: Search, result: Any, version: int, looked_up: Any = None, position: int | None = None,
               rows: dict[int, Any] | None = None) -> None:
        self._done()
        if search is not self.search or not self.is_attached:
            return
        selected = self.row_identity(self.cursor) if not self.following and self.row_count() else None
        self.result, self.result_search, self.result_version = result, search, version
        self._rows = rows or {}
        if selected is not None:  # a reader further down keeps their row
            found = position if selected == looked_up else result.position(selected)
            self.cursor = found if found is not None else 0
        self.data_changed()
        self.app.post_message(Searched(self.KIND, result.total, getattr(result, "cut", "")))
