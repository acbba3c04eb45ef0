"""The status footer: one line at any width, a dead forward target named until it recovers,
refused (unauthenticated) requests counted and warned about."""

from __future__ import annotations

import dataclasses

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcExporter,
)
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.forward.forwarder import Forwarder
from kubespan.forward.settings import ForwardSettings, RetrySettings
from kubespan.service.options import ServiceOptions, service_config
from kubespan.service.service import Service
from kubespan.tui.status_footer import StatusFooter
from tests.support.forward_helpers import GrpcBackend, free_port
from tests.support.otel_sdk import sdk_spans
from tests.tui import data
from tests.tui.conftest import make_app
from tests.tui.helpers import ready, wait_for

FAST_RETRY = RetrySettings(initial_interval=0.02, max_interval=0.05, max_elapsed_time=0)


def footer_lines(app) -> list[str]:
    footer = app.query_one(StatusFooter)
    return [strip.text.rstrip() for strip in footer.render_lines(footer.region.reset_offset)]


def busy_counters(app) -> None:
    for name, value in (("forward_sent_spans", 123_456), ("forward_queue_spans", 1200), ("forward_retries", 42),
                        ("forward_dropped_spans", 3), ("forward_failed_spans", 7), ("evicted_spans", 9000),
                        ("rejected_spans", 5), ("unauthenticated_requests", 0)):
        app.source.counters.add(name, value)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_footer_is_one_line_at_80_and_160_columns(size):
    app = make_app(data.cluster())
    app.label = "/var/log/kubespan/a-rather-long-directory-name/spans-from-the-cluster.jsonl"
    busy_counters(app)
    app.source.forward_status = lambda: [{"target": "grpc://jaeger:4317 (gzip)", "failing": True, "queue_spans": 1200},
                                  {"target": "http://tempo.observability.svc.cluster.local:4318/v1/traces (gzip)",
                                   "failing": False, "queue_spans": 0}]
    async with app.run_test(size=size) as pilot:
        await ready(pilot, app)
        app._update_status(app.source.status())  # what the next poll reads
        await pilot.pause()
        lines = footer_lines(app)
        assert len(lines) == 1, lines
        assert app.query_one(StatusFooter).region.height == 1
        line = lines[0]
        assert len(line) <= size[0]
        assert "following" in line and "→ jaeger:4317 unreachable (retrying, 1.2k queued)" in line
        if size[0] >= 160:
            assert "stored 66" in line and "spans/s" in line and "dropped 3" in line
            recovered = {"target": "grpc://jaeger:4317 (gzip)", "failing": False, "queue_spans": 0}
            app.source.forward_status = lambda: [recovered]
            app._update_status(app.source.status())  # what the next poll reads
            await pilot.pause()
            [line] = footer_lines(app)
            assert "unreachable" not in line and "gRPC 127.0.0.1:4317 HTTP 127.0.0.1:4318" in line


async def test_dead_forward_target_is_named_until_it_recovers():
    port = free_port()
    app = make_app(data.cluster())
    settings = dataclasses.replace(ForwardSettings.from_url(f"grpc://127.0.0.1:{port}"), retry=FAST_RETRY, timeout=1.0)
    forwarder = Forwarder(settings, app.source.counters, log=lambda message: None)
    app.pipeline.add_consumer(forwarder)
    app.source.forward_status = lambda: [forwarder.status()]
    backend = GrpcBackend(port)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await ready(pilot, app)
            for raw in data.sync_pod_trace(40, "default/late"):
                app.pipeline.export_traces(raw)
            unreachable = f"→ 127.0.0.1:{port} unreachable (retrying, "
            await wait_for(pilot, lambda: unreachable in footer_lines(app)[0], what="unreachable target")
            assert "queued)" in footer_lines(app)[0]
            backend.start()
            await wait_for(pilot, lambda: backend.counting.wait_for(7, timeout=0) or False, what="delivery")
            await wait_for(pilot, lambda: "unreachable" not in footer_lines(app)[0], what="recovery")
            assert f"→ 127.0.0.1:{port}" not in footer_lines(app)[0]
    finally:
        forwarder.close(1)
        backend.stop()


async def test_refused_requests_show_a_count_and_a_warning():
    runtime = Service(service_config(ServiceOptions(grpc="127.0.0.1:0", http=None, token="right-token",
                                                    store=True, max_spans=1000)))
    runtime.start()
    try:
        exporter = GrpcExporter(endpoint=runtime.addresses["grpc"], insecure=True, timeout=5)
        for _ in range(3):
            assert exporter.export(sdk_spans()) == SpanExportResult.FAILURE
        exporter.shutdown()
        from kubespan.tui.factory import local_app

        app = local_app(runtime.store, counters=runtime.counters, addresses=runtime.addresses)
        async with app.run_test(size=(80, 24)) as pilot:
            # the counters are read on a worker: the footer grows to the warning line once laid out again
            await wait_for(pilot, lambda: len(footer_lines(app)) > 1, what="warning line")
            text = " ".join(footer_lines(app))
            assert "refused 3" in text
            assert "3 requests refused: missing or wrong bearer token" in text
    finally:
        runtime.shutdown()
