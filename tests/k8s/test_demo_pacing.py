"""`kubespan demo` in time: span times follow the clock at any rate, the duration is kept, each run
has fresh trace ids unless a seed is given, and the walkthrough comes first. A fake clock drives
the sender, so nothing here sleeps."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.k8s.demo import spans_in
from kubespan.k8s.send import Clock, run_demo

T0 = 1_750_000_000_000_000_000


class FakeClock(Clock):
    """Time that passes only when someone waits (or an export says it took a while)."""

    def __init__(self) -> None:
        self.ns = T0
        self.mono = 1000.0

    def time_ns(self) -> int:
        return self.ns

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)
        self.mono += seconds

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.advance(max(0.0, seconds))
        return stop.is_set()


class RecordingExporter:
    """Keeps each request with the clock's time when it was sent; each export takes ``cost`` seconds."""

    def __init__(self, clock: FakeClock, cost: float = 0.0) -> None:
        self.clock, self.cost = clock, cost
        self.sent: list[tuple[int, ExportTraceServiceRequest]] = []

    def export(self, payload: bytes, timeout: float) -> int:
        self.sent.append((self.clock.time_ns(), ExportTraceServiceRequest.FromString(payload)))
        self.clock.advance(self.cost)
        return 0

    def close(self) -> None:
        pass


def demo(clock: FakeClock, exporter: RecordingExporter, **kwargs) -> dict:
    return run_demo("unused:1", clock=clock, exporter=exporter, **kwargs)


@pytest.mark.parametrize("rate", [None, 50.0, 400.0, 3000.0])
def test_span_times_follow_the_clock_at_any_rate(rate: float | None) -> None:
    clock = FakeClock()
    exporter = RecordingExporter(clock)
    stats = demo(clock, exporter, rate=rate, duration=8, seed=1)
    latest = max(s.end_time_unix_nano for _, r in exporter.sent for _, s in spans_in([r]))
    assert latest <= clock.ns
    for sent_at, request in exporter.sent:
        for _, span in spans_in([request]):
            assert T0 <= span.start_time_unix_nano <= span.end_time_unix_nano <= sent_at
    if rate:  # the cluster runs busier or calmer, not faster than time
        assert 0.75 * rate * 8 <= stats["spans"] <= 1.25 * rate * 8, stats


def test_the_duration_is_kept_even_when_exports_are_slow() -> None:
    for cost in (0.0, 0.3):
        clock = FakeClock()
        start = clock.mono
        stats = demo(clock, RecordingExporter(clock, cost), rate=400, duration=5, seed=2)
        assert 5.0 <= clock.mono - start <= 5.5 and 5.0 <= stats["elapsed_s"] <= 5.5, (cost, stats)


def test_the_walkthrough_comes_within_three_seconds() -> None:
    clock = FakeClock()
    exporter = RecordingExporter(clock)
    demo(clock, exporter, duration=3, seed=3)
    spans = [span for _, r in exporter.sent for _, span in spans_in([r])]
    create = [s for s in spans if s.name == "syncPod" and {(a.key, a.value.string_value) for a in s.attributes}
              >= {("k8s.pod", "default/echo-command"), ("k8s.pod.update_type", "create")}]
    assert len(create) == 1
    assert len([s for s in spans if s.trace_id == create[0].trace_id]) == 11


def trace_ids(seed: int | None) -> tuple[set[bytes], dict]:
    clock = FakeClock()
    exporter = RecordingExporter(clock)
    stats = demo(clock, exporter, duration=20, seed=seed)
    return {s.trace_id for _, r in exporter.sent for _, s in spans_in([r])}, stats


def test_each_run_has_fresh_trace_ids_and_a_seed_repeats_them() -> None:
    first, first_stats = trace_ids(None)
    second, second_stats = trace_ids(None)
    assert first and not first & second and first_stats["seed"] != second_stats["seed"]
    again, _ = trace_ids(first_stats["seed"])
    assert again == first


def test_a_stop_ends_the_run() -> None:
    clock = FakeClock()
    stop = threading.Event()

    class Stopping(RecordingExporter):
        def export(self, payload: bytes, timeout: float) -> int:
            if len(self.sent) == 3:
                stop.set()
            return super().export(payload, timeout)

    stats = demo(clock, Stopping(clock), rate=1000, stop_event=stop, seed=4)
    assert stats["requests"] == 4
