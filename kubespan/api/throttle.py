"""A CPU budget for API queries, so that no query, however heavy, starves ingestion.

All queries together may use `share` of one core on average (a token bucket of CPU seconds, refilled
at `share` per second of wall time, holding at most `burst` seconds). Each query's worker thread charges
the CPU time it used at every checkpoint: the engine's deadline checks (per chunk of spans) and the API's
own loops (`checkpoint()`). A query over budget sleeps there, which releases the GIL to the receivers;
a query that cannot finish within `--query-timeout` at that pace gets its 504. Interactive use (a few
queries per click) stays within the burst and is not slowed; while no spans arrive, nothing is.

A request that says it answers a person's key (`X-Kubespan-Interactive: 1`: `kubespan attach` sends it
with a new filter, an opened trace, a view's first numbers; never with its polls) first draws on a second
bucket of its own (`interactive_burst` CPU seconds, refilled at `share`), so it is not made to wait
behind the debt that polls ran up. The header is the client's word: at worst a client that sends it
always gets that bucket besides the shared one, so queries may use `2 × share` of a core on average.
"""

from __future__ import annotations

import threading
import time

from kubespan.query.limits import Deadline

_local = threading.local()


class CpuBudget:
    """The token bucket shared by every API query."""

    def __init__(self, share: float, burst: float = 0.5, active=lambda: True, counters=None,
                 interactive_burst: float = 0.0) -> None:
        self.share = share
        self.burst = burst
        self.interactive_burst = interactive_burst
        self.active = active  # only while spans are arriving is there anything to protect
        self.counters = counters  # `api_cpu_waits` and `api_cpu_wait_ms`: how often and how long queries slept
        self._tokens = burst
        self._interactive = interactive_burst
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def charge(self, cpu_seconds: float, deadline: Deadline | None = None, wait: bool = True,
               interactive: bool = False) -> None:
        """Debit `cpu_seconds` (an interactive request's from its own bucket first); sleep until the
        shared bucket is no longer in debt (or the deadline is near), unless not `wait` (a finished
        query's last CPU: the next query waits for it) or the interactive bucket paid it all."""
        if self.share <= 0 or not self.active():
            return
        with self._lock:
            now = time.monotonic()
            refill = (now - self._last) * self.share
            self._last = now
            self._interactive = min(self.interactive_burst, self._interactive + refill)
            self._tokens = min(self.burst, self._tokens + refill)
            if interactive:
                paid = min(cpu_seconds, max(0.0, self._interactive))
                self._interactive -= paid
                cpu_seconds -= paid
                if cpu_seconds <= 0:
                    return
                if self.counters is not None:
                    self.counters.add("api_interactive_over", 1)
            self._tokens -= cpu_seconds
            debt = -self._tokens
        if debt > 0 and wait:
            pause = debt / self.share
            if deadline is not None and deadline.expires is not None:
                pause = min(pause, max(0.0, deadline.expires - time.monotonic()))
            if pause > 0:
                if self.counters is not None:
                    self.counters.add("api_cpu_waits", 1)
                    self.counters.add("api_cpu_wait_ms", int(pause * 1000))
                time.sleep(pause)


class BudgetedDeadline(Deadline):
    """A query's deadline that also charges its thread's CPU time to the API's budget at every check."""

    __slots__ = ("_cpu", "budget", "interactive")

    def __init__(self, timeout_s: float | None, max_memory_bytes: int | None, budget: CpuBudget,
                 interactive: bool = False) -> None:
        super().__init__(timeout_s, max_memory_bytes=max_memory_bytes)
        self.budget = budget
        self.interactive = interactive
        """The request answers a person's key (its header said so): see `CpuBudget.charge`."""
        self._cpu = time.thread_time()

    def check(self) -> None:
        super().check()
        now = time.thread_time()
        used, self._cpu = now - self._cpu, now
        if used > 0:
            self.budget.charge(used, self, interactive=self.interactive)
            self._cpu = time.thread_time()
        super().check()

    def settle(self) -> None:
        """Charge the CPU used since the last check (the answer's shaping and encoding), without
        waiting: the query is done, and the next one pays the debt."""
        now = time.thread_time()
        used, self._cpu = now - self._cpu, now
        if used > 0:
            self.budget.charge(used, wait=False, interactive=self.interactive)


class IngestWatch:
    """True while spans arrived within the last `window_s` (reads a counter, cheaply)."""

    def __init__(self, counters, name: str = "received_spans", window_s: float = 1.0) -> None:
        self.counters, self.name, self.window_s = counters, name, window_s
        self._seen = counters.get(name)
        self._changed = float("-inf")

    def __call__(self) -> bool:
        now = time.monotonic()
        value = self.counters.get(self.name)
        if value != self._seen:
            self._seen, self._changed = value, now
        return now - self._changed <= self.window_s


INTERACTIVE_HEADER = "x-kubespan-interactive"
"""A request header: "1" when the request answers a person's key, not a poll."""


def bind(deadline: Deadline | None) -> None:
    """Make `deadline` this thread's current one (the server does, around each query)."""
    _local.deadline = deadline
    if deadline is None:
        _local.interactive = False


def mark_interactive(on: bool) -> None:
    """Say whether the request this thread serves answers a person's key: the deadline made for it (or
    already made, as the gRPC querier makes it up front) draws on the interactive bucket."""
    _local.interactive = on
    deadline = current()
    if isinstance(deadline, BudgetedDeadline):
        deadline.interactive = on


def interactive() -> bool:
    """Whether the request this thread serves said it answers a person's key."""
    return bool(getattr(_local, "interactive", False))


def current() -> Deadline | None:
    return getattr(_local, "deadline", None)


def checkpoint() -> None:
    """Charge the CPU used so far and honour the deadline: call in loops over many spans or traces."""
    deadline = current()
    if deadline is not None:
        deadline.check()
