"""Keeps the aggregates behind `/api/kubespan/red` and `/api/kubespan/graph` current while a client uses
the API, so a viewer's first Services or Graph key reads them instead of counting the whole store.

Counting a million stored spans for the service graph takes about a second of CPU (RED half a second),
and a request that did it would then be slowed by the CPU budget for a long while. The thread counts
once when the API starts and then, every `EVERY_S`, the spans stored since (about 1 µs a span: 2 % of
a core at 20,000 spans/s), but only while one of kubespan's own endpoints (`/api/kubespan/*`, which
an attached viewer polls every few seconds: `COUNTER`) was asked within the last `IDLE_AFTER_S`;
otherwise (nobody attached, Grafana or Jaeger clients only) it costs nothing, and the first request
after that catches up. Its CPU has a budget of its own (`SHARE` of a core on average while spans arrive,
kubespan.api.throttle's token bucket, separate from the queries'): at 20,000 spans/s it keeps up
(about 2 % of a core), while receivers running flat out (~270,000 spans/s here) it falls behind rather
than slowing them, and the request that reads the aggregates counts the rest under the queries' budget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kubespan.api.throttle import BudgetedDeadline, CpuBudget, IngestWatch
from kubespan.stats import Counters

LOG = logging.getLogger("kubespan.api")
EVERY_S = 1.0
SHARE = 0.03
"""Of one core, what keeping the aggregates may use on average while spans arrive (then it falls behind):
with an attached viewer polling, ingest at full speed stays ≥ 0.9× (scripts/bench_api.py ingest's
`attach` variant)."""
BURST_S = 2.0
"""CPU seconds it may use at once before the share applies: the first count of a million stored spans
(about 1.6 s) fits, so a viewer attaching to a busy daemon finds the aggregates current."""
IDLE_AFTER_S = 300.0
COUNTER = "api_kubespan_requests"
"""Requests to `/api/kubespan/*` (status, graph, red): an attached viewer is there."""


class Warmer:
    """A daemon thread calling each of `steps` now and then (see the module docstring); `stop()` ends it."""

    def __init__(self, steps: list[Callable[[], object]], counters: Counters, *, every_s: float = EVERY_S,
                 idle_after_s: float = IDLE_AFTER_S, clock: Callable[[], float] = time.monotonic,
                 share: float = SHARE) -> None:
        """The CPU each step used is charged to the warmer's own budget (`share`) after it, never inside
        (a step holds its aggregates' lock, which requests wait for)."""
        self.steps = steps
        self.budget = CpuBudget(share, BURST_S, IngestWatch(counters))
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
                    deadline = BudgetedDeadline(None, None, self.budget)
                    try:
                        step()
                        deadline.check()  # over its share: sleeps here, the GIL left to the receivers
                    except Exception:  # noqa: BLE001 - a bug here must not end the thread or the API
                        LOG.exception("keeping the Services and Graph aggregates current failed")
                self.rounds += 1
            self._stop.wait(self.every_s)
