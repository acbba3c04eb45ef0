#!/usr/bin/env python
"""Benchmark `kubespan attach`: keypress latency over a local kubespan API holding 1M spans, against the
local viewer over the same store in the same run.

    python scripts/bench_tui.py --attach [--spans 1000000] [--rate 20000] [--repeat 40]
    python scripts/bench_attach.py [same options]

A second process plays the daemon (`kubespan serve --api` in the other pane): it fills a store with
`--spans` spans of bench_tui's kubelet/containerd template, serves kubespan's query API on
127.0.0.1 and feeds `--rate` spans/s into the store meanwhile. This process runs the viewer headless
over a `RemoteSource` on that API (160×48, `--refresh` seconds between searches) and times each key
from the key event to the first rendered frame that shows its result, as bench_tui does. Then, as
the baseline of the same run, the local viewer (`kubespan`) over a store of the same size here takes
the same keys, then the Services (4) and Graph (5) views' keys. Target (issue): attach's keypress
p90 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from bench_tui import BatchFactory, Feeder, FrameWatch, fill, wait_until  # noqa: E402

from kubespan.pipeline import Pipeline  # noqa: E402
from kubespan.stats import Counters  # noqa: E402

TARGET_S = 0.150


class RecentFactory(BatchFactory):
    """bench_tui's template traces as real requests (ids and times rewritten in the protobuf, then decoded,
    so the API's trace-by-id answers hold them too), the last filled copy starting now."""

    def __init__(self, pipeline: Pipeline, spans: int) -> None:
        from bench_tui import template_request
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        self.pipeline = pipeline
        self.templates = [ExportTraceServiceRequest.FromString(template_request(i)) for i in range(8)]
        self.count = 0
        self.offset = time.time_ns() - 1_700_000_000_000_000_000 - (spans // 1000 + 1) * 1_000_000_000

    def next(self):  # type: ignore[no-untyped-def]
        from kubespan.otlp.decode import decode_request

        self.count += 1
        request = type(self.templates[0])()
        request.CopyFrom(self.templates[self.count % len(self.templates)])
        prefix = self.count.to_bytes(12, "big")
        # filled copies a second apart up to now; copies fed later start when they are fed
        shift = min(self.offset + self.count * 1_000_000_000, time.time_ns() - 1_700_000_000_000_000_000)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    span.trace_id = prefix + span.trace_id[12:]
                    span.start_time_unix_nano += shift
                    span.end_time_unix_nano += shift
        return decode_request(request.SerializeToString(), self.pipeline.table)[0]


def serve(args: argparse.Namespace) -> int:
    """The daemon side: a filled store, kubespan's API on it and a live feed, until stdin closes."""
    from kubespan.api import ApiSettings
    from kubespan.api.component import ApiComponent
    from kubespan.receive.settings import ReceiverSettings
    from kubespan.store import SpanStore

    counters = Counters()
    pipeline = Pipeline(counters=counters)
    store = SpanStore(pipeline.table, max_spans=args.spans, counters=counters)
    store.index_ahead()
    pipeline.add_consumer(store)
    factory = RecentFactory(pipeline, args.spans)
    fill(pipeline, factory, args.spans)
    share = {} if args.api_cpu_share is None else {"cpu_share": args.api_cpu_share}
    api = ApiComponent(ApiSettings(address="127.0.0.1:0", explicit=True, **share), ReceiverSettings(), counters,
                       store)
    address = api.start()
    feeder = Feeder(pipeline, factory, args.rate)
    feeder.start()
    print(f"READY {address} {len(store)}", flush=True)
    sys.stdin.read()
    feeder.stop.set()
    api.stop()
    waits = f"api_cpu_waits {counters.get('api_cpu_waits')} ({counters.get('api_cpu_wait_ms'):,} ms)"
    print(f"{feeder.fed:,} spans fed meanwhile, {counters.get('api_requests'):,} API requests, {waits}", flush=True)
    os._exit(0)  # the store's and the API's threads need no orderly exit here


async def keys(app, args, results: dict[str, list[float]]) -> None:
    """The keypresses, timed; the same for both viewers."""
    watch = FrameWatch(app)
    tl = app.trace_list

    def add(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    def below(rows: int):
        want = min(tl.row_count() - 1, tl.cursor + rows)
        return lambda: tl.cursor == want

    def searched(search):
        return lambda: app.search is not search and tl.result_search is app.search and not tl.searching

    for _ in range(args.repeat):
        add("cursor down", await watch.timed("down", below(1)))
        if args.verbose:
            print(f"cursor down {results['cursor down'][-1] * 1000:.0f} ms: cursor {tl.cursor} of {tl.row_count()}")
    for _ in range(args.repeat // 4):
        add("page down", await watch.timed("pagedown", below(tl.page_rows)))
    for _ in range(args.repeat // 4):
        add("open trace (enter)", await watch.timed(
            "enter", lambda: app.view == "trace" and app.focused is app.waterfall))
        want = min(app.waterfall.cursor + 1, len(app.waterfall.lines) - 1)
        add("waterfall cursor down", await watch.timed("down", lambda want=want: app.waterfall.cursor == want, 5))
        add("back (escape)", await watch.timed("escape", lambda: app.view == "traces" and app.focused is tl))
        add("cursor down", await watch.timed("down", below(1)))
    for index in range(args.repeat // 4):
        app.filter_bar.input.value = f"k8s.pod=ns-{index % 7}/pod-{index * 13 % 400}"
        app.filter_bar.input.focus()
        await asyncio.sleep(0.05)
        add("filter (enter → results shown)", await watch.timed("enter", searched(app.search)))
    app.filter_bar.input.value = ""
    app.filter_bar.input.focus()
    await asyncio.sleep(0.05)
    add("clear filter (enter → all traces)", await watch.timed("enter", searched(app.search)))
    tl.focus()
    for _ in range(4):
        add("sort (o → list re-sorted)", await watch.timed("o", lambda: tl.result is not None and not tl.searching))
    add("pause (p)", await watch.timed("p", lambda: app.paused))
    add("resume (p)", await watch.timed("p", lambda: not app.paused))
    await metrics_keys(app, args, watch, add)


async def metrics_keys(app, args, watch, add) -> None:
    """The Services (4) and Graph (5) views: first numbers, switching back and forth, a filter narrowing
    the Services numbers and its clearing (each waits for the numbers, which a remote has to ask for).
    A key whose result does not show within its timeout is recorded as that timeout (`>` in the report)."""
    services, graph = app.pane("services"), app.pane("graph")

    async def bounded(key: str, condition, timeout: float = 30.0) -> float:
        try:
            return await watch.timed(key, condition, timeout)
        except TimeoutError:
            return float(timeout)

    def only(service: str):
        return lambda: services.rows and all(row.service == service for row in services.rows)

    add("services first (4 → numbers)", await bounded(
        "4", lambda: app.view == "services" and services.row_count() > 0, 120))
    add("graph first (5 → edges)", await bounded(
        "5", lambda: app.view == "graph" and graph.edge_list.row_count() > 0, 120))
    for _ in range(max(1, args.repeat // 4)):
        add("services (4 → numbers)", await bounded("4", lambda: app.view == "services"
                                                        and services.row_count() > 0))
        add("graph (5 → edges)", await bounded("5", lambda: app.view == "graph"
                                                   and graph.edge_list.row_count() > 0))
    await bounded("4", lambda: app.view == "services")
    for index in range(max(1, args.repeat // 8)):
        service = ("containerd", "kubelet")[index % 2]
        app.filter_bar.input.value = f"service={service}"
        app.filter_bar.input.focus()
        await asyncio.sleep(0.05)
        add("services filter (enter → numbers)", await bounded("enter", only(service), 60))
    app.filter_bar.input.value = ""
    app.filter_bar.input.focus()
    await asyncio.sleep(0.05)
    add("services clear filter (enter → numbers)", await bounded(
        "enter", lambda: len({row.service for row in services.rows}) > 1, 60))


async def run(app, args) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    started = time.perf_counter()
    async with app.run_test(size=(160, 48)):
        await wait_until(lambda: app.trace_list.row_count() > 0, timeout=120)
        results["first rows on screen"] = [time.perf_counter() - started]
        await keys(app, args, results)
    return results


def attach_viewer(address: str, args):
    from kubespan.query import compile_query
    from kubespan.remote.settings import RemoteSettings
    from kubespan.tui.attach_app import AttachApp
    from kubespan.tui.format import Clock
    from kubespan.tui.source.remote import RemoteSource

    source = RemoteSource(RemoteSettings(f"http://{address}", limit=args.limit), compile_query=compile_query,
                          refresh_s=args.refresh, tz=timezone.utc)
    return AttachApp(source, clock=Clock(tz=timezone.utc)), source


def local_viewer(args):
    from kubespan.query import compile_query
    from kubespan.store import SpanStore
    from kubespan.tui.factory import local_app
    from kubespan.tui.format import Clock

    counters = Counters()
    pipeline = Pipeline(counters=counters)
    store = SpanStore(pipeline.table, max_spans=args.spans, counters=counters)
    store.index_ahead()
    pipeline.add_consumer(store)
    factory = BatchFactory(pipeline)
    fill(pipeline, factory, args.spans)
    feeder = Feeder(pipeline, factory, args.rate)
    app = local_app(store, compile_query=compile_query, counters=counters, clock=Clock(tz=timezone.utc),
                    addresses={"grpc": "127.0.0.1:4317"})
    return app, feeder


def report(attach: dict[str, list[float]], local: dict[str, list[float]], fed: str) -> None:
    print(f"\nremote store: {fed}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("latency = key sent -> first frame with the result; baseline = the local viewer, same keys, same run")
    print(f"{'measure':40} {'n':>4} {'attach p50':>11} {'attach p90':>11} {'local p90':>10} {'ratio':>6}  target")
    for name, values in attach.items():
        values = sorted(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        base = sorted(local.get(name, [float("nan")]))
        base90 = base[min(len(base) - 1, int(len(base) * 0.9))]
        target = 1.5 if name.startswith("first") else TARGET_S
        verdict = "ok" if p90 <= target else "MISSED"
        print(f"{name:40} {len(values):4d} {statistics.median(values) * 1000:9.1f}ms {p90 * 1000:9.1f}ms "
              f"{base90 * 1000:8.1f}ms {p90 / base90:6.2f}  {target * 1000:.0f}ms {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=20_000, help="spans/s fed into the remote store meanwhile")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--limit", type=int, default=500, help="attach's --limit")
    parser.add_argument("--refresh", type=float, default=2.0, help="attach's --refresh")
    parser.add_argument("--api-cpu-share", type=float, default=None,
                        help="the remote API's --api-cpu-share (default: kubespan's, 0.02; 0: no CPU budget)")
    parser.add_argument("--verbose", action="store_true", help="print each cursor-down time")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args)
    share = [] if args.api_cpu_share is None else ["--api-cpu-share", str(args.api_cpu_share)]
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", "--spans", str(args.spans),
                              "--rate", str(args.rate), *share], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout is not None and child.stdin is not None
    line = child.stdout.readline().split()
    if not line or line[0] != "READY":
        print("the API process did not start", file=sys.stderr)
        return 1
    address, stored = line[1], int(line[2])
    app, source = attach_viewer(address, args)
    try:
        attach = asyncio.run(run(app, args))
    finally:
        source.close()
        child.stdin.close()
    fed = f"{child.stdout.read().strip()}; the viewer sent {source.client.requests:,} requests"
    child.wait(30)
    app, feeder = local_viewer(args)
    feeder.start()
    started = time.perf_counter()
    try:
        local = asyncio.run(run(app, args))
    finally:
        feeder.stop.set()
    seconds = time.perf_counter() - started
    report(attach, local, f"{stored:,} spans, {fed} (local baseline fed {feeder.fed / seconds:,.0f} spans/s)")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench-attach"
    sys.exit(main())
