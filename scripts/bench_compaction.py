"""Attribute-table compactions at a million high-cardinality spans: how long, and how long they stop other threads.

    python scripts/bench_compaction.py --spans 1000000 --extra 1200000
    python scripts/bench_compaction.py --tree /path/to/another/checkout   # that checkout's kubespan, same data

Fills a store of `--spans` high-cardinality spans (scripts/high_cardinality.py, each pass of
its requests made unique with `vary`), then sends `--extra` more, so the oldest are evicted and
the attribute table is compacted. Every `StoreWriter._compact_attributes` is timed (wall clock
and the writer thread's CPU) while a ticker thread sleeps 1 ms at a time: its longest wait
during a compaction is how long that compaction kept every other Python thread (a viewer, a
receiver) from running. The snapshot taken right after each compaction is timed too (it
re-indexes the table's keys), and the whole run's ingest rate is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from typing import Any, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))


def requests(spans: int, batch: int) -> Iterator[bytes]:
    import high_cardinality

    return high_cardinality.unique_requests(spans, batch, seed=1)


class Ticker:
    """A thread that wakes every millisecond and keeps when it woke."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped:
            time.sleep(0.001)
            self.ticks.append(time.perf_counter())

    def longest_wait(self, start: float, end: float) -> float:
        """The longest gap between two ticks around [start, end] (the next tick after `end` included)."""
        ticks = self.ticks
        inside = [t for t in ticks if start <= t <= end]
        before = [t for t in ticks if t < start][-1:]
        after = [t for t in ticks if t > end][:1]
        points = before + inside + after
        return max((b - a for a, b in zip(points, points[1:])), default=end - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000, help="the store's --max-spans")
    parser.add_argument("--extra", type=int, default=1_200_000, help="spans sent after it is full")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--tree", default=os.path.dirname(HERE), help="the checkout whose kubespan is measured")
    args = parser.parse_args()
    sys.path[:0] = [HERE, os.path.abspath(args.tree)]

    import kubespan
    from kubespan.otlp.attributes import new_attribute_table
    from kubespan.otlp.decode import decode_request
    from kubespan.store import SpanStore
    table = new_attribute_table()
    store = SpanStore(table, max_spans=args.spans)
    store.index_ahead()  # as the viewer does
    writer = store.writer
    ticker = Ticker()
    rows: list[dict[str, Any]] = []
    compact = writer._compact_attributes

    def timed() -> None:
        ids = len(table)
        wall, cpu = time.perf_counter(), time.thread_time()
        compact()
        end, cpu_end = time.perf_counter(), time.thread_time()
        rows.append({"wall": end - wall, "cpu": cpu_end - cpu, "start": wall, "end": end, "ids": ids,
                     "kept": len(table), "at": writer.evicted_spans})

    writer._compact_attributes = timed
    sent = 0
    started = time.perf_counter()
    after_compaction = 0
    snapshots: list[float] = []
    for raw in requests(args.spans + args.extra, args.batch):
        batch, _ = decode_request(raw, table)
        store.consume_traces(batch)
        sent += args.batch
        if len(rows) > after_compaction:  # the next snapshot re-indexes the new generation's keys
            after_compaction = len(rows)
            t0 = time.perf_counter()
            writer.snapshot()
            snapshots.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    ticker.stopped = True
    ticker.thread.join()
    print(f"kubespan from {os.path.dirname(os.path.dirname(kubespan.__file__))}")
    print(f"{sent:,} spans in {elapsed:.1f} s ({sent / elapsed:,.0f} spans/s), max {args.spans:,} stored; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'compaction':>10} {'at evicted':>11} {'ids':>10} {'kept':>10} {'wall ms':>8} {'cpu ms':>7} "
          f"{'stall ms':>9} {'snapshot ms':>11}")
    for i, row in enumerate(rows):
        stall = ticker.longest_wait(row["start"], row["end"])
        row["stall"] = stall
        snap = snapshots[i] if i < len(snapshots) else float("nan")
        print(f"{i + 1:>10} {row['at']:>11,} {row['ids']:>10,} {row['kept']:>10,} {row['wall'] * 1e3:>8.0f} "
              f"{row['cpu'] * 1e3:>7.0f} {stall * 1e3:>9.1f} {snap * 1e3:>11.1f}")
    if rows:
        print(f"compactions: {len(rows)}; median wall {statistics.median(r['wall'] for r in rows) * 1e3:.0f} ms, "
              f"cpu {statistics.median(r['cpu'] for r in rows) * 1e3:.0f} ms, longest stall of another thread "
              f"{max(r['stall'] for r in rows) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
