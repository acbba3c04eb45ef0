#!/usr/bin/env python3
"""Soak: N client processes export pre-encoded OTLP/gRPC requests to `kubespan serve` with its
store at a memory budget, for a while, as fast as the machine allows (or at --rate).

Reports resident memory over time against the budget, Export latency p50/p99 and errors by
kind (deliberate back-pressure, UNAVAILABLE "… is full, retry later", counted apart).

    python scripts/soak.py                       # 8 clients, 10 minutes, 256 MB store budget
    python scripts/soak.py --duration 180 --budget-mb 128 --json soak.json

Memory is read from `kubespan serve --stats 1` (`rss_bytes` plus its decode workers'
`decode_workers_rss_bytes`, and `store_memory_bytes`).
The budget bounds the store; the process also holds the interpreter, gRPC and numpy, so
"RSS above idle" (RSS minus the RSS measured before any traffic) is what is held against it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
BACKPRESSURE = "backpressure"
POOL_REQUESTS = 48
"""Requests pre-built per client, then sent round-robin (ids repeat; the store does not mind)."""
P99_TARGET_S = 0.200
RSS_TOLERANCE = 0.10


@dataclass
class ClientResult:
    """What one client process saw."""

    spans: int = 0
    requests: int = 0
    sent_at: list[float] = field(default_factory=list)  # seconds since the common start
    latencies: list[float] = field(default_factory=list)  # seconds, successful Exports only
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class SoakReport:
    """Everything measured in one soak run."""

    clients: int
    duration_s: float
    budget_bytes: int
    idle_rss: int
    samples: list[dict]  # serve's --stats lines, with "t" seconds since the start
    spans: int
    requests: int
    latencies: list[float]
    sent_at: list[float]
    errors: dict[str, int]
    final: dict

    def percentile(self, q: float, values: list[float] | None = None) -> float:
        data = sorted(self.latencies if values is None else values)
        return data[min(len(data) - 1, int(round(q / 100 * (len(data) - 1))))] if data else float("nan")

    def loaded_samples(self) -> list[dict]:
        """Samples taken once the store had reached its budget (eviction started)."""
        return [s for s in self.samples if s.get("evicted_spans", 0) > 0]


def classify(error) -> str:
    """An error kind: back-pressure apart from every other gRPC status."""
    code = error.code().name if hasattr(error, "code") else type(error).__name__
    if code == "UNAVAILABLE" and "retry later" in (error.details() or ""):
        return BACKPRESSURE
    return code


def client_main(index: int, target: str, seconds: float, batch: int, rate: float | None, ready, out) -> None:
    """One client process: build requests, wait for the others, export until the time is up."""
    import grpc

    from kubespan.k8s.demo import load_batch

    pool = load_batch(POOL_REQUESTS * batch, seed=1000 + index, batch_size=batch)
    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
    export = channel.unary_unary(EXPORT)
    result = ClientResult()
    errors: Counter = Counter()
    ready.wait()
    start = time.monotonic()
    while (now := time.monotonic() - start) < seconds:
        if rate and result.spans / rate > now:  # paced: wait for this request's slot
            time.sleep(min(result.spans / rate - now, seconds - now))
            continue
        began = time.monotonic()
        try:
            export(pool[result.requests % len(pool)], timeout=30)
        except grpc.RpcError as error:
            errors[classify(error)] += 1
            continue
        result.sent_at.append(began - start)
        result.latencies.append(time.monotonic() - began)
        result.requests += 1
        result.spans += batch
    channel.close()
    result.errors = dict(errors)
    out.put(asdict(result))


def _stats_lines(server) -> list[dict]:
    """serve's stats lines, `rss_bytes` made the whole server's: its own plus its decode workers'."""
    lines = [json.loads(line) for line in list(server.stderr_lines) if line.startswith("{")]
    for line in lines:
        line["rss_bytes"] = line.get("rss_bytes", 0) + line.get("decode_workers_rss_bytes", 0)
    return lines


