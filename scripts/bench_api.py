"""Query API benchmark: answer times at 1,000,000 stored spans, and ingest while the API is queried.

    python scripts/bench_api.py latency --spans 1000000
    python scripts/bench_api.py ingest --seconds 10 --rounds 3 --preload 1000000
    flock /work/coord/bench.lock python scripts/bench_api.py all

`latency`: a store holding `--spans` high-cardinality k8s-like spans (scripts/high_cardinality.py) plus
the k8s fixture (so the walkthrough's queries have their answers), served in-process on 127.0.0.1:0;
each request is timed over HTTP (median, p90 and max of `--runs`, after one warm-up). The baseline, in the
same run, is the store's own work for the same answer (a search on a reader, a trace's ordinals).
Targets (README): search equality `limit=20` ≤ 50 ms, trace by id ≤ 10 ms, tag values ≤ 50 ms.

`ingest`: a real `kubespan serve --api 127.0.0.1:0`, first filled with `--preload` spans, then fed by
`--clients` gRPC clients for `--seconds` (scripts/bench_ingest.py's clients and data) in three ways:
nobody querying (the baseline), a client searching every 100 ms, and `--api-max-queries` clients
running the worst query the limits allow back to back (`{ }` with `limit=33333` and `spss=3`: the
newest traces, as many spans as one answer may carry, 100,000, decoded and serialized). Rounds
interleave the variants; medians and ratios to the baseline are printed. Target: polling ≥ 0.9× the
baseline (and the worst query too). `--serve-args '--api-cpu-share 0'` measures without the budget;
`--variants echo,poll` adds a client polling /api/echo (the HTTP traffic without a query); `attach`
polls as `poll` does and asks /api/kubespan/status every 2 s as an attached viewer does, which keeps the
Services and Graph aggregates current (kubespan.api.warm), so its ratio includes their cost. Each result
also says the serve process's CPU per second and how long queries waited for the CPU budget.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(SCRIPTS)
for path in (SCRIPTS, ROOT):
    if path not in sys.path:
        sys.path.insert(0, path)

WALKTHROUGH = '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "default/echo-command" }'
POLL = '{ resource.service.name = "kubelet" && name = "syncPod" }'
WORST = {"q": "{ }", "limit": "33333", "spss": "3"}


def fetch(url: str, params: dict | None = None, timeout: float = 60.0) -> tuple[int, bytes, float]:
    full = url + ("?" + urllib.parse.urlencode(params) if params else "")
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(full, timeout=timeout) as answer:
            body = answer.read()
            status = answer.status
    except urllib.error.HTTPError as err:
        body, status = err.read(), err.code
    return status, body, time.perf_counter() - began


def timed(call, runs: int) -> tuple[float, float, float]:
    """(median, p90, max) of `runs` calls after one warm-up, in ms."""
    call()
    times = sorted(call() for _ in range(runs))
    return statistics.median(times) * 1000, times[int(0.9 * (len(times) - 1))] * 1000, times[-1] * 1000


def latency(args) -> list[str]:
    from high_cardinality import requests as high_cardinality

    from kubespan.otlp.attributes import new_attribute_table
    from kubespan.otlp.decode import decode_request
    from kubespan.query import compile_query
    from kubespan.store import SpanStore
    from tests.support.api_server import start_api
    from tests.support.k8s_fixture import BLOG_TRACE_ID, load_fixture

    table = new_attribute_table()
    store = SpanStore(table, max_spans=args.spans + 10_000)
    began = time.perf_counter()
    for raw, _ in high_cardinality(args.spans, 512, seed=1):
        store.consume_traces(decode_request(raw, table)[0])
    for req in load_fixture():
        store.consume_traces(decode_request(req.SerializeToString(), table)[0])
    print(f"loaded {len(store):,} spans in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    api = start_api(store)
    url = api.url
    walkthrough, poll = compile_query(WALKTHROUGH), compile_query(POLL)
    trace_id = bytes.fromhex(BLOG_TRACE_ID)
    cases = [
        ("search, walkthrough equality, limit=20", 50, lambda: fetch(url + "/api/search", {"q": WALKTHROUGH,
                                                                                          "limit": "20"})[2],
         lambda: _spent(lambda: store.reader().search(walkthrough))),
        ("search, service and name equality, limit=20", 50, lambda: fetch(url + "/api/search", {"q": POLL,
                                                                                               "limit": "20"})[2],
         lambda: _spent(lambda: store.reader().search(poll))),
        ("trace by id, v2 JSON (11 spans)", 10, lambda: fetch(url + f"/api/v2/traces/{BLOG_TRACE_ID}")[2],
         lambda: _spent(lambda: store.reader().trace_ordinals(trace_id))),
        ("trace by id, v1 protobuf", 10, lambda: _protobuf(url + f"/api/traces/{BLOG_TRACE_ID}"),
         lambda: _spent(lambda: store.reader().trace_ordinals(trace_id))),
        ("tag values, resource.service.name", 50,
         lambda: fetch(url + "/api/v2/search/tag/resource.service.name/values")[2],
         lambda: _spent(lambda: store.reader().tag_values("service.name", "resource"))),
        ("tag values, span.http.method", 50, lambda: fetch(url + "/api/v2/search/tag/span.http.method/values")[2],
         lambda: _spent(lambda: store.reader().tag_values("http.method", "span"))),
        ("tag values, span.k8s.pod (high cardinality)", 50,
         lambda: fetch(url + "/api/v2/search/tag/span.k8s.pod/values", {"limit": "100"})[2],
         lambda: _spent(lambda: store.reader().tag_values("k8s.pod", "span", limit=100))),
        ("tag values, span.k8s.pod.update_type with q", 50,
         lambda: fetch(url + "/api/v2/search/tag/span.k8s.pod.update_type/values",
                       {"q": '{ span.k8s.pod = "default/echo-command" }'})[2],
         lambda: _spent(lambda: store.reader().search(compile_query('{ span.k8s.pod = "default/echo-command" }')))),
        ("search, newest 500 traces ({ }, limit=500, spss=1: attach's list)", 0,
         lambda: fetch(url + "/api/search", {"q": "{ }", "limit": "500", "spss": "1"})[2],
         lambda: _spent(lambda: store.reader().trace_page(None, 0, 500))),
        ("Jaeger search, service only (limit=20, the Jaeger UI's first search)", 50,
         lambda: fetch(url + "/api/traces", {"service": "kubelet", "limit": "20"})[2],
         lambda: _spent(lambda: store.reader().search(compile_query('{ resource.service.name = "kubelet" }')))),
        ("Jaeger search, walkthrough", 50,
         lambda: fetch(url + "/api/traces", {"service": "kubelet", "operation": "syncPod",
                                              "tags": json.dumps({"k8s.pod": "default/echo-command"})})[2],
         lambda: _spent(lambda: store.reader().search(walkthrough))),
    ]
    rows = ["| request | API median ms | API p90 ms | API max ms | store work ms (baseline, median) | target ms |"
            "\n|---|---|---|---|---|---|"]
    for name, target, call, base in cases:
        median, p90, most = timed(call, args.runs)
        base_ms = timed(base, args.runs)[0]
        flag = " **over**" if target and median > target else ""
        p90_flag = " **over**" if target and p90 > target else ""
        rows.append(f"| {name} | {median:.1f}{flag} | {p90:.1f}{p90_flag} | {most:.1f} | {base_ms:.1f} | "
                    f"{target or '-'} |")
    waits = api.counters.get("api_cpu_waits")
    rows.append(f"\n{args.runs} timed requests per line after one warm-up; no spans arriving, so the CPU budget "
                f"is idle (api_cpu_waits {waits}); load average {os.getloadavg()[0]:.1f}")
    api.stop()
    return rows


def _spent(work) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def _protobuf(url: str) -> float:
    request = urllib.request.Request(url, headers={"Accept": "application/protobuf"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
    return time.perf_counter() - began


def _start_serve(preload: int, extra: list[str]) -> tuple[subprocess.Popen, str, str]:
    command = [sys.executable, "-m", "kubespan", "serve", "--grpc", "127.0.0.1:0", "--http", "off", "--api",
               "127.0.0.1:0", "--max-spans", str(max(preload, 1_000_000)), *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    grpc_address = api_address = ""
    for line in process.stderr:
        if found := re.search(r"OTLP/grpc listening on (\S+)", line):
            grpc_address = found.group(1)
        if found := re.search(r"query API \(Tempo, Jaeger\) listening on (\S+)", line):
            api_address = found.group(1)
        if grpc_address and api_address:
            return process, grpc_address, "http://" + api_address
    raise RuntimeError("kubespan serve did not start")


class Querier(threading.Thread):
    """Asks `params` of /api/search: every `every` seconds (start to start), or back to back if 0."""

    def __init__(self, url: str, params: dict, every: float, path: str = "/api/search") -> None:
        super().__init__(daemon=True)
        self.url, self.params, self.every, self.path = url, params, every, path
        self.stop = threading.Event()
        self.times: list[float] = []
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                status, _, spent = fetch(self.url + self.path, self.params, timeout=120)
            except OSError:  # the server stopped under a query at the end of the run
                break
            self.times.append(spent)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if self.every:
                self.stop.wait(max(0.0, self.every - (time.monotonic() - began)))


def preload(address: str, payloads: list[bytes], spans_per: int, total: int) -> None:
    """Fill the store with `total` spans before anything is timed."""
    import grpc
    from bench_ingest import EXPORT

    channel = grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 64 << 20)])
    call = channel.unary_unary(EXPORT)
    for index in range(0, total, spans_per):
        call(payloads[(index // spans_per) % len(payloads)], timeout=60)
    channel.close()


def ingest_once(variant: str, payloads: list[bytes], spans_per: int, args) -> dict:
    from bench_ingest import client, stop_server

    process, grpc_address, url = _start_serve(args.preload, args.serve_args.split())
    queue = multiprocessing.get_context("spawn").Queue()
    spawn = multiprocessing.get_context("spawn")  # no gRPC state is ever forked
    if args.preload:
        filler = spawn.Process(target=preload, args=(grpc_address, payloads, spans_per, args.preload))
        filler.start()
        filler.join()
    queriers = []
    if variant == "poll":
        queriers = [Querier(url, {"q": POLL, "limit": "20"}, 0.1)]
    elif variant == "echo":  # the HTTP traffic of polling, without a query
        queriers = [Querier(url, {}, 0.1, "/api/echo")]
    elif variant == "attach":  # an attached viewer: the poll, and kubespan's status (keeps the aggregates warm)
        queriers = [Querier(url, {"q": POLL, "limit": "20"}, 0.1), Querier(url, {}, 2.0, "/api/kubespan/status")]
    elif variant == "worst":
        queriers = [Querier(url, WORST, 0) for _ in range(args.api_max_queries)]
    for querier in queriers:
        querier.start()
    clients = [spawn.Process(target=client, args=(grpc_address, payloads, spans_per, args.seconds, False,
                                                            queue, None)) for _ in range(args.clients)]
    began, cpu_before = time.perf_counter(), _cpu_seconds(process.pid)
    for worker in clients:
        worker.start()
    results = [queue.get() for _ in clients]
    elapsed = time.perf_counter() - began
    serve_cpu = _cpu_seconds(process.pid) - cpu_before
    for worker in clients:
        worker.join()
    for querier in queriers:
        querier.stop.set()
    summary = stop_server(process)
    times = sorted(t for q in queriers for t in q.times)
    statuses: dict[int, int] = {}
    for querier in queriers:
        for status, count in querier.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return {"variant": variant, "spans_per_s": sum(r[0] for r in results) / elapsed,
            "queries": len(times), "query_p50_ms": 1000 * times[len(times) // 2] if times else 0,
            "query_p90_ms": 1000 * times[int(0.9 * (len(times) - 1))] if times else 0, "statuses": statuses,
            "stored": summary.get("stored_spans"), "api_requests": summary.get("api_requests"),
            "serve_cpu_per_s": serve_cpu / elapsed, "api_cpu_wait_ms": summary.get("api_cpu_wait_ms", 0)}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest(args) -> list[str]:
    from bench_ingest import make_payloads

    payloads = make_payloads("k8s-like", args.batch)
    variants = ["none", *args.variants.split(",")]
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for round_ in range(args.rounds):
        for variant in variants:
            result = ingest_once(variant, payloads, args.batch, args)
            runs[variant].append(result)
            print(f"round {round_ + 1} {variant}: {result}", file=sys.stderr)
    rows = ["| variant | spans/s (median) | ratio to none | queries | query p50 ms | query p90 ms | answers |",
            "|---|---|---|---|---|---|---|"]
    for variant in variants:
        ratios = [r["spans_per_s"] / b["spans_per_s"] for r, b in zip(runs[variant], runs["none"])]
        row = runs[variant][len(runs[variant]) // 2]
        rows.append(f"| {variant} | {statistics.median(r['spans_per_s'] for r in runs[variant]):,.0f} | "
                    f"{statistics.median(ratios):.2f} | {statistics.median(r['queries'] for r in runs[variant]):.0f}"
                    f" | {row['query_p50_ms']:.0f} | {row['query_p90_ms']:.0f} | {row['statuses']} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["latency", "ingest", "all"])
    parser.add_argument("--spans", type=int, default=1_000_000, help="stored spans for latency (default 1e6)")
    parser.add_argument("--runs", type=int, default=21, help="timed runs per request (default 21)")
    parser.add_argument("--seconds", type=float, default=10.0, help="ingest time per variant (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the ingest variants")
    parser.add_argument("--clients", type=int, default=2, help="gRPC client processes (default 2)")
    parser.add_argument("--batch", type=int, default=512, help="spans per request (default 512)")
    parser.add_argument("--preload", type=int, default=1_000_000, help="spans stored before ingest is timed")
    parser.add_argument("--api-max-queries", type=int, default=4, help="worst-query clients (default 4)")
    parser.add_argument("--variants", default="poll,worst", help="ingest variants besides the baseline 'none'")
    parser.add_argument("--serve-args", default="", help="more options for kubespan serve, e.g. '--api-cpu-share 0.2'")
    args = parser.parse_args()
    if args.what in ("latency", "all"):
        print("\n".join(latency(args)))
    if args.what in ("ingest", "all"):
        print("\n".join(ingest(args)))


if __name__ == "__main__":
    main()
