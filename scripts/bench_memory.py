"""Memory of a real `kubespan serve`: process-tree RSS growth per stored span, and what eviction gives back.

    python scripts/bench_memory.py --spans 1000000 --data high-cardinality
    python scripts/bench_memory.py --spans 3000000 --max-spans 200000 --data high-cardinality   # eviction

Starts `python -m kubespan serve` (defaults, no query API), warms it up with a few requests, then
sends `--spans` spans over gRPC (one client, batches of 512; high-cardinality requests get a new
epoch per pass, so no unique value repeats) and reads the resident set of the server and its
children (/proc) at each checkpoint. Reported: RSS growth since the warm-up divided by the
spans stored, and the store's own estimate (`store_memory_bytes`, which counts the attribute table,
whole in `store_attribute_bytes`, less the evicted spans' share the next compaction frees).
With `--max-spans` below `--spans`, the store evicts: the RSS at each checkpoint past the first
fill shows whether eviction gives back what the evicted spans (and their unique values) held.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import grpc

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, os.path.dirname(SCRIPTS))

from bench_ingest import EXPORT, make_payloads  # noqa: E402
from high_cardinality import vary  # noqa: E402

from tests.support.serve_process import ServeProcess  # noqa: E402

WARM_UP_REQUESTS = 20


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and its children."""
    total = 0
    for process in [pid, *children(pid)]:
        try:
            with open(f"/proc/{process}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as found:
            return [int(child) for child in found.read().split()]
    except OSError:
        return []


class Sender:
    """Sends the payloads round-robin, a new epoch per pass for high-cardinality data."""

    def __init__(self, address: str, payloads: list[bytes], spans_per: int, varied: bool) -> None:
        self.call = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 64 << 20)]) \
            .unary_unary(EXPORT)
        self.payloads, self.spans_per, self.varied = payloads, spans_per, varied
        self.index = 0

    def send(self, spans: int) -> int:
        sent = 0
        while sent < spans:
            payload = self.payloads[self.index % len(self.payloads)]
            if self.varied:
                payload = vary(payload, 1 + self.index // len(self.payloads))
            self.call(payload, timeout=60)
            self.index += 1
            sent += self.spans_per
        return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--max-spans", type=int, default=None, help="serve --max-spans (default: --spans)")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--checkpoints", type=int, default=5, help="RSS readings along the way")
    parser.add_argument("--data", choices=("demo", "varied", "high-cardinality"), default="high-cardinality")
    args = parser.parse_args()
    max_spans = args.max_spans or args.spans
    payloads = make_payloads(args.data, args.batch)
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--api", "off", "--max-spans", str(max_spans))
    try:
        sender = Sender(server.addresses["grpc"], payloads, args.batch, args.data == "high-cardinality")
        warm = sender.send(WARM_UP_REQUESTS * args.batch)
        time.sleep(0.5)
        base = tree_rss(server.process.pid)
        print(f"# bench_memory --data {args.data}: {args.spans:,} spans, serve --max-spans {max_spans:,}, "
              f"batches of {args.batch}; RSS after a warm-up of {warm:,} spans: {base / 2**20:,.0f} MiB\n")
        print("| spans sent | spans stored | RSS growth | per stored span |")
        print("|---|---|---|---|")
        sent = 0
        step = max(args.batch, args.spans // args.checkpoints)
        while sent < args.spans:
            sent += sender.send(min(step, args.spans - sent))
            stored = min(warm + sent, max_spans)
            grown = tree_rss(server.process.pid) - base
            per_span = grown / max(1, stored - warm)
            print(f"| {warm + sent:,} | {stored:,} | {grown / 2**20:,.0f} MiB | {per_span:,.0f} B |", flush=True)
        counters = server.stop()
    finally:
        server.kill()
    stored = counters.get("stored_spans", 0)
    estimate, table = counters.get("store_memory_bytes", 0), counters.get("store_attribute_bytes", 0)
    print(f"\nstore's own estimate at the end: {estimate / max(1, stored):,.0f} B per stored span "
          f"({max(0, estimate - table) / max(1, stored):,.0f} spans and requests, "
          f"{table / max(1, stored):,.0f} attribute table, dead ids included); "
          f"stored {stored:,}, evicted {counters.get('evicted_spans', 0):,}")


if __name__ == "__main__":
    main()
