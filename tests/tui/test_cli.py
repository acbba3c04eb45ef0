"""`kubespan` with no subcommand is the viewer; `kubespan open FILE...` loads dumps."""

from __future__ import annotations

from kubespan.cli import serve, tui
from kubespan.cli.main import build_parser


def test_no_subcommand_runs_the_viewer_with_receiver_flags():
    args = build_parser().parse_args(["--grpc", "127.0.0.1:5317", "--http", "off", "--filter", "service=kubelet"])
    assert args.run is tui.run
    assert args.grpc == "127.0.0.1:5317" and args.http is None
    assert args.filter == "service=kubelet" and args.files == []
    assert args.max_spans == 1_000_000


def test_open_listens_only_when_asked():
    args = build_parser().parse_args(["open", "a.jsonl", "-"])
    assert args.run is tui.run and args.files == ["a.jsonl", "-"]
    assert args.grpc is None and args.http is None
    args = build_parser().parse_args(["open", "a.jsonl", "--grpc", "127.0.0.1:4317"])
    assert args.grpc == "127.0.0.1:4317"


def test_serve_is_unchanged():
    args = build_parser().parse_args(["serve", "--jsonl"])
    assert args.run is serve.run and args.jsonl and args.filter is None


def test_runtime_keeps_a_store_for_the_viewer():
    from kubespan.cli.config import service_options
    from kubespan.service.options import service_config
    from kubespan.service.service import Service

    options = service_options(build_parser().parse_args(["--grpc", "off", "--http", "off", "--max-spans", "1000"]),
                              {"store": True})
    runtime = Service(service_config(options))
    runtime.start()
    try:
        assert runtime.store is not None and runtime.store in runtime.pipeline.consumers
        assert runtime.store.max_spans == 1000
    finally:
        runtime.shutdown()


def test_viewer_takes_the_forwarding_and_processing_flags_of_serve():
    args = build_parser().parse_args(["--forward", "grpc://127.0.0.1:14317", "--drop", "service=kubelet"])
    assert args.run is tui.run and args.forward == ["grpc://127.0.0.1:14317"] and args.drop == ["service=kubelet"]
    args = build_parser().parse_args(["open", "x.jsonl", "--sample", "50"])
    assert args.sample == 50
