"""`kubespan --demo`: the simulated cluster reaches the viewer through the real gRPC receiver."""

from __future__ import annotations

import argparse

from kubespan.cli import tui
from kubespan.cli.config import service_options
from kubespan.cli.main import build_parser
from kubespan.k8s.feed import DemoFeed, loopback_endpoint
from kubespan.query import compile_query
from kubespan.service.options import service_config
from kubespan.service.service import Service
from tests.tui.conftest import make_app
from tests.tui.helpers import ready, screen_text, wait_for


def demo_runtime(*flags: str) -> tuple[argparse.Namespace, Service]:
    args = build_parser().parse_args(["--demo", "--grpc", "127.0.0.1:0", "--http", "off", *flags])
    runtime = Service(service_config(service_options(args, {"store": True})))
    runtime.start()
    return args, runtime


def test_demo_flags_parse():
    args = build_parser().parse_args(["--demo", "--demo-rate", "500"])
    assert args.run is tui.run and args.demo and args.demo_rate == 500
    assert build_parser().parse_args([]).demo is False


def test_demo_needs_a_plaintext_grpc_receiver():
    def problem(*flags: str) -> str | None:
        args = build_parser().parse_args(["--demo", *flags])
        return tui.demo_problem(args, service_options(args))

    assert problem() is None
    assert "--grpc off" in problem("--grpc", "off")
    assert "--tls-cert" in problem("--tls-cert", "c.pem", "--tls-key", "k.pem")
    plain = build_parser().parse_args(["--grpc", "off"])
    assert tui.demo_problem(plain, service_options(plain)) is None


def test_wildcard_addresses_are_dialled_on_loopback():
    assert loopback_endpoint("0.0.0.0:4317") == "127.0.0.1:4317"
    assert loopback_endpoint("[::]:4317") == "[::1]:4317"
    assert loopback_endpoint("127.0.0.1:5000") == "127.0.0.1:5000"


async def test_demo_fills_the_viewer_through_the_receiver():
    args, runtime = demo_runtime("--demo-rate", "2000", "--token", "s3cret")
    feed = tui.start_demo(args, runtime)
    try:
        assert isinstance(feed, DemoFeed) and feed.token == "s3cret"
        app = make_app(store=runtime.store, pipeline=runtime.pipeline, counters=runtime.counters, label="demo")
        async with app.run_test(size=(120, 36)) as pilot:
            await ready(pilot, app)
            await wait_for(pilot, lambda: len(runtime.store) >= 200, timeout=20, what="demo spans in the store")
            rows = runtime.store.span_rows(runtime.store.search(compile_query("service=kubelet")))
            assert rows and {row.service for row in rows} == {"kubelet"}
            services = {row.service for row in runtime.store.span_rows(runtime.store.search())}
            assert {"apiserver", "kubelet", "containerd"} <= services
            await wait_for(pilot, lambda: app.trace_list.row_count() > 0, what="traces on screen")
            assert "demo" in screen_text(app)
    finally:
        stats = feed.stop()
        runtime.shutdown()
    assert stats["spans"] >= 200 and runtime.counters.snapshot()["received_spans"] == stats["spans"]
