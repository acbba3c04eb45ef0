"""The thread that keeps a followed trace list fresh, and the state the footer shows about the remote.

Every `refresh_s` it polls the followed `TraceFeed` (none while paused); a change calls
`on_change`. A failure leaves the last answer in place and says "unreachable, retrying" (or
what went wrong), and the next polls come at growing intervals (up to `MAX_BACKOFF_S`) until
the remote answers again, which also calls `on_change`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubespan.remote.client import RemoteClient, RemoteError
from kubespan.remote.feed import TraceFeed

MAX_BACKOFF_S = 15.0
MAX_HOLD_S = 2.0
"""A poll put off by keys (`hold`) is made anyway once it is this late."""


@dataclass(frozen=True, slots=True)
class RemoteStatus:
    """What the footer says about the remote."""

    source: str
    """`kubespan http://127.0.0.1:3200`, `tempo https://tempo.example`."""
    latency_s: float | None
    """The last answered request's time."""
    refreshed: float | None
    """Wall time (unix s) of the last successful poll of the followed list."""
    note: str = ""
    """"unreachable, retrying" (or the error) while the remote fails; empty when all is well."""
    failing: bool = False
    following: bool = True
    """False while paused (no polls)."""


class Poller:
    """Polls the followed feed on its own daemon thread; `close()` stops it."""

    def __init__(self, client: RemoteClient, source: str, *, refresh_s: float,
                 on_change: Callable[[], None], prepare: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.source = source
        self.refresh_s = max(0.05, refresh_s)
        self.on_change = on_change
        self.prepare = prepare
        """Called before each poll (may raise `RemoteError`): e.g. detecting the remote once it is up."""
        self.clock = clock
        self._feed: TraceFeed | None = None
        self._paused = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._error: RemoteError | None = None
        self._failures = 0
        self._held_until = 0.0
        self.periods = 0
        """Refresh periods gone by (polled or not): tests wait on it instead of on the clock."""
        self._thread = threading.Thread(target=self._run, name="attach-poll", daemon=True)
        self._thread.start()

    def follow(self, feed: TraceFeed | None, *, paused: bool = False) -> None:
        changed = feed is not self._feed or paused != self._paused
        self._feed, self._paused = feed, paused
        if changed:
            self._wake.set()

    def poke(self) -> None:
        """Poll now rather than at the next period."""
        self._wake.set()

    def hold(self, seconds: float) -> None:
        """A key is being answered: no poll starts for `seconds` (its answer would be read and merged
        while the key's frame is drawn), unless one is `MAX_HOLD_S` late."""
        self._held_until = max(self._held_until, time.monotonic() + seconds)

    def _wait_unheld(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= self._held_until or now - due >= MAX_HOLD_S:
                return
            self._stop.wait(min(self._held_until, due + MAX_HOLD_S) - now)

    @property
    def followed(self) -> TraceFeed | None:
        return self._feed

    def status(self) -> RemoteStatus:
        error = self._error
        note = ""
        if error is not None:
            note = "unreachable, retrying" if error.unreachable else f"{error.message} (retrying)"
        feed = self._feed
        refreshed = feed.last_poll if feed is not None else None
        return RemoteStatus(self.source, self.client.last_latency_s, refreshed, note, error is not None,
                            not self._paused)

    def failed(self, error: RemoteError) -> None:
        """A query elsewhere (a worker) failed: the footer says so until the next answer."""
        self._error = error

    def answered(self) -> None:
        """A query elsewhere got an answer: the remote is back."""
        if self._error is not None:
            self._error, self._failures = None, 0
            self.on_change()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()

    def _delay(self) -> float:
        if not self._failures:
            return self.refresh_s
        return min(MAX_BACKOFF_S, self.refresh_s * 2 ** min(self._failures, 8))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._delay())
            self._wake.clear()
            self.periods += 1
            feed = self._feed
            if self._stop.is_set() or feed is None or self._paused:
                continue
            self._wait_unheld()
            try:
                if self.prepare is not None:
                    self.prepare()
                changed = feed.poll(min_age_s=0.9 * self._delay())  # not again if a worker just polled
            except RemoteError as exc:
                self._error = exc
                self._failures += 1
                continue
            if changed is None:
                continue  # not asked: a worker's answer is fresh
            recovered = self._error is not None
            self._error, self._failures = None, 0
            if changed or recovered:
                self.on_change()
