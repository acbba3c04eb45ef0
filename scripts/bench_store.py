"""Store benchmark: ingest cost, memory per span, and query latency against naive scans.

    python scripts/bench_store.py --spans 1000000 --batch 512
    python scripts/bench_store.py --spans 1000000 --data high-cardinality

Ingest: `decode_request` alone vs `decode_request` + `SpanStore.consume_traces`, in-process.
Memory: RSS delta after streaming `--spans` k8s-like spans into a store sized to keep them all.
Queries: each query on the full store (best of 3), against `Query.match_batch` over a sample
of spans extrapolated to the store size (the naive baseline).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import high_cardinality  # noqa: E402
import k8s_like  # noqa: E402

from kubespan.model import AttributeTable  # noqa: E402
from kubespan.otlp.attributes import new_attribute_table  # noqa: E402
from kubespan.otlp.decode import decode_request  # noqa: E402
from kubespan.query import compile_query  # noqa: E402
from kubespan.stats import rss_bytes  # noqa: E402
from kubespan.store import SpanStore  # noqa: E402

QUERIES = [
    ("equality", "service=kubelet"),
    ("equality", "name=syncPod"),
    ("equality", "k8s.pod={pod}"),
    ("equality", '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "{pod}" }'),
    ("equality", "net.peer.port=2379"),
    ("regex", "name=~runtime.*Image.*"),
    ("regex", "k8s.pod=~kube-system/.*"),
    ("substring", "{pod_name}"),
    ("substring", "ETCD"),
    ("numeric", "http.status_code>=400"),
    ("numeric", "duration>100ms"),
    ("numeric", "net.peer.port>60000"),
    ("structural", '{ name = "syncPod" } >> { resource.service.name = "containerd" }'),
    ("structural", '{ resource.service.name = "kubelet" } > { resource.service.name = "containerd" }'),
    ("structural", '{ status = error } && { name = "syncPod" }'),
    ("structural", '{ name = "KubernetesAPI" } >> { name = "etcdserverpb.KV/Txn" && duration > 50ms }'),
    ("structural", '{ } !< { resource.service.name = "containerd" }'),
    ("equality", '{ span:kind = server && span:status = error }'),
    ("regex", '{ name =~ "(?i).*image.*" }'),
    ("arithmetic", '{ duration * 2 > 200ms }'),
    ("arithmetic", '{ span.http.status_code + 1 > 500 }'),
    ("trace-level", '{ trace:rootService = "kubelet" }'),
    ("trace-level", '{ trace:duration > 1s }'),
    ("pipeline", '{ resource.service.name = "containerd" } | count() > 3'),
    ("pipeline", '{ } | avg(duration) > 100ms'),
    ("pipeline", '{ status = error } | by(resource.service.name) | count() > 1'),
    # fields against fields and by() over keys with many distinct values (the high-cardinality data has them)
    ("arithmetic", '{ span.request.size * span.latency.ratio > 15000 }'),
    ("pipeline", '{ span.http.status_code != "200" } | by(span.k8s.pod) | count() > 1'),
    ("pipeline", '{ } | by(span.http.method) | avg(span.request.size) > 10100'),
]
TARGET_MS = {"equality": 20, "regex": 300, "substring": 300, "numeric": 300, "structural": 500, "arithmetic": 300,
             "trace-level": 50, "pipeline": 500}


def requests(data: str, spans: int, batch: int, seed: int):
    """Serialized requests of `batch` spans: kubespan's k8s demo templates, or the varied generator."""
    if data == "varied":
        yield from (raw for raw, _ in k8s_like.requests(spans, batch, seed=seed))
        return
    if data == "high-cardinality":  # 40 requests, then the same with a new epoch token: nothing unique repeats
        yield from high_cardinality.unique_requests(spans, batch, seed=seed)
        return
    from kubespan.k8s.demo import DEFAULT_START_NS, load_batch

    step = batch * 100
    for index, first in enumerate(range(0, spans, step)):
        yield from load_batch(min(step, spans - first), seed=seed * 1000 + index, batch_size=batch,
                              start_ns=DEFAULT_START_NS + index * 10**12)


def bench_ingest(data: str, spans: int, batch: int, runs: int = 3) -> list[str]:
    """Best of `runs` passes: decode only, then decode + consume into a fresh store."""
    payloads = list(requests(data, spans, batch, seed=2))
    decode_s = both_s = consume_s = consume_cpu = float("inf")
    total = 0
    for _ in range(runs):
        table = new_attribute_table()
        t0 = time.perf_counter()
        for raw in payloads:
            decode_request(raw, table)
        decode_s = min(decode_s, time.perf_counter() - t0)
        table = new_attribute_table()
        store = SpanStore(table, max_spans=spans)
        wall = cpu = 0.0
        t0 = time.perf_counter()
        for raw in payloads:
            batch_, _ = decode_request(raw, table)
            t1, c1 = time.perf_counter(), time.process_time()
            store.consume_traces(batch_)
            wall += time.perf_counter() - t1
            cpu += time.process_time() - c1
        both_s = min(both_s, time.perf_counter() - t0)
        consume_s, consume_cpu = min(consume_s, wall), min(consume_cpu, cpu)
        total = len(store)
    return [
        f"| ingest: decode_request only | {total / decode_s:,.0f} spans/s | "
        f"{decode_s / total * 1e6:.2f} µs/span | baseline |",
        f"| ingest: decode + consume_traces | {total / both_s:,.0f} spans/s | {both_s / total * 1e6:.2f} µs/span | "
        f"consume_traces {consume_s / total * 1e6:.2f} µs/span wall, {consume_cpu / total * 1e6:.2f} µs/span CPU "
        f"(best of {runs}; target ≤ 3) |",
    ]


