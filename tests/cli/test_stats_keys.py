"""`--stats` lines carry the same keys from the first line on, so `jq` can graph any of them."""

from __future__ import annotations

import json

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.support.forward_helpers import GrpcBackend
from tests.support.otel_sdk import sdk_spans
from tests.support.serve_process import ServeProcess

TOKEN = "stats-keys-token"


def stats_lines(server: ServeProcess) -> list[dict]:
    return [json.loads(line) for line in list(server.stderr_lines) if line.startswith("{")]


def test_every_stats_line_has_the_keys_of_the_first(tmp_path) -> None:
    backend = GrpcBackend().start()
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--token", TOKEN, "--stats", "0.05",
                          "--print", "--dump", str(tmp_path / "spans.jsonl"), "--sample", "100",
                          "--drop", "name=nothing-matches-this", "--forward", f"grpc://127.0.0.1:{backend.port}")
    try:
        server.wait_stderr(lambda line: line.startswith("{"))
        first = stats_lines(server)[0]
        headers = {"authorization": f"Bearer {TOKEN}"}
        grpc_exporter = GrpcExporter(endpoint=server.addresses["grpc"], insecure=True, timeout=5, headers=headers)
        http_exporter = HttpExporter(endpoint=f"http://{server.addresses['http']}/v1/traces", timeout=5,
                                     headers=headers)
        strangers = GrpcExporter(endpoint=server.addresses["grpc"], insecure=True, timeout=5)
        try:
            assert grpc_exporter.export(sdk_spans()) == SpanExportResult.SUCCESS
            assert http_exporter.export(sdk_spans()) == SpanExportResult.SUCCESS
            assert strangers.export(sdk_spans()) == SpanExportResult.FAILURE
        finally:
            for exporter in (grpc_exporter, http_exporter, strangers):
                exporter.shutdown()
        assert backend.counting.wait_for(2 * len(sdk_spans()))
        server.wait_stderr(lambda line: line.startswith("{") and json.loads(line)["forward_sent_spans"] == 6)
        last = server.stop()
    finally:
        server.kill()
        backend.stop()
    assert last["received_requests"] == 2 and last["print_spans"] == 6 and last["dump_spans"] == 6
    assert last["unauthenticated_requests"] == 1 and last["forward_sent_requests"] == 2
    for line in stats_lines(server):
        assert sorted(line) == sorted(first)
    for key in ("received_requests", "refused_requests", "invalid_requests", "print_spans", "dump_spans",
                "dump_errors", "forward_sent_requests", "forward_failed_requests", "forward_rejected_spans",
                "sampled_out_spans", "dropped_spans", "aborted_requests", "timed_out_requests",
                "unauthenticated_requests", "received_logs_requests", "received_metrics_requests"):
        assert first[key] == 0, key
