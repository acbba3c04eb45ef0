"""Metrics benchmark: TraceQL metrics, live RED numbers and the service graph at 1,000,000 spans.

    flock /work/coord/bench.lock python scripts/bench_metrics.py --spans 1000000
    flock /work/coord/bench.lock python scripts/bench_metrics.py --spans 1000000 --data high-cardinality

Each metrics query runs on the whole store over the data's time range with Tempo's default step
(best of 3), against two baselines measured in the same run: `SpanStore.search` of a span-level
filter (the cheapest full-store read) and the naive span-by-span evaluator
(tests/metrics/reference.py) over a sample, extrapolated to the store size. The live aggregates are
timed as the viewer uses them: catching up 20,000 new spans, and reading a 5-minute window.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_store import best_of, fill, requests

from kubespan.metrics import compile_metrics, evaluate
from kubespan.metrics.graph import ServiceGraph
from kubespan.metrics.red import RedAggregator
from kubespan.metrics.timegrid import TimeGrid, default_step
from kubespan.otlp.decode import decode_request
from kubespan.query import compile_query
from tests.metrics import reference

QUERIES = [
    ("{ } | rate() by (resource.service.name)", 300),
    ("{ } | quantile_over_time(duration, .5, .9, .99) by (resource.service.name, name)", 500),
    ("{ } | count_over_time() by (name, status)", None),
    ("{ resource.service.name = \"kubelet\" } | histogram_over_time(duration) by (name)", None),
    ("{ } | avg_over_time(duration) by (resource.service.name) | topk(3)", None),
    ("({ status = error } | rate() by (resource.service.name)) / ({ } | rate() by (resource.service.name))", None),
]
LIVE_BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--data", choices=("demo", "varied", "high-cardinality"), default="demo")
    parser.add_argument("--sample", type=int, default=20_000, help="spans the naive evaluator reads")
    args = parser.parse_args()

    store, table, _, _, _, elapsed = fill(args.data, args.spans - LIVE_BATCH, args.batch)
    store.writer.max_spans = args.spans  # room for the live batch
    head = store.snapshot()  # what the live aggregates have seen before the last 20,000 spans arrive
    for raw in requests(args.data, LIVE_BATCH, args.batch, seed=9):
        store.consume_traces(decode_request(raw, table)[0])
    snap = store.snapshot()
    n = len(snap)
    starts = snap.column("start")
    lo, hi = int(starts.min()) - 1, int(starts.max()) + 1
    grid = TimeGrid.for_range(lo, hi, default_step(lo, hi))
    search_s, _ = best_of(lambda: store.search(compile_query("service=kubelet")))
    sample = dataclasses.replace(snap, floor=snap.stop - min(args.sample, n))
    title = (f"# bench_metrics --data {args.data}: {n:,} spans (filled in {elapsed:.1f} s), "
             f"window {(hi - lo) / 1e9:,.0f} s, step {grid.step / 1e9:g} s ({grid.intervals} points)")
    rows = [title, "",
            f"Baseline in this run: `store.search(service=kubelet)` {search_s * 1000:.1f} ms.", "",
            "| query | series | ms (best of 3) | × search | naive ms (extrapolated) | target ms |",
            "|---|---|---|---|---|---|"]
    for text, target in QUERIES:
        query = compile_metrics(text)
        seconds, result = best_of(lambda query=query: evaluate(query, snap, grid))
        naive = ""
        if len(query.pipelines()) == 1 and not query.second:
            sample_store = _SampleStore(sample, store)
            t0 = time.perf_counter()
            reference.evaluate(query, sample_store, grid)
            naive = f"{(time.perf_counter() - t0) * n / len(sample) * 1000:,.0f}"
        mark = "" if target is None or seconds * 1000 <= target else " **over**"
        rows.append(f"| `{text}` | {len(result.series)} | {seconds * 1000:.1f}{mark} | {seconds / search_s:.1f} | "
                    f"{naive} | {target or ''} |")
    rows += ["", "Live aggregates (what the Services and Graph views do):", "",
             "| step | ms | note |", "|---|---|---|"]
    red, graph = RedAggregator(), ServiceGraph()
    t0 = time.perf_counter()
    red.catch_up(head)
    rows.append(f"| RED: first count of {len(head):,} spans | {(time.perf_counter() - t0) * 1000:.0f} | once, on start "
                "or when the filter changes |")
    t0 = time.perf_counter()
    graph.catch_up(head, now=0.0)
    rows.append(f"| graph: first pairing of {len(head):,} spans | {(time.perf_counter() - t0) * 1000:.0f} | once |")
    t0 = time.perf_counter()
    red.catch_up(snap)
    rows.append(f"| RED: catch up {LIVE_BATCH:,} new spans | {(time.perf_counter() - t0) * 1000:.1f} | per refresh "
                "(1 s at 20,000 spans/s) |")
    t0 = time.perf_counter()
    graph.catch_up(snap, now=1.0)
    rows.append(f"| graph: catch up {LIVE_BATCH:,} new spans | {(time.perf_counter() - t0) * 1000:.1f} | per refresh |")
    window = (hi - 300 * 10**9, hi)
    seconds, found = best_of(lambda: red.rows(*window))
    rows.append(f"| RED: rows of a 5-minute window | {seconds * 1000:.1f} | {len(found)} rows |")
    seconds, found = best_of(lambda: graph.edges(*window))
    rows.append(f"| graph: edges of a 5-minute window | {seconds * 1000:.1f} | {len(found)} edges |")
    print("\n".join(rows))


class _SampleStore:
    """What the naive evaluator reads: a snapshot limited to the last spans, rows from the store."""

    def __init__(self, snap, store) -> None:
        self._snap, self._store = snap, store

    def snapshot(self):
        return self._snap

    def span_rows(self, ordinals):
        return self._store.span_rows(ordinals)


if __name__ == "__main__":
    main()
