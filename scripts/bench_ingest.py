"""Ingest benchmark: `kubespan serve` against a bare parse-and-count receiver, in one run.

Each variant runs as its own server process on 127.0.0.1; the same client processes
send the same pre-built k8s-like requests to each for the same time. The machine is
noisy, so only ratios measured in one run mean much.

    python scripts/bench_ingest.py --seconds 10 --clients 4 --batch 512 --rounds 3
    python scripts/bench_ingest.py --variants bare,serve,serve-2workers,serve-pure,serve-nostore,jsonl,jsonl-pure
    python scripts/bench_ingest.py --data high-cardinality --rounds 3 --variants bare,serve,jsonl
    python scripts/bench_ingest.py --variants bare,serve@base,serve,jsonl@base,jsonl --base-tree /tmp/kubespan-base

The first variant is the baseline the others are compared with. These machines are noisy
(the same run can vary by a quarter): `--rounds N` interleaves N runs of every variant and
prints medians, and "cpu us/span" (kubespan's processes' CPU time per span) varies less.
A variant named `NAME@base` runs NAME from the checkout given by `--base-tree` (its compiled
decoder built in place: `python setup.py build_ext --inplace`), to compare two versions of
kubespan in one run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import time

import grpc

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
SCRIPTS = os.path.dirname(os.path.abspath(__file__))
SERVE = [sys.executable, "-m", "kubespan", "serve", "--grpc", "127.0.0.1:0", "--http", "off"]
PURE = {"KUBESPAN_PURE_PYTHON": "1"}
VARIANTS: dict[str, tuple[list[str], dict[str, str]]] = {
    "bare": ([sys.executable, os.path.join(SCRIPTS, "bare_receiver.py")], {}),
    "serve": (SERVE, {}),  # the defaults: full index, compiled decoder, decoding in this process
    "serve-2workers": (SERVE + ["--decode-workers", "2"], {}),
    "serve-pure": (SERVE, PURE),  # protobuf's accessors only, as without a C compiler (2 workers)
    "serve-pure-inprocess": (SERVE + ["--decode-workers", "0"], PURE),
    "serve-nostore": (SERVE + ["--max-spans", "0"], {}),
    "serve-nostore-pure": (SERVE + ["--max-spans", "0"], PURE),
    "jsonl": (SERVE + ["--jsonl"], {}),
    "jsonl-2workers": (SERVE + ["--jsonl", "--decode-workers", "2"], {}),
    "jsonl-pure": (SERVE + ["--jsonl"], PURE),
}
"""Name: (command, environment added). `serve-pure*` set KUBESPAN_PURE_PYTHON=1."""


def client(address: str, payloads: list[bytes], spans_per: int, seconds: float, gzip: bool, out,
           vary: tuple[int, int] | None = None) -> None:
    """Send `payloads` round-robin for `seconds`. With `vary=(index, clients)` (high-cardinality data),
    each pass rewrites the requests' epoch token, so no unique value is ever sent twice."""
    if vary is not None:
        from high_cardinality import vary as with_epoch
    channel = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(EXPORT)
    compression = grpc.Compression.Gzip if gzip else None
    sent = errors = 0
    latencies = []
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline:
        began = time.perf_counter()
        payload = payloads[index % len(payloads)]
        if vary is not None:
            payload = with_epoch(payload, 1 + vary[0] + vary[1] * (index // len(payloads)))
        try:
            call(payload, timeout=30, compression=compression)
            sent += spans_per
        except grpc.RpcError:
            errors += 1
        latencies.append(time.perf_counter() - began)
        index += 1
    out.put((sent, errors, latencies))


def start_server(command: list[str], env: dict[str, str] | None = None,
                 cwd: str | None = None) -> tuple[subprocess.Popen, str]:
    stdout = subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})}, cwd=cwd)
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
    variant, _, tree = name.partition("@")
    command, env = VARIANTS[variant]
    if tree:  # `python -m kubespan` imports kubespan from its working directory first
        command = [arg.replace(SCRIPTS, os.path.join(args.base_tree, "scripts")) for arg in command]
    process, address = start_server(command, env, cwd=args.base_tree if tree else None)
    queue = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(target=client, args=(
            address, payloads, spans_per, args.seconds, args.gzip, queue,
            (index, args.clients) if args.data == "high-cardinality" else None))
        for index in range(args.clients)
    ]
    servers = [process.pid, *child_pids(process.pid)]  # kubespan and its decode workers
    cpu_before = sum(map(cpu_seconds, servers))
    began = time.perf_counter()
    for worker in clients:
        worker.start()
    results = [queue.get() for _ in clients]
    elapsed = time.perf_counter() - began
    cpu = sum(map(cpu_seconds, servers)) - cpu_before
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
        "server_cpu_us_per_span": 1e6 * cpu / sent if sent else 0,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def median_row(runs: list[dict], base_runs: list[dict]) -> dict:
    """The median of each figure over rounds; the ratio is the median of each round's own ratio."""
    row = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "variant"}
    row["variant"] = runs[0]["variant"]
    row["ratio"] = statistics.median(run["spans_per_s"] / base["spans_per_s"] for run, base in zip(runs, base_runs))
    row["low"], row["high"] = min(run["spans_per_s"] for run in runs), max(run["spans_per_s"] for run in runs)
    return row


