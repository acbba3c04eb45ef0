"""Time Jaeger's `/api/dependencies` counting (kubespan.api.jaeger_deps) over many stored spans, against
the baseline of the service graph's dependencies (kubespan.metrics.live) in the same run.

    flock /work/coord/bench.lock python scripts/bench_jaeger_deps.py --spans 1000000 --rounds 3

Loads `scripts/high_cardinality.py` spans (512 per request, seed 1) into a store, then times each
`dependency_links(snapshot, 0, 2**62)` and `live_metrics(store).dependencies(...)` per round (the
first service-graph call builds the graph; later ones are incremental).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from high_cardinality import requests as high_cardinality  # noqa: E402

from kubespan.api.jaeger_deps import dependency_links  # noqa: E402
from kubespan.metrics.live import live_metrics  # noqa: E402
from kubespan.otlp.attributes import new_attribute_table  # noqa: E402
from kubespan.otlp.decode import decode_request  # noqa: E402
from kubespan.store import SpanStore  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    table = new_attribute_table()
    store = SpanStore(table, max_spans=args.spans + 10_000)
    for raw, _ in high_cardinality(args.spans, 512, seed=1):
        store.consume_traces(decode_request(raw, table)[0])
    snap = store.reader().snap
    print(f"{len(store):,} spans")
    for _ in range(args.rounds):
        began = time.perf_counter()
        links = dependency_links(snap, 0, 2**62)
        jaeger = time.perf_counter() - began
        began = time.perf_counter()
        graph = live_metrics(store).dependencies(2**62 // 10**6, 2**62 // 10**6)
        baseline = time.perf_counter() - began
        print(f"jaeger's count {jaeger * 1000:.0f} ms ({len(links)} links); "
              f"service graph {baseline * 1000:.0f} ms ({len(graph)} links)")


if __name__ == "__main__":
    main()
