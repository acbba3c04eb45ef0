#!/usr/bin/env python
"""Benchmark the TUI: first frame and keypress latency with 1M spans stored and 20k spans/s arriving.

    python scripts/bench_tui.py [--spans 1000000] [--rate 20000] [--samples 30]
    python scripts/bench_tui.py --data high-cardinality [--clients 4] [--samples 30]
    python scripts/bench_tui.py --attach [--spans 1000000] [--rate 20000]   (scripts/bench_attach.py)

With `--data high-cardinality` the store is filled with `scripts/high_cardinality.py` spans
through the pipeline, and the live traffic is real: the viewer's gRPC receiver, started as
`kubespan` starts it, takes requests from `--clients` processes as fast as it answers, while
the keys are pressed. The bare parse-and-count receiver is fed by the same clients before
and after, and the ingest rate with the viewer open is given as a ratio to it.

The store is filled by feeding the pipeline pre-decoded batches (a 1,000-span
template whose trace ids are rewritten per copy), then the app runs headless
(`App.run_test`) while a background thread feeds `--rate` spans/s. Each keypress is
timed from the key event being sent to the app's driver until the first rendered
frame (`App._display` with a compositor update) taken once the expected state holds,
so it is "keypress until the result is on screen". (`pilot.press`/`pilot.pause` are
not used for timing: they wait for the whole process to go idle, which it never does
with spans arriving.) Each key is pressed `--samples` times (filters from `FILTERS`, each
cleared again), so its p90 is read from that many presses. Attribute-table compactions are
timed too (each holds the GIL for most of its ~1 s at 1M high-cardinality spans, stopping
the viewer with every other thread); a second table gives each key's figures over the
presses that overlapped none. Targets: first frame 1.5 s, keypress 100 ms (p90).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import threading
import time
from datetime import timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import numpy as np  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status  # noqa: E402

from kubespan.model import SpanColumns, TraceBatch  # noqa: E402
from kubespan.otlp.decode import decode_request  # noqa: E402
from kubespan.pipeline import Pipeline  # noqa: E402
from kubespan.stats import Counters  # noqa: E402

TEMPLATE_TRACES = 143  # x 7 spans = 1001 spans per batch
KEYPRESS_TARGET = 0.100
OPEN_TIMEOUT = 10.0
"""A trace not shown by then counts as a press of this long (and the run goes on)."""
FIRST_FRAME_TARGET = 1.5


def _kv(key, value):
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def template_request(seed: int) -> bytes:
    """~1,000 spans: kubelet syncPod traces with CRI calls and containerd under them."""
    request = ExportTraceServiceRequest()
    kubelet = request.resource_spans.add()
    kubelet.resource.attributes.extend([_kv("service.name", "kubelet"), _kv("host.name", "node-1")])
    kubelet_spans = kubelet.scope_spans.add()
    kubelet_spans.scope.name = "k8s.io/kubernetes/pkg/kubelet"
    containerd = request.resource_spans.add()
    containerd.resource.attributes.extend([_kv("service.name", "containerd")])
    containerd_spans = containerd.scope_spans.add()
    base = 1_700_000_000_000_000_000
    for t in range(TEMPLATE_TRACES):
        trace_id = bytes(12) + t.to_bytes(4, "big")
        start = base + t * 7_000_000
        pod = f"ns-{t % 7}/pod-{(seed * 31 + t) % 400}"

        def span(s, name, parent=None, offset=0, dur=1_000_000, kind=1, error=False, attrs=(),
                 trace_id=trace_id, t=t, start=start):
            sp = Span(trace_id=trace_id, span_id=(t * 16 + s + 1).to_bytes(8, "big"), name=name, kind=kind,
                      start_time_unix_nano=start + offset, end_time_unix_nano=start + offset + dur,
                      attributes=[_kv(k, v) for k, v in attrs])
            if parent is not None:
                sp.parent_span_id = (t * 16 + parent + 1).to_bytes(8, "big")
            if error:
                sp.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
            return sp

        error = t % 29 == 0
        kubelet_spans.spans.extend([
            span(0, "syncPod", dur=6_000_000, attrs=[("k8s.pod", pod)], error=error),
            span(1, "runtime.v1.RuntimeService/RunPodSandbox", 0, 100_000, 2_000_000, 3,
                 attrs=[("rpc.method", "RunPodSandbox")]),
            span(2, "runtime.v1.ImageService/PullImage", 0, 2_200_000, 2_000_000, 3, error=error,
                 attrs=[("rpc.method", "PullImage")]),
            span(3, "runtime.v1.RuntimeService/CreateContainer", 0, 4_300_000, 1_000_000, 3),
        ])
        containerd_spans.spans.extend([
            span(11, "runtime.v1.RuntimeService/RunPodSandbox", 1, 150_000, 1_800_000, 2),
            span(12, "runtime.v1.ImageService/PullImage", 2, 2_250_000, 1_900_000, 2, error=error),
            span(13, "pkg.cri.server.CreateContainer", 3, 4_350_000, 900_000),
        ])
    return request.SerializeToString()


class BatchFactory:
    """Decode a few templates once; each `next()` is a copy with fresh trace ids."""

    def __init__(self, pipeline: Pipeline, templates: int = 8) -> None:
        self.batches = [decode_request(template_request(i), pipeline.table)[0] for i in range(templates)]
        self.count = 0

    def next(self) -> TraceBatch:
        template = self.batches[self.count % len(self.batches)]
        self.count += 1
        packed = template.spans.packed()
        trace_ids = np.frombuffer(packed.trace_id, np.uint8).reshape(-1, 16).copy()
        trace_ids[:, :12] = np.frombuffer(self.count.to_bytes(12, "big"), np.uint8)
        shift = np.uint64(self.count * 1_000_000_000)  # one second per copy: newest copy = newest traces
        copy = dataclasses.replace(packed, trace_id=trace_ids.tobytes(), start=packed.start + shift,
                                   end=packed.end + shift)
        return TraceBatch(template.raw, template.resources, template.scopes, SpanColumns(packed=copy),
                          template.resource_spans_count, template.storage)


def fill(pipeline: Pipeline, factory: BatchFactory, spans: int) -> float:
    started = time.perf_counter()
    done = 0
    while done < spans:
        batch = factory.next()
        pipeline.consume(batch)
        done += batch.span_count
    return time.perf_counter() - started


class Feeder(threading.Thread):
    """Feeds `rate` spans/s in 1,000-span batches, like busy receivers would."""

    def __init__(self, pipeline: Pipeline, factory: BatchFactory, rate: int) -> None:
        super().__init__(daemon=True)
        self.pipeline, self.factory, self.rate = pipeline, factory, rate
        self.stop = threading.Event()
        self.fed = 0

    def run(self) -> None:
        started = time.perf_counter()
        while not self.stop.is_set():
            due = (time.perf_counter() - started) * self.rate
            if self.fed < due:
                batch = self.factory.next()
                self.pipeline.consume(batch)
                self.fed += batch.span_count
            else:
                self.stop.wait(0.005)


async def wait_until(condition, timeout=30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.005)


FILTERS = {
    "template": [f"k8s.pod=ns-{i % 7}/pod-{i * 13 % 400}" for i in range(8)],
    "high-cardinality": ["http.status_code=500", "http.method=DELETE", "k8s.node.name=k3d-cluster-agent-1",
                         "status=error", "retry.count=3"],
}
"""What `filter` applies in turn (values that occur in each data set); each is cleared again."""

KEY_CHARS = {"enter": "\r", "escape": "\x1b", "down": None, "pagedown": None, "up": None, "home": None}


class FrameWatch:
    """Wraps `App._display` (called with each rendered compositor update) to timestamp
    the first frame rendered once a condition holds: that frame shows the result."""

    def __init__(self, app) -> None:
        self.app = app
        self.hooks: list = []
        self.frames = 0
        self.cpu: dict[str, list[float]] = {}
        self.last_cpu = 0.0
        self.last_interval = (0.0, 0.0)
        original = app._display

        def display(screen, renderable):
            original(screen, renderable)
            if renderable is not None:
                self.frames += 1
                for hook in list(self.hooks):
                    hook()

        app._display = display

    async def timed(self, key: str, condition=lambda: True, timeout: float = 30.0) -> float:
        from textual import events

        done = asyncio.Event()
        box = {}

        def hook():
            if "t" not in box and condition():
                box["t"] = time.perf_counter()
                box["cpu"] = time.thread_time()
                done.set()

        self.hooks.append(hook)
        cpu_started = time.thread_time()
        started = time.perf_counter()
        event = events.Key(key, KEY_CHARS.get(key, key if len(key) == 1 else None))
        event.set_sender(self.app)
        self.app._driver.send_message(event)
        try:
            await asyncio.wait_for(done.wait(), timeout)
        except asyncio.TimeoutError:
            app = self.app
            raise TimeoutError(f"{key}: not done in {timeout} s (view {app.view}, focus {app.focused}, "
                               f"notifications {[n.message for n in app._notifications]})") from None
        finally:
            self.hooks.remove(hook)
        await asyncio.sleep(0.05)  # typing pace between keys
        self.cpu.setdefault(key, []).append(box["cpu"] - cpu_started)
        self.last_cpu = box["cpu"] - cpu_started
        self.last_interval = (started, box["t"])
        return box["t"] - started


def safe_row(store, trace_list, look: int = 400) -> int:
    """A row near the cursor whose trace is far from eviction. `high_cardinality.vary` keeps the
    timestamps, so every pass sends the same starts, and a partly evicted old copy of a trace
    (its start now that of its later spans) sorts above the newest: opening it finds it gone."""
    reader = store.reader()
    margin = reader.snap.floor + len(reader.snap) // 5
    result = trace_list.result
    for index in range(trace_list.cursor, min(result.total, trace_list.cursor + look)):
        ordinals = reader.trace_ordinals(result.key(index))
        if ordinals and min(ordinals) > margin:
            return index
    return trace_list.cursor


def time_compactions(store) -> list[tuple[float, float]]:
    """(start, end) of every attribute-table compaction from now on: it holds the GIL for most of its
    ~1 s at 1M high-cardinality spans, so no thread runs, the viewer's included."""
    compactions: list[tuple[float, float]] = []
    writer = store.writer
    compact = writer._compact_attributes

    def timed() -> None:
        started = time.perf_counter()
        try:
            compact()
        finally:
            compactions.append((started, time.perf_counter()))

    writer._compact_attributes = timed
    return compactions