def make_payloads(data: str, batch: int, count: int = 40) -> list[bytes]:
    """`count` requests of `batch` spans of the chosen data."""
    if data == "demo":
        from kubespan.k8s.demo import load_batch

        return load_batch(batch * count, seed=1, batch_size=batch)
    sys.path.insert(0, SCRIPTS)
    module = __import__("high_cardinality" if data == "high-cardinality" else "k8s_like")
    return [raw for raw, _ in module.requests(batch * count, batch, seed=1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="run every variant this many times, interleaved")
    parser.add_argument("--variants", default="bare,serve,serve-nostore,jsonl",
                        help=f"comma-separated, from: {', '.join(VARIANTS)} (NAME@base: from --base-tree)")
    parser.add_argument("--base-tree", help="another kubespan checkout, for the NAME@base variants")
    parser.add_argument("--data", choices=("demo", "varied", "high-cardinality"), default="demo",
                        help="demo: kubespan.k8s.demo.load_batch (the default); varied: scripts/k8s_like.py; "
                             "high-cardinality: scripts/high_cardinality.py, a new epoch per pass (nothing repeats)")
    args = parser.parse_args()
    payloads = make_payloads(args.data, args.batch)
    names = args.variants.split(",")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(args.rounds):  # variants interleaved, so that each round shares the machine's mood
        for name in names:
            runs[name].append(run_variant(name, payloads, args.batch, args))
    rows = [median_row(runs[name], runs[names[0]]) for name in names]
    width = max(map(len, [*VARIANTS, *names]))
    print(f"{'variant':<{width}} {'spans/s':>10} {'vs ' + names[0]:>8} {'min-max spans/s':>17} {'cpu us/span':>11} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'rss MB':>7}")
    for row in rows:
        spread = f"{row['low'] / 1000:,.0f}k-{row['high'] / 1000:,.0f}k"
        print(f"{row['variant']:<{width}} {row['spans_per_s']:>10,.0f} {row['ratio']:>8.2f} {spread:>17} "
              f"{row['server_cpu_us_per_span']:>11.2f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} "
              f"{row['errors']:>6.0f} {row['server_rss_mb']:>7.0f}")
    print(f"(medians of {args.rounds} round(s); data={args.data} clients={args.clients} batch={args.batch} "
          f"gzip={args.gzip} "
          f"seconds={args.seconds} cores={os.cpu_count()})")


if __name__ == "__main__":
    main()
