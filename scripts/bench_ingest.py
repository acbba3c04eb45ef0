"""Ingest benchmark: `kubespan serve` against a bare parse-and-count receiver, in one run.

Each variant runs as its own server process on 127.0.0.1; the same client processes
send the same pre-built k8s-like requests to each for the same time. The machine is
noisy, so only ratios measured in one run mean much.

    python scripts/bench_ingest.py --seconds 10 --clients 4 --batch 512
    python scripts/bench_ingest.py --variants bare,serve,serve-inprocess,serve-2workers,serve-nostore,jsonl

The first variant is the baseline the others are compared with.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time

import grpc

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SCRIPTS = os.path.dirname(os.path.abspath(__file__))
SERVE = [sys.executable, "-m", "kubespan", "serve", "--grpc", "127.0.0.1:0", "--http", "off"]
VARIANTS = {
    "bare": [sys.executable, os.path.join(SCRIPTS, "bare_receiver.py")],
    "serve": SERVE,  # the defaults: full index, decode workers as --decode-workers says
    "serve-inprocess": SERVE + ["--decode-workers", "0"],
    "serve-2workers": SERVE + ["--decode-workers", "2"],
    "serve-nostore": SERVE + ["--max-spans", "0"],
    "serve-nostore-2workers": SERVE + ["--max-spans", "0", "--decode-workers", "2"],
    "jsonl": SERVE + ["--jsonl"],
    "jsonl-2workers": SERVE + ["--jsonl", "--decode-workers", "2"],
}


def client(address: str, payloads: list[bytes], spans_per: int, seconds: float, gzip: bool, out) -> None:
    channel = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(EXPORT)
    compression = grpc.Compression.Gzip if gzip else None
    sent = errors = 0
    latencies = []
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            call(payloads[index % len(payloads)], timeout=30, compression=compression)
            sent += spans_per
        except grpc.RpcError:
            errors += 1
        latencies.append(time.perf_counter() - began)
        index += 1
    out.put((sent, errors, latencies))


def start_server(command: list[str]) -> tuple[subprocess.Popen, str]:
    stdout = subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        found = re.search(r"grpc listening on (\S+)", line)
        if found:
            return process, found.group(1)
    raise RuntimeError(f"{command} did not start")


def stop_server(process: subprocess.Popen) -> dict:
    process.send_signal(signal.SIGINT)
    summary = {}
    for line in process.stderr:
        if line.startswith("{"):
            summary = json.loads(line)
    process.wait(timeout=60)
    return summary


def run_variant(name: str, payloads: list[bytes], spans_per: int, args) -> dict:
    process, address = start_server(VARIANTS[name])
    queue = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(target=client, args=(address, payloads, spans_per, args.seconds, args.gzip, queue))
        for _ in range(args.clients)
    ]
    began = time.perf_counter()
    for worker in clients:
        worker.start()
    results = [queue.get() for _ in clients]
    elapsed = time.perf_counter() - began
    for worker in clients:
        worker.join()
    summary = stop_server(process)
    latencies = sorted(latency for _, _, lat in results for latency in lat)
    sent = sum(result[0] for result in results)
    return {
        "variant": name,
        "spans_per_s": sent / elapsed,
        "errors": sum(result[1] for result in results),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0,
        "server_received": summary.get("received_spans"),
        "server_rss_mb": (summary.get("rss_bytes") or 0) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--variants", default="bare,serve,serve-nostore,jsonl",
                        help=f"comma-separated, from: {', '.join(VARIANTS)}")
    args = parser.parse_args()
    from kubespan.k8s.demo import load_batch

    payloads = load_batch(args.batch * 40, seed=1, batch_size=args.batch)
    rows = [run_variant(name, payloads, args.batch, args) for name in args.variants.split(",")]
    base = rows[0]["spans_per_s"]
    width = max(map(len, VARIANTS))
    print(f"{'variant':<{width}} {'spans/s':>10} {'vs ' + rows[0]['variant']:>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'rss MB':>7}")
    for row in rows:
        print(f"{row['variant']:<{width}} {row['spans_per_s']:>10,.0f} {row['spans_per_s'] / base:>8.2f} "
              f"{row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['errors']:>6} {row['server_rss_mb']:>7.0f}")
    print(f"(clients={args.clients} batch={args.batch} gzip={args.gzip} seconds={args.seconds} cores={os.cpu_count()})")


if __name__ == "__main__":
    main()
