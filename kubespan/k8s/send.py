"""Send OTLP trace exports: `kubespan demo` (the simulated cluster, paced by the wall clock) and
`send` (any requests at a steady rate, for the load generator)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from kubespan.k8s.demo import DemoCluster
from kubespan.k8s.demo.recorder import NATURAL_SPANS_PER_S
from kubespan.k8s.exporters import Exporter, ExportError, open_exporter

TICK_S = 0.05
"""How often the demo releases the spans that have ended by the wall clock."""
MAX_REQUEST_SPANS = 512
"""Most spans the demo puts in one export request."""
PACE_LIMITS = (0.02, 2000.0)
"""Slowest and fastest the simulated cluster's background activity runs, relative to a real one."""
UNAVAILABLE_PAUSE_S = 0.2
"""Pause after an export nobody answered, so a sender does not spin against a missing receiver."""
EXPORT_TIMEOUT_S = 10.0


class Clock:
    """Wall and monotonic time, and waiting on a stop event; tests substitute a clock of their own."""

    def time_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` or until ``stop`` is set; true when it is."""
        return stop.wait(seconds) if seconds > 0 else stop.is_set()


SYSTEM_CLOCK = Clock()


def fresh_seed() -> int:
    """A seed for a run that should not repeat an earlier one's trace ids."""
    return secrets.randbits(31)


@dataclass
class SendStats:
    """Counters of one sending run."""

    requests: int = 0
    spans: int = 0
    bytes: int = 0
    errors: int = 0
    rejected_spans: int = 0  # partial success reported by the receiver
    elapsed_s: float = 0.0
    last_error: str | None = None
    seed: int | None = None
    latencies_s: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        out = asdict(self)
        del out["latencies_s"]
        if out["seed"] is None:
            del out["seed"]
        return out


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


class _Sender:
    """Exports one item at a time into :class:`SendStats`; failures are counted, not raised."""

    def __init__(self, exporter: Exporter, stats: SendStats, clock: Clock, stop: threading.Event,
                 deadline: float | None, timeout: float) -> None:
        self.exporter, self.stats, self.clock, self.stop = exporter, stats, clock, stop
        self.deadline, self.timeout = deadline, timeout

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.clock.monotonic()

    def wait(self, seconds: float) -> bool:
        """Wait, at most until the deadline; true when sending should end."""
        left = self.left()
        if left is not None and left <= seconds:
            self.clock.wait(self.stop, left)
            return True
        return self.clock.wait(self.stop, seconds)

    def over(self) -> bool:
        left = self.left()
        return self.stop.is_set() or (left is not None and left <= 0)

    def send(self, item: ExportTraceServiceRequest | tuple[bytes, int]) -> None:
        if isinstance(item, tuple):
            payload, spans = item
        else:
            payload, spans = item.SerializeToString(), span_count(item)
        left = self.left()
        timeout = self.timeout if left is None else max(0.1, min(self.timeout, left))
        started = self.clock.monotonic()
        try:
            rejected = self.exporter.export(payload, timeout)
        except ExportError as err:
            self.stats.errors += 1
            self.stats.last_error = err.message
            if err.unavailable:
                self.wait(UNAVAILABLE_PAUSE_S)
            return
        self.stats.latencies_s.append(self.clock.monotonic() - started)
        self.stats.requests += 1
        self.stats.spans += spans
        self.stats.bytes += len(payload)
        self.stats.rejected_spans += rejected


def send(
    endpoint: str,
    requests: Iterable[ExportTraceServiceRequest | tuple[bytes, int]],
    *,
    rate: float | None = None,
    duration: float | None = None,
    gzip: bool = False,
    token: str | None = None,
    stop_event: threading.Event | None = None,
    timeout: float = EXPORT_TIMEOUT_S,
    protocol: str = "grpc",
    clock: Clock = SYSTEM_CLOCK,
) -> SendStats:
    """Export ``requests`` to an OTLP endpoint and return counters.

    Items are messages, or `(serialized bytes, span count)` pairs sent as they are. ``rate`` caps
    spans per second (None: as fast as possible); sending stops after ``duration`` seconds, when
    ``requests`` runs out, or when ``stop_event`` is set. Failed exports are counted, not raised.
    """
    stop = stop_event or threading.Event()
    start = clock.monotonic()
    stats = SendStats()
    exporter = open_exporter(protocol, endpoint, gzip=gzip, token=token)
    sender = _Sender(exporter, stats, clock, stop, None if duration is None else start + duration, timeout)
    try:
        for item in requests:
            if sender.over():
                break
            if rate:  # wait until these spans fit under the rate
                delay = start + stats.spans / rate - clock.monotonic()
                if delay > 0 and sender.wait(delay):
                    break
            sender.send(item)
    finally:
        stats.elapsed_s = clock.monotonic() - start
        exporter.close()
    return stats


class DemoPacer:
    """Releases the simulated cluster's spans as the wall clock passes their end, and keeps the
    cluster busy enough for ``rate`` spans per second (None: a real cluster's own pace)."""

    def __init__(self, cluster: DemoCluster, rate: float | None, clock: Clock) -> None:
        self.cluster, self.rate, self.clock = cluster, rate, clock
        self.natural = cluster.natural_rate()
        self.started_ns = cluster.now  # a backlog (start in the past) counts as time the rate covers
        self.released = 0

    @staticmethod
    def pace_for(rate: float | None, k8s_version: str) -> float:
        """The pace to start a cluster at for ``rate`` spans per second."""
        return _clamp(rate / NATURAL_SPANS_PER_S[k8s_version]) if rate else 1.0

    def due(self) -> Iterator[ExportTraceServiceRequest]:
        """The requests holding every span that has ended by now (at most MAX_REQUEST_SPANS each)."""
        now = self.clock.time_ns()
        while True:
            requests = self.cluster.requests_until(now, MAX_REQUEST_SPANS)
            if not requests:
                break
            self.released += sum(span_count(r) for r in requests)
            yield from requests
        if self.rate:
            self._steer(now)

    def _steer(self, now: int) -> None:
        """Nudge the pace towards the rate: more activity when behind, less when ahead."""
        elapsed = (now - self.started_ns) / 1e9
        rate = self.rate
        if rate is None or elapsed < 1.0:
            return
        ratio = rate * elapsed / max(self.released, 1.0)
        self.cluster.pace = _clamp(rate / self.natural * min(4.0, max(0.25, ratio)))


def _clamp(pace: float) -> float:
    return min(PACE_LIMITS[1], max(PACE_LIMITS[0], pace))


def run_demo(
    endpoint: str,
    rate: float | None = None,
    duration: float | None = None,
    seed: int | None = None,
    k8s_version: str = "1.27",
    stop_event: threading.Event | None = None,
    *,
    gzip: bool = False,
    token: str | None = None,
    start_ns: int | None = None,
    protocol: str = "grpc",
    clock: Clock = SYSTEM_CLOCK,
    timeout: float = EXPORT_TIMEOUT_S,
    exporter: Exporter | None = None,
) -> dict:
    """`kubespan demo`: stream simulated k3d traces to ``endpoint``; returns `SendStats.as_dict()`.

    Span timestamps follow the wall clock at any rate: each span is sent once the clock has passed
    its end. The simulated cluster starts at ``start_ns`` (default: now; earlier means a backlog
    sent at once). ``rate`` (spans/s) makes the cluster busier or calmer than a real one (about
    15-25 spans/s), never faster than time. ``seed`` None picks a fresh one (in the result), so a
    second run's trace ids do not merge into the first's; the same seed repeats the same traces.
    ``exporter`` replaces the one ``protocol`` names (tests).
    """
    stop = stop_event or threading.Event()
    seed = fresh_seed() if seed is None else seed
    cluster = DemoCluster(seed=seed, k8s_version=k8s_version, pace=DemoPacer.pace_for(rate, k8s_version),
                          start_ns=clock.time_ns() if start_ns is None else start_ns)
    pacer = DemoPacer(cluster, rate, clock)
    start = clock.monotonic()
    stats = SendStats(seed=seed)
    exporter = exporter or open_exporter(protocol, endpoint, gzip=gzip, token=token)
    sender = _Sender(exporter, stats, clock, stop, None if duration is None else start + duration, timeout)
    try:
        while not sender.over():
            for request in pacer.due():
                if sender.over():
                    break
                sender.send(request)
            else:
                if sender.wait(TICK_S):
                    break
    finally:
        stats.elapsed_s = clock.monotonic() - start
        exporter.close()
    return stats.as_dict()