async def run_app(store, counters, args) -> dict[str, list[float]]:
    from kubespan.query import compile_query
    from kubespan.tui.factory import local_app
    from kubespan.tui.format import Clock

    results: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    results["_cpu"] = cpu  # type: ignore[assignment]
    intervals: dict[str, list[tuple[float, float]]] = {}
    results["_intervals"] = intervals  # type: ignore[assignment]
    results["_compactions"] = time_compactions(store)  # type: ignore[assignment]
    started = time.perf_counter()
    app = local_app(store, compile_query=compile_query, counters=counters, clock=Clock(tz=timezone.utc),
                    addresses={"grpc": "127.0.0.1:4317"})
    first: dict[str, float] = {}
    original_display = app._display

    def display(screen, renderable):
        original_display(screen, renderable)
        if renderable is not None:
            first.setdefault("frame", time.perf_counter() - started)
            if "rows" not in first:
                try:
                    if app.trace_list.row_count():
                        first["rows"] = time.perf_counter() - started
                except Exception:
                    pass

    app._display = display
    async with app.run_test(size=(160, 48)):
        await wait_until(lambda: "rows" in first)
        results["first frame"] = [first["frame"]]
        results["first rows on screen"] = [first["rows"]]
        app._display = original_display
        watch = FrameWatch(app)

        def add(name, value):
            results.setdefault(name, []).append(value)
            cpu.setdefault(name, []).append(watch.last_cpu)
            intervals.setdefault(name, []).append(watch.last_interval if value < OPEN_TIMEOUT else (0.0, 0.0))

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        tl = app.trace_list

        def below(rows: int):
            """The cursor moved `rows` down (by index: a live re-search may change the ids under it)."""
            want = min(tl.row_count() - 1, tl.cursor + rows)
            return lambda: tl.cursor == want

        def searched(kind: str, search):
            """The `kind` list shows the answer to a filter newer than `search`."""
            shown = app.trace_list if kind == "traces" else app.span_list
            return lambda: app.search is not search and shown.result_search is app.search

        samples = args.samples
        for _ in range(samples):
            add("cursor down", await watch.timed("down", below(1)))
        for _ in range(samples):
            add("page down", await watch.timed("pagedown", below(tl.page_rows)))
        for _ in range(samples):  # from the top each time: a held list's traces age out of a busy store
            shown = tl.result
            add("top (home: the list catches up)", await watch.timed(
                "home", lambda shown=shown: tl.cursor == 0 and tl.result is not shown))
            add("cursor down", await watch.timed("down", below(1)))
            tl.move_cursor(safe_row(store, tl), announce=False)  # not timed
            await asyncio.sleep(0.05)
            try:
                add("open trace (enter)", await watch.timed(
                    "enter", lambda: app.view == "trace" and app.focused is app.waterfall, OPEN_TIMEOUT))
            except TimeoutError as failed:  # counted at the timeout (a miss), and said
                print(failed)
                add("open trace (enter)", OPEN_TIMEOUT)
                continue
            want = min(app.waterfall.cursor + 1, app.waterfall.row_count() - 1)
            add("waterfall cursor down", await watch.timed("down", lambda want=want: app.waterfall.cursor == want, 5))
            add("back (escape)", await watch.timed(
                "escape", lambda: app.view == "traces" and app.focused is app.trace_list))
        filters = FILTERS[args.data]
        for index in range(samples):
            for text, name in ((filters[index % len(filters)], "filter (enter → results shown)"),
                               ("", "clear filter (enter → all traces)")):
                app.filter_bar.input.value = text
                app.filter_bar.input.focus()
                await asyncio.sleep(0.05)
                add(name, await watch.timed("enter", searched("traces", app.search)))
        for _ in range(samples):
            other = "spans" if app.list_view == "traces" else "traces"
            shown = app.trace_list if other == "traces" else app.span_list
            add("toggle spans/traces (t → list shown)", await watch.timed(
                "t", lambda other=other, shown=shown: app.view == other and shown.result_search is app.search
                and shown.row_count() > 0))
        if app.list_view != "traces":
            await watch.timed("t", lambda: app.view == "traces")
        for _ in range(samples):
            add("pause (p)", await watch.timed("p", lambda: app.paused))
            add("resume (p)", await watch.timed("p", lambda: not app.paused))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
    return results


