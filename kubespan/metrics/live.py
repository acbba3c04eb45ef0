"""One place that keeps the live RED numbers and the service graph of a store up to date.

The TUI's Services and Graph views read the same `LiveMetrics`, so they show the same edges (the API's
`/api/dependencies` counts span pairs as Jaeger does instead: kubespan.api.jaeger_deps).
`refresh()` reads only the spans stored since the last refresh;
call it from a worker (it takes a few milliseconds per thousand new spans), never per keypress.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from kubespan.metrics.graph import EdgeStats, ServiceGraph
from kubespan.metrics.red import RedAggregator, RedRow


class LiveMetrics:
    """RED rows and service-graph edges over a store, caught up on `refresh()`; thread-safe."""

    def __init__(self, snapshot: Any) -> None:
        """`snapshot()` returns the store's current `Snapshot` (e.g. `SpanStore.snapshot`)."""
        self._snapshot = snapshot
        self._lock = threading.Lock()
        self.red = RedAggregator()
        self.graph = ServiceGraph()
        self.latest_start = 0  # the newest span start seen: "now" for data that is not live

    def refresh(self, deadline: Any = None) -> int:
        """Count the spans stored since the last refresh; returns how many were read."""
        with self._lock:
            snap = self._snapshot()
            read = self.red.catch_up(snap, deadline)
            self.graph.catch_up(snap)
            if read:
                self.latest_start = max(self.latest_start, int(snap.column("start")[-read:].max()))
            return read

    def set_query(self, query: Any, deadline: Any = None) -> None:
        """Narrow the RED numbers to the spans matching `query` (None: all); recounts the store once."""
        with self._lock:
            snap = self._snapshot()
            self.red = RedAggregator(query)
            self.red.rebuild(snap, deadline)
            if snap.stop > snap.floor:
                self.latest_start = max(self.latest_start, int(snap.column("start").max()))

    def notes(self) -> list[str]:
        """What the numbers leave out because of a limit (evicted before counted, too many keys, too old)."""
        with self._lock:
            found = []
            if self.red.missed:
                found.append(f"{self.red.missed:,} spans evicted before they were counted")
            for what, table in (("operations", self.red.table), ("edges", self.graph.table)):
                if table.overflow:
                    found.append(f"{table.overflow:,} spans of {what} past the first {table.max_keys:,} left out")
                if table.dropped_slots:
                    found.append(f"{what} older than {table.max_slots * table.slot_ns // 60_000_000_000} min dropped")
            return found

    def edge_notes(self) -> list[str]:
        """What the service graph leaves out because of a limit (the Graph view shows it)."""
        with self._lock:
            table, found = self.graph.table, []
            if table.overflow:
                found.append(f"{table.overflow:,} spans of edges past the first {table.max_keys:,} left out")
            if table.dropped_slots:
                found.append(f"edges older than {table.max_slots * table.slot_ns // 60_000_000_000} min dropped")
            return found

    def rows(self, start_ns: int, end_ns: int, points: int = 24,
             keep: Callable[[tuple[str, str]], bool] | None = None) -> list[RedRow]:
        with self._lock:
            return self.red.rows(start_ns, end_ns, points, keep)

    def edges(self, start_ns: int, end_ns: int) -> list[EdgeStats]:
        with self._lock:
            return self.graph.edges(start_ns, end_ns)

    def dependencies(self, end_ms: int | None = None, lookback_ms: int | None = None) -> list[dict[str, Any]]:
        """Jaeger's `/api/dependencies`: `[{"parent", "child", "callCount"}]` for calls that started in
        (end − lookback, end] (default: the last 24 h), from the same edges as the Graph view.

        A service calling itself is left out, as Jaeger leaves it out.
        """
        self.refresh()
        end = (time.time_ns() // 1_000_000 if end_ms is None else end_ms) * 1_000_000
        lookback = (86_400_000 if lookback_ms is None else lookback_ms) * 1_000_000
        calls: dict[tuple[str, str], int] = {}
        for edge in self.edges(end - lookback + 1, end + 1):
            if edge.edge.client != edge.edge.server:
                key = (edge.edge.client, edge.edge.server)
                calls[key] = calls.get(key, 0) + edge.calls
        return [{"parent": parent, "child": child, "callCount": count}
                for (parent, child), count in sorted(calls.items())]


_SHARED: weakref.WeakKeyDictionary[Any, LiveMetrics] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def live_metrics(store: Any) -> LiveMetrics:
    """The one `LiveMetrics` of `store` (a `SpanStore`), made on first use: the API and the viewer share it."""
    with _SHARED_LOCK:
        found = _SHARED.get(store)
        if found is None:
            found = _SHARED[store] = LiveMetrics(store.snapshot)
        return found
