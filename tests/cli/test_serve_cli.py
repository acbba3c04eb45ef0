"""`kubespan serve` as users run it: a subprocess, a real SDK client, signals, counters."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SpanExportResult

from kubespan.otlp.jsoncodec import decode_traces_json
from tests.support.compiled_only import compiled_only
from tests.support.otel_sdk import sdk_spans
from tests.support.serve_process import ServeProcess

LOOPBACK = ("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0")
SUCCESS = SpanExportResult.SUCCESS


def merge(requests: list[ExportTraceServiceRequest]) -> list:
    """(resource, scope, span) triples, for comparing dumps with what was sent."""
    return [
        (rs.resource, rs.schema_url, ss.scope, ss.schema_url, span)
        for request in requests
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]


@pytest.fixture(params=[pytest.param("compiled", marks=compiled_only), "pure-python"])
def serve_jsonl(request):
    """`serve --jsonl`, with the compiled decoder and writer, and with KUBESPAN_PURE_PYTHON=1."""
    pure = request.param == "pure-python"
    env = {**os.environ, "KUBESPAN_PURE_PYTHON": "1"} if pure else None
    process = ServeProcess(*LOOPBACK, "--jsonl", env=env)
    try:
        notes = [line for line in process.stderr_lines if "decoding in pure Python" in line]
        assert len(notes) == pure, process.stderr_lines
        yield process
    finally:
        process.kill()


def test_jsonl_one_complete_request_per_span_over_grpc_and_http(serve_jsonl):
    spans = sdk_spans()
    assert GrpcExporter(endpoint=serve_jsonl.addresses["grpc"], insecure=True).export(spans) == SUCCESS
    assert HttpExporter(endpoint=f"http://{serve_jsonl.addresses['http']}/v1/traces").export(spans) == SUCCESS
    lines = serve_jsonl.read_stdout_lines(2 * len(spans))
    requests = [decode_traces_json(line) for line in lines]
    for request in requests:
        assert len(request.resource_spans) == 1
        assert len(request.resource_spans[0].scope_spans) == 1
        assert len(request.resource_spans[0].scope_spans[0].spans) == 1
    expected = merge([encode_spans(spans)])
    assert merge(requests) == expected + expected
    summary = serve_jsonl.stop()
    assert summary["received_spans"] == summary["written_spans"] == 2 * len(spans)
    assert summary["rejected_spans"] == 0


def test_sigint_flushes_the_dump_and_reports_counters(tmp_path):
    dump = tmp_path / "spans.jsonl"
    dump.write_text("")
    process = ServeProcess(*LOOPBACK, "--dump", str(dump), "--stats", "0.05")
    try:
        spans = sdk_spans()
        assert GrpcExporter(endpoint=process.addresses["grpc"], insecure=True).export(spans) == SUCCESS
        stats = json.loads(process.wait_stderr(lambda line: line.startswith("{") and '"received_spans":3' in line))
        assert {"received_spans", "rejected_spans", "written_spans", "rss_bytes"} <= set(stats)
        summary = process.stop(signal.SIGINT)
    finally:
        process.kill()
    lines = dump.read_text().splitlines()
    assert len(lines) == len(spans) == summary["written_spans"]
    assert merge([decode_traces_json(line) for line in lines]) == merge([encode_spans(spans)])
    assert process.remaining_stdout() == []


def test_serve_keeps_the_index_within_max_spans():
    process = ServeProcess(*LOOPBACK, "--max-spans", "2")
    try:
        spans = sdk_spans()
        assert GrpcExporter(endpoint=process.addresses["grpc"], insecure=True).export(spans) == SUCCESS
        summary = process.stop(signal.SIGTERM)
    finally:
        process.kill()
    assert summary["received_spans"] == len(spans) == 3
    assert summary["stored_spans"] == 2 and summary["evicted_spans"] == 1
    assert summary["traces"] >= 1 and summary["rss_bytes"] > 0


def test_serve_without_an_index_passes_spans_through():
    process = ServeProcess(*LOOPBACK, "--max-spans", "0")
    try:
        assert GrpcExporter(endpoint=process.addresses["grpc"], insecure=True).export(sdk_spans()) == SUCCESS
        summary = process.stop(signal.SIGTERM)
    finally:
        process.kill()
    assert summary["received_spans"] == 3
    assert {key: summary[key] for key in ("stored_spans", "evicted_spans", "traces", "store_memory_bytes")} == {
        "stored_spans": 0, "evicted_spans": 0, "traces": 0, "store_memory_bytes": 0}


def test_print_writes_the_debug_exporter_text(tmp_path):
    process = ServeProcess(*LOOPBACK, "--print")
    try:
        assert GrpcExporter(endpoint=process.addresses["grpc"], insecure=True).export(sdk_spans()) == SUCCESS
        first = process.read_stdout_lines(1)[0]
        assert first == b'Traces\t{"resource spans": 1, "spans": 3}\n'
        assert process.read_stdout_lines(1)[0] == b"ResourceSpans #0\n"
        process.stop()
    finally:
        process.kill()


@pytest.mark.parametrize("receiver", ["grpc", "http"])
def test_port_in_use_is_one_clear_line(receiver: str):
    """No grpc core log line, no GRPC_VERBOSITY hint, no [Errno 98]: one line and exit 1."""
    first = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0")
    try:
        taken = first.addresses[receiver]
        other = "http" if receiver == "grpc" else "grpc"
        result = subprocess.run(
            [sys.executable, "-m", "kubespan", "serve", f"--{receiver}", taken, f"--{other}", "127.0.0.1:0"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == 1
        assert result.stderr == f"kubespan: {taken} is already in use (is another kubespan or a Collector running?)\n"
    finally:
        first.kill()


def test_port_in_use_in_the_viewer_is_one_clear_line(capsys):
    from kubespan.cli.main import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        assert main(["--grpc", "127.0.0.1:0", "--http", address]) == 1
    in_use = f"kubespan: {address} is already in use (is another kubespan or a Collector running?)\n"
    assert capsys.readouterr().err == in_use


def test_an_address_of_another_machine_is_one_clear_line():
    from kubespan.receive.settings import ListenError, check_can_listen

    with pytest.raises(ListenError) as error:
        check_can_listen("198.51.100.7:4317")  # a documentation address: binding it fails here, nothing is sent
    assert str(error.value) == "cannot listen on 198.51.100.7:4317: not an address of this machine"


def test_exposed_bind_without_token_warns():
    from kubespan.receive.settings import ReceiverSettings
    from kubespan.service.warnings import exposure_warnings

    assert exposure_warnings(ReceiverSettings()) == []
    [grpc_warning] = exposure_warnings(ReceiverSettings(grpc="0.0.0.0:4317", http="localhost:4318"))
    assert "gRPC receiver on 0.0.0.0:4317 is reachable from other machines" in grpc_warning
    assert "--token" in grpc_warning
    [http_warning] = exposure_warnings(ReceiverSettings(grpc="[::1]:4317", http="10.1.2.3:4318", token="t"))
    assert "without TLS" in http_warning and "--token" not in http_warning


def _serve_exit(*options: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "kubespan", "serve", "--grpc", "off", "--http", "off", *options],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "soon"])
def test_stats_needs_a_finite_positive_interval(value):
    result = _serve_exit(f"--stats={value}")
    assert result.returncode == 2
    assert "--stats" in result.stderr
    assert "finite number above 0" in result.stderr or "must be a number" in result.stderr
    assert result.stdout == ""


def test_stats_accepts_fractions():
    from kubespan.cli.main import build_parser

    assert build_parser().parse_args(["serve", "--stats", "0.5"]).stats == 0.5


@pytest.mark.parametrize("printing", [["--print"], ["--print-format", "legacy"]])
def test_print_and_jsonl_together_are_refused(printing):
    result = _serve_exit(*printing, "--jsonl")
    assert result.returncode == 2
    assert "--print and --jsonl both write to stdout" in result.stderr
    assert result.stdout == ""


def test_print_with_dump_is_fine(tmp_path):
    process = ServeProcess(*LOOPBACK, "--print", "--dump", str(tmp_path / "d.jsonl"))
    try:
        counters = process.stop()
    finally:
        process.kill()
    assert counters["written_spans"] == 0


@pytest.mark.parametrize("query, expected", [
    ("net.peer.port=54678 status=error", "runtime.v1.RuntimeService/RunPodSandbox"),
    ('{ name = "syncPod" } || { span.http.status_code >= 500 }', "syncPod"),
])
def test_filter_dumps_only_matching_spans(tmp_path, query: str, expected: str):
    """Issue 3's end-to-end test: SDK client → `serve --filter QUERY --dump F` → only matches in F."""
    dump = tmp_path / "matches.jsonl"
    process = ServeProcess(*LOOPBACK, "--filter", query, "--dump", str(dump))
    try:
        spans = sdk_spans()
        assert GrpcExporter(endpoint=process.addresses["grpc"], insecure=True).export(spans) == SUCCESS
        assert HttpExporter(endpoint=f"http://{process.addresses['http']}/v1/traces").export(spans) == SUCCESS
        summary = process.stop()
    finally:
        process.kill()
    names = [span.name for *_, span in merge([decode_traces_json(line) for line in dump.read_text().splitlines()])]
    assert names == [expected, expected]
    assert summary["received_spans"] == 2 * len(spans) and summary["written_spans"] == 2


@pytest.mark.parametrize("spelling", ["--max-memory-mib", "--max-memory-mb", "--max-memory"])
def test_memory_budget_is_in_mebibytes_however_spelt(spelling):
    from kubespan.cli.config import service_options
    from kubespan.cli.main import build_parser
    from kubespan.service.options import service_config
    from kubespan.service.service import Service

    args = build_parser().parse_args(["serve", "--grpc", "off", "--http", "off", spelling, "64"])
    store = Service(service_config(service_options(args, {"store": True}))).store
    assert store is not None and store.max_memory_bytes == 64 * 2**20
