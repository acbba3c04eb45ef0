"""Keeps the aggregates behind `/api/kubespan/red` and `/api/kubespan/graph` current while a client uses
the API, so a viewer's first Services or Graph key reads them instead of counting the whole store.

Counting a million stored spans for the service graph takes about a second of CPU (RED half a second),
and a request that did it would then be slowed by the CPU budget for a long while. The thread counts
once when the API starts and then, every `EVERY_S`, the spans stored since (about 1 µs a span: 2 % of
a core at 20,000 spans/s), but only while one of kubespan's own endpoints (`/api/kubespan/*`, which
an attached viewer polls every few seconds: `COUNTER`) was asked within the last `IDLE_AFTER_S`;
otherwise (nobody attached, Grafana or Jaeger clients only) it costs nothing, and the first request
after that catches up. Its CPU is not charged to the queries' budget: it is the price of the
aggregates, like the store's index, not a query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kubespan.stats import Counters

LOG = logging.getLogger("kubespan.api")
EVERY_S = 1.0
IDLE_AFTER_S = 300.0
COUNTER = "api_kubespan_requests"
"""Requests to `/api/kubespan/*` (status, graph, red): an attached viewer is there."""


class Warmer:
    """A daemon thread calling each of `steps` now and then (see the module docstring); `stop()` ends it."""

    def __init__(self, steps: list[Callable[[], object]], counters: Counters, *, every_s: float = EVERY_S,
                 idle_after_s: float = IDLE_AFTER_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.steps = steps
        self.counters = counters
        self.every_s = every_s
        self.idle_after_s = idle_after_s
        self.clock = clock
        self.rounds = 0
        """Rounds done (tests wait on it)."""
        self._stop = threading.Event()
        self._seen = counters.get(COUNTER)
        self._last_request = float("-inf")
        self._thread = threading.Thread(target=self._run, name="api-warm", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def active(self) -> bool:
        """Whether a viewer asked within `idle_after_s` (the first round, at start, always runs)."""
        requests = self.counters.get(COUNTER)
        now = self.clock()
        if requests != self._seen:
            self._seen, self._last_request = requests, now
        return self.rounds == 0 or now - self._last_request <= self.idle_after_s

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.active():
                for step in self.steps:
                    try:
                        step()
                    except Exception:  # noqa: BLE001 - a bug here must not end the thread or the API
                        LOG.exception("keeping the Services and Graph aggregates current failed")
                self.rounds += 1
            self._stop.wait(self.every_s)
