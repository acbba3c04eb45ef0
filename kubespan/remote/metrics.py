"""`RemoteMetrics`: the Services and Graph views' numbers over a remote, behind the same interface as the
local store's `kubespan.metrics.live.LiveMetrics` (`refresh`, `set_query`, `rows`, `edges`, `notes`,
`edge_notes`, `latest_start`), so the views do not know which source they read.

`rows`/`edges` ask the remote (they run in the views' workers, never on the UI thread) at most once
per `refresh_s` for the same filter and window length, and answer from the last answer in between.
A failed or malformed answer never raises: the last rows stay, and `notes()`/`edge_notes()` say what
failed (`rates: 500 Internal Server Error: … (showing the last answer)`). Windows longer
than the remote's 24 h limit for metrics queries are cut to their last 24 h, and said so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubespan.metrics.graph import EdgeStats
from kubespan.metrics.red import RedRow
from kubespan.remote.client import RemoteClient, RemoteError
from kubespan.remote.graph import kubespan_edges, tempo_edges

MAX_WINDOW_NS = 24 * 3600 * 1_000_000_000
"""Tempo's `query_frontend.metrics.max_duration` default (kubespan's API has the same)."""
GRAPH_REFRESH_MIN_S = 5.0
"""A Tempo graph takes a few queries per calling service: asked for at most this often."""


@dataclass
class _Cached:
    """The last answer of one kind (RED rows or edges), and what it was asked for."""

    key: tuple[Any, ...] = ()
    end_ns: int = 0
    when: float = float("-inf")
    value: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failure: str = ""
    value_key: tuple[Any, ...] = ()
    """What `value` answers (it stays after a failure; another filter's is dropped)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh(self, key: tuple[Any, ...], end_ns: int, now: float, every_s: float) -> bool:
        return key == self.key and now - self.when < every_s and abs(end_ns - self.end_ns) < every_s * 1e9


class RemoteMetrics:
    """RED rows (TraceQL metrics) and service-graph edges of a remote, fetched on demand, thread-safe."""

    def __init__(self, client: RemoteClient, *, kind: Callable[[], str], graph: Callable[[], bool],
                 newest: Callable[[], int] = lambda: 0, refresh_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic, red: Callable[[], bool] = lambda: False) -> None:
        """`kind()` is "kubespan" or "tempo" (as detected), `graph()` whether a kubespan serves its graph
        endpoint, `red()` its RED endpoint, `newest()` the newest span start (unix ns) the trace list knows
        of (0: none)."""
        self.client = client
        self.kind = kind
        self.graph = graph
        self.red = red
        self.newest = newest
        self.refresh_s = refresh_s
        self.clock = clock
        self.filter = "{ }"
        self.latest_start = 0
        self._red = _Cached()
        self._edges = _Cached()

    # -- LiveMetrics' interface ------------------------------------------------------------------
    def refresh(self, deadline: Any = None) -> int:
        """Nothing to catch up locally; learns the newest span start (the window of a quiet remote)."""
        self.latest_start = max(self.latest_start, self.newest())
        return 0

    def set_query(self, query: Any, deadline: Any = None) -> None:
        """Narrow the RED numbers to a filter: `RemoteSource.compile`'s `RemoteQuery` (None: all)."""
        translation = getattr(query, "translation", None)
        self.filter = getattr(translation, "traceql", None) or "{ }"

    def rows(self, start_ns: int, end_ns: int, points: int = 24) -> list[RedRow]:
        from kubespan.remote.red import fetch_red, kubespan_red

        start_ns, cut = _bounded(start_ns, end_ns)
        fetch = kubespan_red if self.red() else fetch_red
        return self._ask(self._red, (self.filter, end_ns - start_ns, points), end_ns, self.refresh_s, "rates",
                         cut, lambda: fetch(self.client, self.filter, start_ns, end_ns, points))

    def edges(self, start_ns: int, end_ns: int) -> list[EdgeStats]:
        start_ns, cut = _bounded(start_ns, end_ns)
        kind = self.kind()
        if not kind or (kind == "kubespan" and not self.graph()):
            return []  # not detected yet, or an older kubespan (the view says it is not offered)
        every = self.refresh_s if kind == "kubespan" else max(self.refresh_s, GRAPH_REFRESH_MIN_S)
        fetch = kubespan_edges if kind == "kubespan" else tempo_edges
        return self._ask(self._edges, (kind, end_ns - start_ns), end_ns, every, "graph", cut,
                         lambda: fetch(self.client, start_ns, end_ns))

    def notes(self) -> list[str]:
        return self._notes(self._red)

    def edge_notes(self) -> list[str]:
        return self._notes(self._edges)

    # -- the cache ----------------------------------------------------------------------------
    def _ask(self, cached: _Cached, key: tuple[Any, ...], end_ns: int, every_s: float, what: str, cut: str,
             fetch: Callable[[], tuple[list[Any], list[str]]]) -> list[Any]:
        with cached.lock:  # one request at a time per kind; a second caller waits for the first's answer
            now = self.clock()
            if cached.fresh(key, end_ns, now, every_s):
                return cached.value
            asked_by_key = key != cached.value_key  # a new filter or view: someone waits (not a refresh)
            cached.key, cached.end_ns, cached.when = key, end_ns, now  # a failure is retried after `every_s`
            try:
                with self.client.interactive(asked_by_key):
                    value, notes = fetch()
            except RemoteError as exc:
                if cached.value_key[:1] != key[:1]:  # numbers of another filter would mislead
                    cached.value, cached.notes = [], []
                kept = " (showing the last answer)" if cached.value else ""
                cached.failure = f"{what}: {exc.message}{kept}"
                return cached.value
            cached.value, cached.notes, cached.failure = value, ([cut] if cut else []) + notes, ""
            cached.value_key = key
            return value

    @staticmethod
    def _notes(cached: _Cached) -> list[str]:
        with cached.lock:
            return ([cached.failure] if cached.failure else []) + list(cached.notes)


def _bounded(start_ns: int, end_ns: int) -> tuple[int, str]:
    """The window's start, moved up to the remote's 24 h limit, and a note when it was."""
    if end_ns - start_ns <= MAX_WINDOW_NS:
        return start_ns, ""
    return end_ns - MAX_WINDOW_NS, "window cut to its last 24 h (the limit of metrics queries)"
