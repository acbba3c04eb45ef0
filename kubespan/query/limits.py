"""Limits on every query: length, time (a deadline that can also be cancelled) and memory.

A `Deadline` travels with one query evaluation. The engines call `check()` in their
loops (per chunk, per few thousand values or spans) and `charge(nbytes)` for the
intermediate results they keep, so that

* the TUI cancels a superseded search at once (`cancel()` from the UI thread),
* the API answers a query that runs past `--query-timeout` with an error,
* the CLI says how far it got (`progress`),
* no query holds more than `max_memory_bytes` of intermediate results.

Counters (`queries`, `queries_timed_out`, `queries_cancelled`, `queries_over_memory`,
`queries_too_long`) go to the stats line through `QueryCounters`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubespan.query.errors import QuerySyntaxError

if TYPE_CHECKING:
    from kubespan.stats import Counters

DEFAULT_TIMEOUT_S = 30.0
"""Like Tempo's query timeout."""
DEFAULT_MAX_LENGTH = 128 * 1024
"""Like Tempo's `max_query_expression_size_bytes` (characters here)."""
DEFAULT_MAX_MEMORY_BYTES = 512 << 20
"""Intermediate results of one query (masks, id sets, lookup tables, spansets)."""


@dataclass(frozen=True, slots=True)
class QueryLimits:
    timeout_s: float | None = DEFAULT_TIMEOUT_S
    max_length: int = DEFAULT_MAX_LENGTH
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES

    def deadline(self) -> Deadline:
        return Deadline(self.timeout_s, max_memory_bytes=self.max_memory_bytes)


class QueryStopped(Exception):
    """A query did not finish: cancelled, past its deadline or over its memory budget."""

    reason = "stopped"

    def __init__(self, message: str, progress: Progress) -> None:
        super().__init__(message)
        self.message = message
        self.progress = progress


class QueryCancelled(QueryStopped):
    reason = "cancelled"


class QueryTimeout(QueryStopped):
    reason = "timed_out"


class QueryOverMemory(QueryStopped):
    reason = "over_memory"


@dataclass(slots=True)
class Progress:
    """How far a query got: spans looked at, of how many (0 if unknown)."""

    spans_done: int = 0
    spans_total: int = 0

    def describe(self) -> str:
        if self.spans_total:
            return f"{self.spans_done:,} of {self.spans_total:,} spans examined"
        return f"{self.spans_done:,} spans examined"


class Deadline:
    """Cancellation, a time limit and a memory budget for one query; thread-safe to cancel."""

    __slots__ = (
        "_cancelled",
        "expires",
        "max_memory_bytes",
        "memory_bytes",
        "peak_bytes",
        "progress",
        "timeout_s",
    )

    def __init__(self, timeout_s: float | None = None, *, max_memory_bytes: int | None = None) -> None:
        self.timeout_s = timeout_s if timeout_s and timeout_s > 0 else None
        self.expires = time.monotonic() + self.timeout_s if self.timeout_s else None
        self.max_memory_bytes = max_memory_bytes
        self.memory_bytes = 0
        self.peak_bytes = 0
        self.progress = Progress()
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop the query at its next check (from any thread)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Raise if the query was cancelled or ran out of time."""
        if self._cancelled.is_set():
            raise QueryCancelled("query cancelled", self.progress)
        if self.expires is not None and time.monotonic() > self.expires:
            raise QueryTimeout(f"query timed out after {self.timeout_s:g} s", self.progress)

    def charge(self, nbytes: int) -> None:
        """Count `nbytes` more of intermediate results; raise past the budget."""
        self.memory_bytes += int(nbytes)
        self.peak_bytes = max(self.peak_bytes, self.memory_bytes)
        if self.max_memory_bytes is not None and self.memory_bytes > self.max_memory_bytes:
            raise QueryOverMemory(
                f"query needs more than {self.max_memory_bytes / (1 << 20):g} MiB for its intermediate results",
                self.progress)

    def release(self, nbytes: int) -> None:
        self.memory_bytes = max(0, self.memory_bytes - int(nbytes))

    def advance(self, spans: int) -> None:
        """Record `spans` more spans examined, then `check()`."""
        self.progress.spans_done += spans
        self.check()


class QueryTooLong(QuerySyntaxError):
    """A query longer than the length limit."""


def check_length(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> None:
    """Refuse a query longer than `max_length` characters (column: the first one past it)."""
    if len(text) > max_length:
        raise QueryTooLong(f"query too long ({len(text):,} characters; at most {max_length:,})",
                               max_length + 1)


class QueryCounters:
    """Query outcomes in the stats line."""

    NAMES = ("queries", "queries_timed_out", "queries_cancelled", "queries_over_memory", "queries_too_long")

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        for name in self.NAMES:
            counters.add(name, 0)

    def ran(self) -> None:
        self.counters.add("queries")

    def stopped(self, error: QueryStopped) -> None:
        self.counters.add(f"queries_{error.reason}")

    def too_long(self) -> None:
        self.counters.add("queries_too_long")
