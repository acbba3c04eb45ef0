"""Send outcomes and the exponential backoff the Collector's exporters use.

`Backoff` follows cenkalti/backoff's `ExponentialBackOff` as configured by the
Collector: each wait is the current interval ± `randomization_factor`, the interval
grows by `multiplier` up to `max_interval`, and retrying stops once the next wait
would pass `max_elapsed_time` since the first attempt. A server-requested delay
(gRPC RetryInfo, HTTP Retry-After) is honoured: the wait is the larger of the two.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from kubespan.forward.settings import RetrySettings


class RetryableError(Exception):
    """The backend may accept the request later (UNAVAILABLE, 503, connection refused)."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay  # the delay the server asked for, if any


class PermanentSendError(Exception):
    """The backend refused the request for good (INVALID_ARGUMENT, 400, 401, ...)."""


@dataclass(slots=True)
class SendResult:
    """A successful export: the partial-success part of the answer."""

    rejected_spans: int = 0
    error_message: str = ""

    @classmethod
    def of_answer(cls, answer: bytes) -> SendResult:
        """The partial success an ExportTraceServiceResponse reports (none when empty or unreadable)."""
        if not answer or answer == b"\x0a\x00":
            return cls()
        try:
            partial = ExportTraceServiceResponse.FromString(answer).partial_success
        except DecodeError:
            return cls()
        return cls(partial.rejected_spans, partial.error_message)


class Backoff:
    """Yields successive waits for one request; `next_wait()` is None when giving up."""

    def __init__(self, settings: RetrySettings, *, clock=time.monotonic, rng: random.Random | None = None) -> None:
        self.settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._interval = settings.initial_interval
        self._started = clock()

    def next_wait(self, requested: float | None = None) -> float | None:
        """The next wait in seconds, or None when retrying must stop."""
        s = self.settings
        if not s.enabled:
            return None
        delta = s.randomization_factor * self._interval
        wait = self._interval - delta + self._rng.random() * (2 * delta)
        self._interval = min(self._interval * s.multiplier, s.max_interval)
        if requested is not None:
            wait = max(wait, requested)
        if s.max_elapsed_time > 0 and self._clock() - self._started + wait > s.max_elapsed_time:
            return None
        return wait
