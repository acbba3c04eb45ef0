"""`Forwarder`: a `TracesConsumer` that relays batches to an OTLP backend.

`consume_traces` only enqueues: it never blocks and never pushes back on the
receivers (the Collector's `block_on_overflow: false`). A full queue drops the batch
and counts it. Sender threads take batches off the queue and send `batch.raw` as it
is, retrying retryable failures with backoff until the give-up time; permanent
errors are counted and reported with the backend's message, never retried.

Counters (shared by all forwarders): forward_sent_requests, forward_sent_spans,
forward_retries, forward_dropped_spans (queue full or left at shutdown),
forward_failed_spans (permanent error or gave up), forward_rejected_spans (partial
success). Gauges: forward_queue_requests, forward_queue_spans.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

from kubespan.forward.retry import (
    Backoff,
    PermanentSendError,
    RetryableError,
    SendResult,
)
from kubespan.forward.settings import GRPC, ForwardSettings
from kubespan.model import TraceBatch
from kubespan.stats import Counters

FAILING_GRACE_S = 0.5
"""How long shutdown waits for a backend that is currently failing."""
REPORT_EVERY_S = 5.0
"""Shortest interval between two repeated problem reports of one forwarder."""


class Outgoing(NamedTuple):
    """What the queue holds: the request bytes only, so a queued request does not keep
    the decoded batch (columns, attribute ids) alive after the store evicted it."""

    raw: bytes
    span_count: int


class Sender(Protocol):
    def send(self, raw: bytes) -> SendResult: ...

    def close(self) -> None: ...


def make_sender(settings: ForwardSettings) -> Sender:
    if settings.protocol == GRPC:
        from kubespan.forward.grpc_sender import GrpcSender

        return GrpcSender(settings)
    from kubespan.forward.http_sender import HttpSender

    return HttpSender(settings)


def stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Forwarder:
    """Bounded queue + sender threads for one backend."""

    def __init__(
        self,
        settings: ForwardSettings,
        counters: Counters,
        *,
        sender: Sender | None = None,
        log: Callable[[str], None] = stderr_log,
    ) -> None:
        self.settings = settings
        self.counters = counters
        self.log = log
        self.last_error = ""
        self._sender = sender or make_sender(settings)
        self._queue: collections.deque[Outgoing] = collections.deque()
        self._cond = threading.Condition()
        self._queued_spans = 0
        self._aborted_spans = 0
        self._accepting = True
        self._closing = False
        self._abort = threading.Event()
        self._failing = False
        self._last_report: dict[str, float] = {}
        self._threads = [
            threading.Thread(target=self._run, name=f"forward-{i}", daemon=True)
            for i in range(max(1, settings.queue.consumers))
        ]
        for thread in self._threads:
            thread.start()

    @property
    def queue_requests(self) -> int:
        return len(self._queue)

    @property
    def queue_spans(self) -> int:
        return self._queued_spans

    def consume_traces(self, batch: TraceBatch) -> None:
        """Enqueue, or drop and count when full. Never blocks, never raises."""
        spans = batch.span_count
        with self._cond:
            if self._accepting and self._fits(spans):
                self._queue.append(Outgoing(batch.raw, spans))
                self._queued_spans += spans
                self._cond.notify()
                return
        self.counters.add("forward_dropped_spans", spans)
        self._report("full", f"queue full ({self.settings.queue.size} {self.settings.queue.sizer}), dropping spans")

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, send what is queued for up to `timeout`, count the rest as dropped.

        A backend already failing gets at most FAILING_GRACE_S: waiting would not help.
        """
        if self._failing:
            timeout = min(timeout, FAILING_GRACE_S)
        with self._cond:
            self._accepting = False
            self._closing = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._abort.set()
        for thread in self._threads:
            thread.join(self.settings.timeout + 1.0)
        with self._cond:
            left = sum(batch.span_count for batch in self._queue) + self._aborted_spans
            self._queue.clear()
            self._queued_spans = self._aborted_spans = 0
        if left:
            self.counters.add("forward_dropped_spans", left)
            self.log(f"kubespan: forward {self.settings.name}: {left} span(s) not sent at shutdown, counted as dropped")
        self._sender.close()

    def _fits(self, spans: int) -> bool:
        queue = self.settings.queue
        if queue.sizer == "spans":
            return self._queued_spans + spans <= queue.size
        return len(self._queue) < queue.size

    def _run(self) -> None:
        while (batch := self._next()) is not None:
            self._deliver(batch)

    def _next(self) -> Outgoing | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue or self._abort.is_set():
                return None
            batch = self._queue.popleft()
            self._queued_spans -= batch.span_count
            return batch

    def _deliver(self, batch: Outgoing) -> None:
        """Send one batch, retrying retryable failures until success or give-up."""
        backoff = Backoff(self.settings.retry)
        while True:
            try:
                result = self._sender.send(batch.raw)
            except RetryableError as exc:
                wait = backoff.next_wait(exc.delay)
                if wait is None:
                    self._failed(batch, f"giving up after retries: {exc}")
                    return
                self._retrying(exc)
                if self._abort.wait(wait):
                    with self._cond:
                        self._aborted_spans += batch.span_count
                    return
                continue
            except PermanentSendError as exc:
                self._failed(batch, f"permanent error, not retried: {exc}")
                return
            except Exception as exc:  # a bug or a local problem (e.g. unreadable TLS file)
                self._failed(batch, f"{type(exc).__name__}: {exc}")
                return
            self._sent(batch, result)
            return

    def _sent(self, batch: Outgoing, result: SendResult) -> None:
        accepted = batch.span_count - result.rejected_spans
        self.counters.add("forward_sent_requests", 1)
        self.counters.add("forward_sent_spans", accepted)
        if result.rejected_spans or result.error_message:
            self.counters.add("forward_rejected_spans", result.rejected_spans)
            self._report("partial",
                         f"partial success: {result.rejected_spans} span(s) rejected: {result.error_message}")
        if self._failing:
            self._failing = False
            self.log(f"kubespan: forward {self.settings.name}: backend reachable again")

    def _retrying(self, exc: RetryableError) -> None:
        self.counters.add("forward_retries", 1)
        self.last_error = str(exc)
        if not self._failing:
            self._failing = True
            self.log(f"kubespan: forward {self.settings.name}: {exc}; retrying with backoff")

    def _failed(self, batch: Outgoing, message: str) -> None:
        self.counters.add("forward_failed_spans", batch.span_count)
        self.counters.add("forward_failed_requests", 1)
        self._report("failed", f"{batch.span_count} span(s) lost: {message}")

    def _report(self, kind: str, message: str) -> None:
        """Log a problem, at most once every REPORT_EVERY_S seconds per kind."""
        self.last_error = message
        now = time.monotonic()
        last = self._last_report.get(kind)
        if last is None or now - last >= REPORT_EVERY_S:
            self._last_report[kind] = now
            self.log(f"kubespan: forward {self.settings.name}: {message}")


    def status(self) -> dict[str, object]:
        """For a status line or the TUI footer: where, queue depth, last problem."""
        return {
            "name": self.settings.name,
            "target": self.settings.describe(),
            "queue_requests": self.queue_requests,
            "queue_spans": self.queue_spans,
            "failing": self._failing,
            "last_error": self.last_error,
        }