def run_soak(seconds: float, *, clients: int = 8, budget_mb: float = 256, batch: int = 512,
             rate: float | None = None, serve_args: tuple[str, ...] = (),
             progress: Callable[[str], None] | None = None) -> SoakReport:
    """Start `kubespan serve`, run the clients for `seconds`, stop it and gather the figures."""
    from tests.support.serve_process import ServeProcess

    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--max-memory-mib", str(budget_mb),
                          "--stats", "1", *serve_args)
    try:
        server.wait_stderr(lambda line: line.startswith("{"))
        results, started, idle_rss = _run_clients(server, seconds, clients, batch, rate, progress)
        final = server.stop()
    finally:
        server.kill()
    samples = [dict(s, t=s["uptime_s"] - started) for s in _stats_lines(server)
               if started < s["uptime_s"] <= started + seconds + 1]
    errors: Counter = Counter()
    for result in results:
        errors.update(result["errors"])
    return SoakReport(
        clients=clients, duration_s=seconds, budget_bytes=int(budget_mb * 1024 * 1024), idle_rss=idle_rss,
        samples=samples, spans=sum(r["spans"] for r in results), requests=sum(r["requests"] for r in results),
        latencies=[x for r in results for x in r["latencies"]], sent_at=[x for r in results for x in r["sent_at"]],
        errors=dict(errors), final=final,
    )