def report(results: dict[str, list[float]], feeder: Feeder, seconds: float, stored: int) -> None:
    cpu = results.pop("_cpu")
    intervals = results.pop("_intervals")
    compactions = results.pop("_compactions")
    print(f"\nstore: {stored:,} spans; live feed {feeder.fed / max(seconds, 1e-9):,.0f} spans/s during the run;"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("latency = key sent -> first frame rendered with the result; ui cpu = UI-thread CPU time in between")
    print(f"{'measure':40} {'n':>4} {'median':>9} {'p90':>9} {'max':>9} {'ui cpu':>9}  target")
    for name, values in results.items():
        values = sorted(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        target = FIRST_FRAME_TARGET if name.startswith("first") else KEYPRESS_TARGET
        verdict = "ok" if p90 <= target else "MISSED"
        used = f"{statistics.median(cpu[name]) * 1000:7.1f}ms" if name in cpu else "        -"
        print(f"{name:40} {len(values):4d} {statistics.median(values) * 1000:8.1f}ms {p90 * 1000:8.1f}ms "
              f"{values[-1] * 1000:8.1f}ms {used}  {target * 1000:.0f}ms {verdict}")
    print(f"\nattribute-table compactions during the keys: {len(compactions)}, "
          f"{sum(end - start for start, end in compactions):.1f} s in all (each stops every thread)")
    print(f"{'measure (presses during no compaction)':40} {'n':>4} {'median':>9} {'p90':>9}  of n")
    for name, values in results.items():
        clear = sorted(value for value, (start, end) in zip(values, intervals.get(name, []))
                       if end and not any(start < c_end and c_start < end for c_start, c_end in compactions))
        if name in intervals and clear:
            p90 = clear[min(len(clear) - 1, int(len(clear) * 0.9))]
            print(f"{name:40} {len(clear):4d} {statistics.median(clear) * 1000:8.1f}ms {p90 * 1000:8.1f}ms"
                  f"  {len(values)}")


def main() -> int:
    if "--attach" in sys.argv[1:]:  # the viewer over a remote API: its own script, the same keys
        import bench_attach

        return bench_attach.main([arg for arg in sys.argv[1:] if arg != "--attach"])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=30, help="timed presses of each key")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the UI thread during the keypresses")
    parser.add_argument("--data", choices=("template", "high-cardinality"), default="template")
    parser.add_argument("--clients", type=int, default=4, help="with --data high-cardinality")
    parser.add_argument("--bare-seconds", type=float, default=8.0, help="each bare-receiver run")
    args = parser.parse_args()
    if args.data == "high-cardinality":
        return main_live(args)

    from kubespan.store import SpanStore

    counters = Counters()
    pipeline = Pipeline(counters=counters)
    store = SpanStore(pipeline.table, max_spans=args.spans, counters=counters)
    indexer = store.index_ahead()  # as `kubespan` does
    pipeline.add_consumer(store)
    factory = BatchFactory(pipeline)
    took = fill(pipeline, factory, args.spans)
    indexer.wait()
    print(f"filled {len(store):,} spans in {took:.1f}s")
    feeder = Feeder(pipeline, factory, args.rate)
    feeder.start()
    started = time.perf_counter()
    results = asyncio.run(run_app(store, counters, args))
    seconds = time.perf_counter() - started
    feeder.stop.set()
    feeder.join()
    report(results, feeder, seconds, len(store))
    return 0


def main_live(args) -> int:
    """The viewer following real high-cardinality gRPC traffic, against the bare receiver."""
    import live_feed

    from kubespan.service.options import ServiceOptions, service_config
    from kubespan.service.service import Service

    bare = [live_feed.bare_rate(args.clients, args.bare_seconds)]
    runtime = Service(service_config(ServiceOptions(grpc="127.0.0.1:0", http=None, store=True, max_spans=args.spans)))
    indexer = runtime.store.index_ahead()
    took = live_feed.fill(runtime.pipeline, args.spans)
    indexer.wait()
    print(f"filled {len(runtime.store):,} high-cardinality spans in {took:.1f}s")
    address = runtime.start()["grpc"]
    clients = live_feed.Clients(address, args.clients)
    received = lambda: runtime.counters.get("received_spans")  # noqa: E731
    clients.start()
    try:  # a failed keypress must not leave the receiver and the clients running (the process would not exit)
        time.sleep(2.0)  # clients connected and sending
        before, started = received(), time.perf_counter()
        results = asyncio.run(run_app(runtime.store, runtime.counters, args))
        seconds = time.perf_counter() - started
        rate = (received() - before) / seconds
    finally:
        clients.stop()
        runtime.shutdown()
    bare.append(live_feed.bare_rate(args.clients, args.bare_seconds))

    class Fed:
        fed = rate * seconds

    report(results, Fed, seconds, len(runtime.store))
    baseline = live_feed.median(bare)
    print(f"ingest with the viewer open and following: {rate:,.0f} spans/s over {seconds:.0f} s; bare receiver "
          f"{' / '.join(f'{b:,.0f}' for b in bare)} spans/s (before / after) -> ratio {rate / baseline:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
