"""Real OTLP/gRPC traffic for `bench_tui.py --data high-cardinality`: the viewer's own receiver
fed as fast as it answers, and the bare receiver fed the same way for the ratio.

Clients are `bench_ingest.client` processes sending `high_cardinality` requests, each pass
with a new epoch token (no unique value is ever sent twice).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import time

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, os.path.dirname(SCRIPTS))

import bench_ingest  # noqa: E402
import high_cardinality  # noqa: E402

FIRST_EPOCH = 1000
"""Epochs below this are left to the fill, so live traffic never repeats what was stored."""


def payloads(batch: int = 512) -> list[bytes]:
    return [raw for raw, _ in high_cardinality.requests(40 * batch, batch, seed=1)]


def fill(pipeline, spans: int, batch: int = 512) -> float:  # noqa: ANN001 - kubespan.pipeline.Pipeline
    """Decode and store `spans` high-cardinality spans through the pipeline; seconds taken."""
    started = time.perf_counter()
    for raw in high_cardinality.unique_requests(spans, batch, seed=1, epochs=FIRST_EPOCH):
        pipeline.export_traces(raw)
    return time.perf_counter() - started


class Clients:
    """`count` client processes sending to `address` until stopped."""

    def __init__(self, address: str, count: int, batch: int = 512, seconds: float = 3600) -> None:
        spawn = multiprocessing.get_context("spawn")  # not fork: this process runs gRPC threads
        self.queue = spawn.Queue()
        data = payloads(batch)
        self.processes = [
            spawn.Process(target=bench_ingest.client, daemon=True, args=(
                address, data, batch, seconds, False, self.queue, (FIRST_EPOCH + index, count)))
            for index in range(count)
        ]

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(10)


def bare_rate(clients: int, seconds: float, batch: int = 512) -> float:
    """Spans/s the bare parse-and-count receiver takes from the same clients and data."""

    class Args:
        pass

    args = Args()
    args.clients, args.seconds, args.gzip, args.data = clients, seconds, False, "high-cardinality"
    return bench_ingest.run_variant("bare", payloads(batch), batch, args)["spans_per_s"]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
