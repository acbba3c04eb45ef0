#!/usr/bin/env python3
"""Load generator for a local kubespan (or any OTLP/gRPC receiver) on the loopback interface.

Pre-builds serialized k8s-like requests with `kubespan.k8s.demo.load_batch`, then runs N
clients (threads or processes) that export them as fast as they can (or at --rate), and
prints spans sent per second and Export latency percentiles.

    python scripts/loadgen.py --target 127.0.0.1:4317 --clients 4 --batch 512 --spans 200000
    python scripts/loadgen.py --target 127.0.0.1:4317 --processes --batch 50 --gzip --duration 30
"""

from __future__ import annotations

import argparse
import ipaddress
import multiprocessing as mp
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubespan.k8s.demo import load_batch  # noqa: E402
from kubespan.k8s.send import send  # noqa: E402

POOL_BATCHES = 400  # requests pre-built per client in --duration mode, then reused round-robin


def loopback_target(target: str) -> str:
    """`target` if it is HOST:PORT on the loopback interface, else ValueError."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"target must be HOST:PORT, got {target!r}")
    host = host.strip("[]")
    if host != "localhost":
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"refusing non-loopback target {target!r}: use 127.0.0.1, ::1 or localhost")
    return target


def _client(args: argparse.Namespace, index: int, results: mp.Queue | list, ready) -> None:
    """Build this client's requests, wait for the others (`ready` barrier), then send."""
    per_client = args.spans // args.clients + (1 if index < args.spans % args.clients else 0) if args.spans else 0
    n = per_client or POOL_BATCHES * args.batch
    batches = load_batch(n, seed=args.seed + index, batch_size=args.batch, k8s_version=args.k8s_version)
    sizes = [min(args.batch, n - i * args.batch) for i in range(len(batches))]
    items = list(zip(batches, sizes))

    def stream():
        while True:
            yield from items
            if args.spans:
                return

    ready.wait()  # all clients start sending together, after building
    stats = send(
        args.target,
        stream(),
        rate=args.rate / args.clients if args.rate else None,
        duration=args.duration,
        gzip=args.gzip,
        token=args.token,
    )
    result = (stats.spans, stats.requests, stats.errors, stats.last_error, stats.elapsed_s, stats.latencies_s)
    if isinstance(results, list):
        results.append(result)
    else:
        results.put(result)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", default="127.0.0.1:4317", help="loopback HOST:PORT of the OTLP/gRPC receiver")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    p.add_argument("--processes", action="store_true", help="run clients as processes instead of threads")
    p.add_argument("--batch", type=int, default=512, help="spans per Export request (e.g. 512 or 50)")
    p.add_argument("--gzip", action="store_true", help="gzip-compress requests")
    p.add_argument("--token", help="bearer token to send")
    p.add_argument("--rate", type=float, help="total spans per second cap (default: as fast as possible)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--k8s-version", default="1.27", choices=["1.27", "1.36"])
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("--spans", type=int, help="total spans to send (default 100000)")
    stop.add_argument("--duration", type=float, help="seconds to send for (requests are reused)")
    args = p.parse_args(argv)
    try:
        loopback_target(args.target)
    except ValueError as err:
        p.error(str(err))
    if args.clients < 1 or args.batch < 1:
        p.error("--clients and --batch must be at least 1")
    if args.spans is None and args.duration is None:
        args.spans = 100_000

    t0 = time.monotonic()
    if args.processes:
        ctx = mp.get_context("spawn")  # gRPC does not survive fork
        queue = ctx.Queue()
        barrier = ctx.Barrier(args.clients)
        workers = [ctx.Process(target=_client, args=(args, i, queue, barrier)) for i in range(args.clients)]
        for w in workers:
            w.start()
        results = [queue.get() for _ in workers]
        for w in workers:
            w.join()
    else:
        results = []
        load_batch(0, k8s_version=args.k8s_version)  # build the span templates once, not in every thread
        barrier = threading.Barrier(args.clients)
        threads = [threading.Thread(target=_client, args=(args, i, results, barrier)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.monotonic() - t0

    spans = sum(r[0] for r in results)
    requests = sum(r[1] for r in results)
    errors = sum(r[2] for r in results)
    send_time = max((r[4] for r in results), default=0.0) or float("nan")
    latencies = [x for r in results for x in r[5]]
    print(
        f"target {args.target}  clients {args.clients} ({'processes' if args.processes else 'threads'})  "
        f"batch {args.batch}  gzip {'on' if args.gzip else 'off'}"
    )
    print(
        f"sent {spans} spans in {requests} requests, {errors} errors, {send_time:.2f}s sending "
        f"({wall:.2f}s with request building)"
    )
    print(f"throughput {spans / send_time:,.0f} spans/s")
    print(
        f"Export latency p50 {percentile(latencies, 50) * 1000:.2f} ms  p99 {percentile(latencies, 99) * 1000:.2f} ms"
    )
    if errors:
        last = next((r[3] for r in results if r[3]), "")
        print(f"last error: {last}", file=sys.stderr)
    return 1 if errors and not spans else 0


if __name__ == "__main__":
    raise SystemExit(main())
