"""End to end: kubespan's runtime receives, samples and forwards to a second receiver."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys

import grpc

from kubespan.forward.settings import ForwardSettings, RetrySettings
from kubespan.service.options import ServiceOptions, service_config
from kubespan.service.service import Service
from tests.pipeline.test_sampler import _reference_keep
from tests.support.forward_helpers import GrpcBackend, make_request

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = os.path.join(ROOT, "tests", "data", "otel-collector.yaml")



def test_runtime_samples_then_forwards() -> None:
    backend = GrpcBackend().start()
    target = dataclasses.replace(
        ForwardSettings.from_url(f"grpc://127.0.0.1:{backend.port}"),
        retry=RetrySettings(initial_interval=0.01, max_interval=0.05),
    )
    options = ServiceOptions(grpc="127.0.0.1:0", http=None, forwards=(target,), sample_percent=50, sample_seed=22)
    runtime = Service(service_config(options))
    addresses = runtime.start()
    expected = [f"span-{i}" for i in range(300) if _reference_keep((i + 1).to_bytes(16, "big"), 22, 50)]
    try:
        with grpc.insecure_channel(addresses["grpc"]) as channel:
            export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
            for i in range(3):
                export(make_request(100, i * 100), timeout=5)
        assert backend.counting.wait_for(len(expected))
    finally:
        runtime.shutdown()
        backend.stop()
    assert sorted(backend.counting.names) == sorted(expected)
    snapshot = runtime.counters.snapshot()
    assert snapshot["forward_sent_spans"] == len(expected)
    assert snapshot["sampled_out_spans"] == 300 - len(expected)
    assert snapshot["forward_queue_requests"] == 0


def test_serve_runs_walkthrough_config_with_unreachable_jaeger() -> None:
    """`kubespan serve --config otel-collector.yaml`: jaeger:4317 is unresolvable here; not fatal."""
    command = [sys.executable, "-m", "kubespan", "serve", "--config", SEED, "--grpc", "127.0.0.1:0", "--http", "off",
               "--api", "off"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        for line in process.stderr:
            lines.append(line)
            if "listening on" in line:
                break
        assert any("OTLP/grpc listening on 127.0.0.1:" in line for line in lines), lines
        port = lines[-1].rsplit(":", 1)[1].strip()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
            export(make_request(3), timeout=5)
        for line in process.stderr:
            lines.append(line)
            if "forward otlp/jaeger" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "forward otlp/jaeger" in output and "retrying" in output
    assert "kubespan: forwarding to grpc://jaeger:4317 (gzip) as otlp/jaeger" in output
    assert "kubespan: sampling 100% of traces (hash_seed 22)" in output
    assert '"forward_dropped_spans":3' in output
