"""End to end: the k8s fixture sent by the official OpenTelemetry SDK's OTLP exporter into kubespan's
receiver, then read back as Tempo's metrics answers (`kubespan metrics` as a process, over a dump of
what was received) and as the viewer's Services and Graph views."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.metrics.live import LiveMetrics
from kubespan.service.options import ServiceOptions, service_config
from kubespan.service.service import Service
from tests.metrics.conftest import fixture_store
from tests.metrics.golden import LIST, diff_series
from tests.metrics.sdk_fixture import readable_spans
from tests.support.golden_tempo import load_capture, load_cases, load_golden
from tests.support.k8s_fixture import fixture_bounds, load_fixture
from tests.tui.helpers import wait_for

SPANS = 3116
CLI_CASES = ("rate-by-service", "rate-by-service-unaligned", "quantile-duration-by-name",
             "histogram-duration-by-service", "topk-by-name", "math-error-ratio", "instant-quantiles",
             "compare-range", "count-since")
"""Golden cases whose parameters `kubespan metrics` takes as options (start, end or since, step)."""


def export_with_sdk(address: str, shift_ns: int) -> None:
    spans = readable_spans(load_fixture(shift_ns))
    assert len(spans) == SPANS
    exporter = GrpcExporter(endpoint=address, insecure=True, timeout=10)
    try:
        for first in range(0, len(spans), 512):
            assert exporter.export(spans[first:first + 512]) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


@pytest.fixture(scope="module")
def received():
    """A running service whose store holds the fixture as the SDK sent it, at the golden capture's time."""
    service = Service(service_config(ServiceOptions(grpc="127.0.0.1:0", http=None, store=True, max_spans=10_000)))
    service.start()
    try:
        export_with_sdk(service.addresses["grpc"], load_capture(LIST).shift_ns)
        deadline = time.monotonic() + 30
        while len(service.store) < SPANS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(service.store) == SPANS
        yield service
    finally:
        service.shutdown()


@pytest.fixture(scope="module")
def received_dump(tmp_path_factory):
    """The fixture as the SDK sent it, written by the receiver's own dump writer (`kubespan serve --dump`)."""
    path = tmp_path_factory.mktemp("e2e") / "received.jsonl"
    service = Service(service_config(ServiceOptions(grpc="127.0.0.1:0", http=None, dump=str(path))))
    service.start()
    try:
        export_with_sdk(service.addresses["grpc"], load_capture(LIST).shift_ns)
    finally:
        service.shutdown()
    assert sum(1 for _ in path.open()) > 0
    return path


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_over_what_the_sdk_sent_gives_tempos_answer(received_dump, name):
    case = next(c for c in load_cases(LIST) if c.name == name)
    path, params = case.resolved(load_capture(LIST))
    values = dict(params)
    command = [sys.executable, "-m", "kubespan", "metrics", values["q"], str(received_dump), "--json",
               "--end", values["end"]]
    for option in ("start", "since", "step"):
        if option in values:
            command += [f"--{option}", values[option]]
    if path.endswith("/query"):
        command.append("--instant")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    tempo = load_golden(LIST, name)["json"]
    ours = json.loads(done.stdout)
    if name.startswith("compare-"):  # compare() answers are checked series by series in test_tempo_golden
        assert {s["labels"][0]["value"]["stringValue"] for s in ours["series"]} == {
            s["labels"][0]["value"]["stringValue"] for s in tempo["series"]}
        return
    assert not diff_series(ours, tempo)


def test_stored_spans_are_the_fixture(received):
    """Nothing lost or changed on the way: the RED numbers and edges equal those of the fixture read
    straight into a store."""
    direct = LiveMetrics(fixture_store(load_capture(LIST).shift_ns).snapshot)
    via_sdk = LiveMetrics(received.store.snapshot)
    lo, hi = fixture_bounds(load_fixture(load_capture(LIST).shift_ns))
    for live in (direct, via_sdk):
        live.refresh()
    assert via_sdk.rows(lo, hi + 1) == direct.rows(lo, hi + 1)
    edges = {(e.edge.client, e.edge.server, e.edge.connection): e.calls for e in via_sdk.edges(lo, hi + 1)}
    assert edges == {(e.edge.client, e.edge.server, e.edge.connection): e.calls for e in direct.edges(lo, hi + 1)}
    assert edges[("kubelet", "containerd", "")] == 355
    assert edges[("kubelet", "apiserver", "link")] == 25


async def test_sdk_spans_arriving_show_in_the_services_and_graph_views():
    """Live: spans exported while the viewer runs appear in views 4 and 5 within a refresh."""
    from kubespan.tui.factory import local_app

    service = Service(service_config(ServiceOptions(grpc="127.0.0.1:0", http=None, store=True, max_spans=10_000)))
    service.start()
    try:
        app = local_app(service.store, counters=service.counters, addresses=service.addresses)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("4")
            services = app.pane("services")
            assert services.row_count() == 0
            lo, hi = fixture_bounds(load_fixture(0))
            shift = time.time_ns() - 30 * 1_000_000_000 - hi  # the fixture's last span 30 s ago
            export_with_sdk(service.addresses["grpc"], shift)
            await wait_for(pilot, lambda: {r.service for r in services.rows if r.is_service}
                           == {"apiserver", "containerd", "etcd", "kubelet"}, timeout=30, what="services")
            assert services.window_text.startswith("last 5m00s") and "of spans" not in services.window_text
            kubelet = next(r for r in services.rows if r.is_service and r.service == "kubelet")
            assert kubelet.rate > 0 and kubelet.p99 >= kubelet.p90 >= kubelet.p50 > 0
            await pilot.press("5")
            edges = app.pane("graph").edge_list
            await wait_for(pilot, lambda: edges.row_count() > 0, timeout=30, what="edges")
            calls = {(e.edge.client, e.edge.server): e.calls for e in edges.edges}
            assert calls[("kubelet", "containerd")] == 355 and calls[("apiserver", "etcd")] == 251
    finally:
        service.shutdown()