def fill(data: str, spans: int, batch: int) -> tuple[SpanStore, AttributeTable, list, int, float, float]:
    gc.collect()
    before = rss_bytes()
    table = new_attribute_table()
    store = SpanStore(table, max_spans=spans)
    indexer = store.index_ahead()  # as the viewer does
    sample = []
    wire = 0
    t0 = time.perf_counter()
    for raw in requests(data, spans, batch, seed=1):
        decoded, _ = decode_request(raw, table)
        wire += len(raw)
        store.consume_traces(decoded)
        if len(sample) < 40:
            sample.append(decoded)
    del decoded
    indexer.wait()
    gc.collect()
    elapsed = time.perf_counter() - t0
    return store, table, sample, rss_bytes() - before - sum(len(b.raw) for b in sample), wire / len(store), elapsed


def kept_bytes(store: SpanStore) -> int:
    """The request bytes the store keeps (without the attributes its table holds)."""
    with store.writer.lock:
        return sum(len(part) for chunk in store.writer.chunks() for part in chunk.raw_parts)


def best_of(fn, runs: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--ingest-spans", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--data", choices=("demo", "varied", "high-cardinality"), default="demo",
                        help="demo: kubespan.k8s.demo.load_batch (few distinct values); "
                             "varied: scripts/k8s_like.py (per-request audit ids, ports, pods); "
                             "high-cardinality: scripts/high_cardinality.py (unique ids and URLs)")
    args = parser.parse_args()

    rows = ["| measure | result | per span | note |", "|---|---|---|---|"]
    rss_base = rss_bytes()
    store, table, sample, rss_delta, wire, elapsed = fill(args.data, args.spans, args.batch)
    n = len(store)
    stats = store.stats()
    rows.append(f"| memory: RSS delta at {n:,} spans | {rss_delta / 2**20:,.0f} MiB | {rss_delta / n:,.0f} B/span | "
                f"request bytes {wire:,.0f} B/span on the wire, {kept_bytes(store) / n:,.0f} kept; "
                f"store estimate {stats['memory_bytes'] / n:,.0f} B/span; "
                f"{len(table):,} distinct attributes; {stats['traces']:,} traces (target ≤ 1024 B) |")
    sample_spans = sum(b.span_count for b in sample)
    queries = ["", f"Queries over {n:,} spans: first run (segments sorted ahead as in the viewer; "
               f"the open segment is scanned), then best of 3; "
               f"naive = `match_batch` over {sample_spans:,} spans × {n / sample_spans:,.0f}",
               "", "| kind | query | matches | first ms | store ms | naive ms (extrapolated) | target ms |",
               "|---|---|---|---|---|---|---|"]
    pod = store.attribute_values("k8s.pod", limit=1)[0][0]
    for kind, template in QUERIES:
        text = template.replace("{pod}", pod).replace("{pod_name}", pod.split("/")[-1])
        query = compile_query(text)
        first, _ = best_of(lambda query=query: store.search(query), runs=1)
        seconds, result = best_of(lambda query=query: store.search(query))
        t0 = time.perf_counter()
        for b in sample:
            query.match_batch(b, table)
        naive = (time.perf_counter() - t0) * n / sample_spans
        ok = "" if seconds * 1000 <= TARGET_MS[kind] else " **over**"
        queries.append(f"| {kind} | `{text}` | {len(result):,} | {first * 1000:.1f} | {seconds * 1000:.1f}{ok} | "
                       f"{naive * 1000:,.0f} | {TARGET_MS[kind]} |")
    seconds, traces = best_of(lambda: store.search_traces(compile_query("service=kubelet")))
    queries.append(f"| traces | search_traces(`service=kubelet`) | {len(traces):,} | | {seconds * 1000:.1f} | | |")
    seconds, _ = best_of(lambda: store.trace_summaries(traces[:100]))
    queries.append(f"| traces | trace_summaries(100 ids) | 100 | | {seconds * 1000:.1f} | | |")
    seconds, values = best_of(lambda: store.attribute_values("k8s.pod"))
    queries.append(f"| values | attribute_values(`k8s.pod`) | {len(values):,} | | {seconds * 1000:.1f} | | |")
    gc.collect()
    after = rss_bytes() - rss_base - sum(len(b.raw) for b in sample)
    rows.insert(3, f"| memory: RSS delta after the queries | {after / 2**20:,.0f} MiB | {after / n:,.0f} B/span | "
                   f"with the sorted attribute indexes and the scan caches built |")
    store = table = sample = None  # free the filled store before the ingest benchmark
    gc.collect()
    rows[2:2] = bench_ingest(args.data, args.ingest_spans, args.batch)
    rows += queries
    print(f"# bench_store --data {args.data}: {n:,} spans filled in {elapsed:.1f} s (generation included), "
          f"batch {args.batch}\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
