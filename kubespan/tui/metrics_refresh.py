"""Keeping the Services and Graph views current: a thread worker per refresh, never the UI thread.

Each refresh catches the shared `LiveMetrics` up with the spans stored since the previous one
(incremental), recounts only when the filter changed, and reads the window: the filter's time
clause if it has one, else the last five minutes, following the feed. When nothing arrived in the
last five minutes (a dump opened, a quiet cluster, a source that is not live) the five minutes end
at the newest span instead, so the view shows the last activity rather than nothing. The view then
gets plain rows to draw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kubespan.tui.format import format_duration

FOLLOW_NS = 300 * 1_000_000_000
"""The window when the filter names none: the last five minutes."""
REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class Window:
    start: int
    end: int
    following: bool
    to_newest: bool = False
    """Following, but ending at the newest span (nothing arrived in the last five minutes)."""

    def describe(self) -> str:
        length = format_duration(self.end - self.start)
        if self.to_newest:
            return f"last {length} of spans"
        return f"last {length}" if self.following else f"{length} chosen"


def window_for(search: Any, live: Any, now_ns: int, is_live: bool, tz: Any = None) -> Window:
    """The window to read: the search's time clause, or the last five minutes of the feed."""
    newest = max(live.latest_start + 1, 1)
    now = now_ns if is_live else newest
    clause = getattr(search, "clause", None)
    if clause is not None:
        start, end = clause.resolve(now, live.latest_start or None, tz)
        if start is not None or end is not None:
            end = now if end is None else end
            start = end - FOLLOW_NS if start is None else start
            return Window(start, max(end, start + 1), end == now)
    if live.latest_start and newest < now - FOLLOW_NS:
        return Window(newest - FOLLOW_NS, newest, True, to_newest=True)
    return Window(now - FOLLOW_NS, now, True)


class MetricsRefresh:
    """Mixin for a widget fed by a source's `metrics()`: call `refresh_metrics()` from a timer.

    The widget provides `source`, `search`, `paused`, `collect_metrics(live, window)` (in the worker:
    reads what it draws) and `show_metrics(data, window)` (on the UI thread: draws it).
    """

    source: Any
    search: Any
    paused: bool
    _applied_query: Any = None
    _query_known = False
    narrows = True
    """Whether the filter narrows what this view reads (the RED numbers do; the graph does not)."""
    capability = "metrics"
    """The `Capabilities` flag this view needs (its `View.needs`)."""

    def on_mount(self) -> None:
        """Textual calls this (and `on_show`) besides the widget's own handlers: refresh every `REFRESH_S`."""
        if self.source is not None:
            widget: Any = self
            widget.set_interval(REFRESH_S, self.refresh_metrics)
            self.refresh_metrics()

    def on_show(self) -> None:
        self.refresh_metrics()

    def refresh_metrics(self) -> None:
        """Start a refresh in a thread worker unless one is running or the view is hidden/paused."""
        widget: Any = self
        if self.paused or not widget.is_mounted or not widget.display or self.source is None:
            return
        if not getattr(getattr(self.source, "capabilities", None), self.capability, True):
            return  # a remote without them: the view says so
        widget.run_worker(self._refresh_in_thread, thread=True, exclusive=True, group="metrics-refresh")

    def _refresh_in_thread(self) -> None:
        widget: Any = self
        live = self.source.metrics()
        query = getattr(self.search, "query", None)
        if self.narrows and (not self._query_known or query is not self._applied_query):
            live.set_query(query)
            self._applied_query, self._query_known = query, True
        live.refresh()
        is_live = bool(getattr(getattr(self.source, "capabilities", None), "live", True))
        wall_clock = getattr(self.source, "wall_clock", time.time)
        window = window_for(self.search, live, int(wall_clock() * 1e9), is_live, getattr(widget, "tz", None))
        data = self.collect_metrics(live, window)
        widget.app.call_from_thread(self.show_metrics, data, window)

    def collect_metrics(self, live: Any, window: Window) -> Any:  # pragma: no cover - each view reads its own
        raise NotImplementedError

    def show_metrics(self, data: Any, window: Window) -> None:  # pragma: no cover - each view draws its own
        raise NotImplementedError
