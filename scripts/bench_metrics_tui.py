"""Keypress latency in the Services and Graph views at 1,000,000 stored spans with 20,000 spans/s arriving.

    flock /work/coord/bench.lock python scripts/bench_metrics_tui.py --spans 1000000 --rate 20000

The viewer is the real one (`kubespan.tui.factory.local_app` over the store, as `kubespan tui` runs
it); the bench presses 4 (Services) or 5 (Graph) and waits for the first numbers. The views refresh
themselves every second in a thread worker (catching up with the new spans); each key is timed from
the key event reaching the app until the first frame that shows its result (scripts/bench_tui.py's
FrameWatch, as for the other views). Baseline in the same run: the same keys with no spans arriving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_store import fill, requests  # noqa: E402
from bench_tui import FrameWatch  # noqa: E402

from kubespan.metrics.live import live_metrics  # noqa: E402
from kubespan.otlp.decode import decode_request  # noqa: E402
from kubespan.tui.factory import local_app  # noqa: E402

KEYS = ["down", "down", "pagedown", "up", "o", "o", "O", "home", "end", "home"]
"""Cursor moves and sort changes; each waits for the frame showing the new cursor or order."""


def feeder(store, table, rate: int, stop: threading.Event, batch: int, fed: dict) -> None:  # noqa: ANN001
    """Feed `rate` spans/s in batches on a fixed schedule, as the receivers would, until `stop`;
    `fed` gets the spans stored and the seconds taken (the rate achieved)."""
    payloads = list(requests("demo", rate * 2, batch, seed=7))
    interval = batch / rate
    index = 0
    began = time.perf_counter()
    while not stop.is_set():
        decoded, _ = decode_request(payloads[index % len(payloads)], table)
        store.consume_traces(decoded)
        index += 1
        fed["spans"] = fed.get("spans", 0) + batch
        time.sleep(max(0.0, began + index * interval - time.perf_counter()))
    fed["seconds"] = time.perf_counter() - began


async def time_keys(store, view: str, rounds: int) -> list[float]:  # noqa: ANN001 - a SpanStore
    app = local_app(store)
    out = []
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("4" if view == "services" else "5")
        widget = app.pane(view)
        rows_of = widget if view == "services" else widget.edge_list
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not rows_of.row_count():  # the first numbers
            await pilot.pause(0.1)
        await pilot.pause()
        watch = FrameWatch(app)
        for _ in range(rounds):
            for key in KEYS:
                if view == "graph" and key in ("o", "O"):
                    continue
                done = _expected(key, rows_of)
                if done():  # nothing would change on screen (the cursor is already there)
                    continue
                out.append(1000 * await watch.timed(key, done))
    return out


def _expected(key: str, widget):  # noqa: ANN001, ANN202 - a LineList; returns a condition
    """The state that shows `key` was handled: where the cursor must be, or the new sort."""
    cursor, last = widget.cursor, widget.row_count() - 1
    sort = (getattr(widget, "sort_column", ""), getattr(widget, "descending", False))
    if key in ("o", "O"):
        return lambda: (widget.sort_column, widget.descending) != sort
    target = {"down": min(cursor + 1, last), "up": max(cursor - 1, 0), "home": 0, "end": last}.get(key)
    if target is None:  # pagedown
        return lambda: widget.cursor > cursor or widget.cursor == last
    return lambda: widget.cursor == target


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (f"median {statistics.median(ordered):.1f} ms, p90 {ordered[int(len(ordered) * 0.9) - 1]:.1f} ms, "
            f"max {ordered[-1]:.1f} ms ({len(ordered)} keys)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()
    store, table, *_ = fill("demo", args.spans, args.batch)
    store.writer.max_spans = args.spans
    t0 = time.perf_counter()
    live_metrics(store).refresh()
    print(f"# bench_metrics_tui: {args.spans:,} spans; first count of the live metrics "
          f"{(time.perf_counter() - t0) * 1000:.0f} ms (a worker does it when the view opens)\n")
    for view in ("services", "graph"):
        quiet = asyncio.run(time_keys(store, view, args.rounds))
        stop = threading.Event()
        fed: dict = {}
        feed = threading.Thread(target=feeder, args=(store, table, args.rate, stop, args.batch, fed), daemon=True)
        feed.start()
        try:
            busy = asyncio.run(time_keys(store, view, args.rounds))
        finally:
            stop.set()
            feed.join()
        print(f"- {view}: no spans arriving (baseline): {summary(quiet)}")
        achieved = fed.get("spans", 0) / max(fed.get("seconds", 1.0), 1e-9)
        print(f"- {view}: {args.rate:,} spans/s asked ({achieved:,.0f} achieved), refreshing every second: "
              f"{summary(busy)}")


if __name__ == "__main__":
    main()
