#!/usr/bin/env python3
"""Misbehaving clients against `kubespan serve`: does everyone else still get served promptly?

Starts `kubespan serve` (gRPC and HTTP on loopback), measures a well-behaved client's Export
latency over both transports alone, then again while these run at the same time:

* `--idle` idle connections to each receiver (HTTP/1.1 keep-alive after one request, HTTP/2
  after the preface), held open throughout;
* `--trickle` HTTP clients sending a request body one byte every `--gap` seconds;
* clients that hang up in the middle of a request body or gRPC message, `--hangups` per second.

    python scripts/bad_clients.py --idle 2000 --trickle 50 --seconds 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.forward_helpers import make_request  # noqa: E402
from tests.support.load_clients import (  # noqa: E402
    Probe,
    Trickle,
    grpc_abandon_mid_message,
    http_abandon_mid_body,
    idle_http,
    idle_http2,
)
from tests.support.serve_process import ServeProcess  # noqa: E402


def measure(probe: Probe, seconds: float) -> list[float]:
    """Export latencies (s) of back-to-back rounds (one gRPC and one HTTP export) for `seconds`."""
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.monotonic()
        probe.round(0)
        latencies.append((time.monotonic() - began) / 2)
    return latencies


def hang_ups(grpc_address: str, http_address: str, per_second: float, stop: threading.Event) -> list[int]:
    """Start a thread abandoning requests mid-body on both transports; returns a live counter."""
    done = [0]

    def run() -> None:
        while not stop.wait(1 / per_second):
            grpc_abandon_mid_message(grpc_address)
            http_abandon_mid_body(http_address)
            done[0] += 2

    threading.Thread(target=run, daemon=True).start()
    return done


def describe(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1)))]
    return (f"{name}: {len(ordered)} rounds, Export latency p50 {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=2000, help="idle connections per receiver (default 2000)")
    parser.add_argument("--trickle", type=int, default=50, help="HTTP clients trickling a body (default 50)")
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between trickled bytes (default 0.01)")
    parser.add_argument("--hangups", type=float, default=20.0, help="mid-request hang-ups per second (default 20)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of each measurement (default 20)")
    args = parser.parse_args(argv)
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--stats", "5")
    probe = Probe(server.addresses["grpc"], server.addresses["http"])
    stop = threading.Event()
    sockets, trickles = [], []
    try:
        print(describe("alone", measure(probe, args.seconds)), flush=True)
        sockets = idle_http(server.addresses["http"], args.idle) + idle_http2(server.addresses["grpc"], args.idle)
        body = make_request(20)
        trickles = [Trickle(server.addresses["http"], body, args.gap) for _ in range(args.trickle)]
        for trickle in trickles:
            trickle.start()
        hung = hang_ups(server.addresses["grpc"], server.addresses["http"], args.hangups, stop)
        print(f"{len(sockets)} idle connections open, {len(trickles)} bodies trickling "
              f"({len(body)} B at one byte per {args.gap} s), hang-ups running", flush=True)
        print(describe("with misbehaving clients", measure(probe, args.seconds)), flush=True)
        answered = [t.status for t in trickles if t.status is not None]
        print(f"hang-ups done: {hung[0]}; trickled requests answered: {len(answered)} "
              f"(statuses {sorted(set(answered))})")
    finally:
        stop.set()
        for trickle in trickles:
            trickle.stop.set()
        for sock in sockets:
            sock.close()
        probe.close()
        final = server.stop()
    shown = ("received_spans", "aborted_requests", "timed_out_requests", "invalid_requests")
    print("serve counters: " + ", ".join(f"{name} {final.get(name, 0)}" for name in shown)
          + f", rss {final['rss_bytes'] / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
