"""The live trace list over a remote: one search polled over a sliding window, merged across polls.

The first poll asks for the whole window (the last `lookback`, or the filter's own `since` /
`between`); later polls ask only for what is new (`start` a little before the last poll's end,
so traces indexed late, or still growing, are seen again). A trace already listed is replaced
by its newer answer (more spans, a longer duration), never listed twice; traces that left the
window are dropped; at most `limit` (the newest) are kept, and `cut` says when more matched.

A kubespan remote says which store version each search answered from (`X-Kubespan-Store-Version`)
and serves the current one cheaply (`status_path`): a poll first asks that, and while it has not
moved the search is not sent (the window is only pruned here), except at least every `FULL_POLL_S`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubespan.remote.answers import FoundTrace, search_traces
from kubespan.remote.client import RemoteClient, RemoteError

NS = 1_000_000_000
OVERLAP_S = 60.0
"""Each poll reaches back this far before the last one's end (Tempo indexes a trace ~10 s
after its last span; a long trace keeps growing)."""
CLOCK_SKEW_S = 60.0
"""A live window reaches this far past now: spans from hosts whose clocks run ahead still show."""
MOST_RECENT_HINT = "with(most_recent=true)"
SPANS_PER_SPANSET = 1
"""The list needs one matched span per trace (it refines Tempo's whole-millisecond duration when it is
the root); Tempo's default of 3 makes answers about twice as big."""

FULL_POLL_S = 30.0
"""With a store-version endpoint, the search is still sent at least this often (a trace from a clock
running ahead enters the window as time passes, without the store changing)."""
VERSION_HEADER = "x-kubespan-store-version"

Window = Callable[[int], tuple[int, int]]
"""Given now (unix ns): the (start, end) searched, in unix ns."""


@dataclass(frozen=True, slots=True)
class FeedPage:
    """The merged traces at one moment: newest start first."""

    traces: tuple[FoundTrace, ...]
    cut: str
    version: int


class TraceFeed:
    """One TraceQL search, followed. `poll()` does the network call (in a worker or the poller)."""

    def __init__(self, client: RemoteClient, traceql: str, *, limit: int, lookback_s: float,
                 window: Window | None = None, most_recent_hint: bool = False, status_path: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.traceql = traceql
        self.limit = max(1, int(limit))
        self.lookback_ns = int(lookback_s * NS)
        self.window = window
        self.most_recent_hint = most_recent_hint
        self.status_path = status_path
        """The remote's store-version endpoint (a kubespan's), or empty: every poll searches."""
        self.clock = clock
        self._answered_version: str | None = None
        self._searched: float | None = None
        self.searches = 0
        """Searches sent (the status probes that found nothing new are not searches)."""
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._traces: dict[bytes, FoundTrace] = {}
        self._page = FeedPage((), "", 0)
        self._polled_end: int | None = None
        self._cut = False
        self.last_poll: float | None = None
        """Wall time (s) of the last successful poll."""

    @property
    def page(self) -> FeedPage:
        return self._page

    def bounds(self, now_ns: int) -> tuple[int, int]:
        if self.window is not None:
            return self.window(now_ns)
        return now_ns - self.lookback_ns, now_ns + int(CLOCK_SKEW_S * NS)

    def query(self) -> str:
        if self.most_recent_hint and "with" not in self.traceql.rsplit("}", 1)[-1]:
            return f"{self.traceql} {MOST_RECENT_HINT}"
        return self.traceql

    def poll(self, min_age_s: float = 0.0) -> bool | None:
        """One search; True when the merged list changed. Raises `RemoteError` (the list stays).
        Nothing is asked (None) when the last poll is younger than `min_age_s` (another thread just polled)."""
        with self._poll_lock:  # the poller and a worker asking at once: one asks, the other sees its answer
            if self.last_poll is not None and self.clock() - self.last_poll < min_age_s:
                return None
            now = int(self.clock() * NS)
            start, end = self.bounds(now)
            if self._unchanged():
                changed = self._merge([], start, end, cut=False)  # only what left the window goes
                self.last_poll = self.clock()
                return changed
            since = start if self._polled_end is None else max(start, self._polled_end - int(OVERLAP_S * NS))
            params = {"q": self.query(), "limit": self.limit, "spss": SPANS_PER_SPANSET,
                      "start": since // NS, "end": max(since // NS + 1, math.ceil(end / NS))}
            with self.client.interactive(self._polled_end is None):  # a new filter's first answer: a key waits
                answer = self.client.get("/api/search", params)
            self.searches += 1
            found = search_traces(answer.json())
            changed = self._merge(found, start, end, cut=len(found) >= self.limit)
            self._answered_version = answer.headers.get(VERSION_HEADER) if self.status_path else None
            self._polled_end = min(end, now)
            self.last_poll = self._searched = self.clock()
            return changed

    def _unchanged(self) -> bool:
        """Whether the remote's store is still at the version of the last answer (one small request)."""
        if not self.status_path or self._answered_version is None or self._searched is None:
            return False
        if self.clock() - self._searched >= FULL_POLL_S:
            return False
        try:
            status = self.client.get_json(self.status_path)
        except RemoteError as exc:
            if exc.unreachable:
                raise
            self.status_path = ""  # it does not answer as offered: plain polling from now on
            return False
        return isinstance(status, dict) and status.get("storeVersion") == self._answered_version

    def _merge(self, found: list[FoundTrace], start: int, end: int, *, cut: bool) -> bool:
        with self._lock:
            traces = dict(self._traces)
            for trace in found:
                traces[trace.trace_id] = trace
            kept = [t for t in traces.values() if t.end >= start and t.start < end]
            kept.sort(key=lambda t: (t.start, t.trace_id), reverse=True)
            self._cut = self._cut or cut or len(kept) > self.limit
            kept = kept[: self.limit]
            changed = kept != list(self._page.traces)
            self._traces = {t.trace_id: t for t in kept}
            if changed or self._page.cut != self.cut_text():
                self._page = FeedPage(tuple(kept), self.cut_text(), self._page.version + 1)
                return True
            return False

    def cut_text(self) -> str:
        return f"newest {self.limit:,} of more (--limit)" if self._cut else ""

    def get(self, trace_id: bytes) -> FoundTrace | None:
        return self._traces.get(trace_id)