def _run_clients(server, seconds: float, clients: int, batch: int, rate: float | None,
                 progress: Callable[[str], None] | None) -> tuple[list[dict], float, int]:
    """Run the client processes; return their results, the serve uptime at the start, idle RSS."""
    ctx = mp.get_context("spawn")  # gRPC does not survive fork
    ready, out = ctx.Barrier(clients + 1), ctx.Queue()
    per_client = rate / clients if rate else None
    target = server.addresses["grpc"]
    workers = [ctx.Process(target=client_main, args=(i, target, seconds, batch, per_client, ready, out))
               for i in range(clients)]
    for worker in workers:
        worker.start()
    try:
        ready.wait(timeout=300)
        idle = _stats_lines(server)[-1]
        started = idle["uptime_s"]  # serve's clock, within one stats period of the start
        if progress:
            progress(f"{clients} clients sending for {seconds:.0f} s; idle RSS {idle['rss_bytes'] / 2**20:.0f} MiB")
        results = [out.get(timeout=seconds + 120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    return results, started, idle["rss_bytes"]


def check(report: SoakReport, *, p99_s: float = P99_TARGET_S, tolerance: float = RSS_TOLERANCE,
          rss_slack_bytes: int = 0) -> list[str]:
    """The soak's promises; an empty list when all hold. `rss_slack_bytes` allows for the
    working set outside the store (in-flight requests), which matters for small budgets."""
    problems = []
    budget = report.budget_bytes
    loaded = report.loaded_samples()
    if not loaded:
        problems.append("the store never reached its budget (no eviction)")
    above_idle = max((s["rss_bytes"] - report.idle_rss for s in report.samples), default=0)
    if above_idle > budget * (1 + tolerance) + rss_slack_bytes:
        problems.append(f"RSS above idle peaked at {above_idle / 2**20:.0f} MiB, budget {budget / 2**20:.0f} MiB")
    store_peak = max((s.get("store_memory_bytes", 0) for s in report.samples), default=0)
    if store_peak > budget:
        problems.append(f"store estimate {store_peak} B exceeded the budget {budget} B")
    low = [s for s in loaded if s.get("store_memory_bytes", 0) < budget * (1 - tolerance)]
    if low:
        problems.append(f"store fell below {1 - tolerance:.0%} of its budget once full: {len(low)} samples")
    if report.percentile(99) > p99_s:
        problems.append(f"Export latency p99 {report.percentile(99) * 1000:.0f} ms over {p99_s * 1000:.0f} ms")
    others = {kind: n for kind, n in report.errors.items() if kind != BACKPRESSURE}
    if others:
        problems.append(f"errors beyond back-pressure: {others}")
    if not report.spans:
        problems.append("no span was accepted")
    return problems


def timeline(report: SoakReport, rows: int = 12) -> list[str]:
    """A table of RSS, store memory, throughput and latency per time window."""
    width = report.duration_s / rows
    mib = 2**20
    lines = [f"{'t (s)':>7} {'RSS MiB':>8} {'above idle':>10} {'store MiB':>9} {'budget %':>8} "
             f"{'stored':>9} {'spans/s':>9} {'p50 ms':>7} {'p99 ms':>7}"]
    batch = report.spans // report.requests if report.requests else 0
    for row in range(rows):
        lo, hi = row * width, (row + 1) * width
        window = [lat for at, lat in zip(report.sent_at, report.latencies) if lo <= at < hi]
        near = [s for s in report.samples if lo <= s["t"] < hi] or [{}]
        sample = near[-1]
        rss, store = sample.get("rss_bytes", 0), sample.get("store_memory_bytes", 0)
        lines.append(
            f"{hi:7.0f} {rss / mib:8.0f} {(rss - report.idle_rss) / mib:10.0f} {store / mib:9.1f} "
            f"{100 * store / report.budget_bytes:8.1f} {sample.get('stored_spans', 0):9d} "
            f"{len(window) * batch / width:9.0f} {report.percentile(50, window) * 1000:7.1f} "
            f"{report.percentile(99, window) * 1000:7.1f}"
        )
    return lines


def summary(report: SoakReport) -> list[str]:
    mib = 2**20
    rss = [s["rss_bytes"] for s in report.samples]
    loaded = report.loaded_samples()
    store = [s.get("store_memory_bytes", 0) for s in loaded]
    return [
        f"clients {report.clients}, {report.duration_s:.0f} s, budget {report.budget_bytes / mib:.0f} MiB, "
        f"idle RSS {report.idle_rss / mib:.0f} MiB",
        f"accepted {report.spans:,} spans in {report.requests:,} requests "
        f"({report.spans / report.duration_s:,.0f} spans/s); serve counted {report.final.get('received_spans', 0):,}",
        f"RSS {min(rss, default=0) / mib:.0f}-{max(rss, default=0) / mib:.0f} MiB "
        f"(above idle: up to {(max(rss, default=0) - report.idle_rss) / mib:.0f} MiB)",
        f"store once full: {min(store, default=0) / mib:.1f}-{max(store, default=0) / mib:.1f} MiB "
        f"({len(loaded)} samples), evicted {report.final.get('evicted_spans', 0):,} spans",
        f"Export latency p50 {report.percentile(50) * 1000:.1f} ms, p99 {report.percentile(99) * 1000:.1f} ms, "
        f"max {max(report.latencies, default=0) * 1000:.0f} ms",
        f"errors by kind: {report.errors or 'none'}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (default 600)")
    parser.add_argument("--clients", type=int, default=8, help="client processes (default 8)")
    parser.add_argument("--budget-mb", type=float, default=256.0, help="serve --max-memory-mib (default 256)")
    parser.add_argument("--batch", type=int, default=512, help="spans per Export request (default 512)")
    parser.add_argument("--rate", type=float, help="total spans/s cap (default: as fast as possible)")
    parser.add_argument("--dump", metavar="FILE", help="also run serve with --dump FILE (/dev/null: "
                                                        "JSON encoding only), which can push back")
    parser.add_argument("--json", metavar="FILE", help="also write samples and figures as JSON")
    args = parser.parse_args(argv)
    report = run_soak(args.duration, clients=args.clients, budget_mb=args.budget_mb, batch=args.batch,
                      rate=args.rate, serve_args=("--dump", args.dump) if args.dump else (),
                      progress=lambda text: print(text, flush=True))
    print("\n".join(timeline(report) + [""] + summary(report)))
    problems = check(report)
    print("PASS" if not problems else "FAIL: " + "; ".join(problems))
    if args.json:
        figures = {k: v for k, v in asdict(report).items() if k not in ("latencies", "sent_at")}
        figures.update(p50_s=report.percentile(50), p99_s=report.percentile(99), problems=problems)
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
