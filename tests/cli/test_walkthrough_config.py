"""The walkthrough's otel-collector.yaml (tests/data, exactly as the walkthrough has it) runs unchanged.

`kubespan serve --config otel-collector.yaml` with no other option binds 127.0.0.1:4317 and
:4318, so the end-to-end run happens in a network namespace of its own (`unshare --net`),
where those ports are free whatever else runs on this machine, and where `jaeger` resolves
to nothing, as outside the walkthrough's docker compose.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.support.cli import cli_options

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = os.path.join(ROOT, "tests", "data", "otel-collector.yaml")
COMPONENT_LINES = [
    ("kubespan: config otel-collector.yaml: receiver otlp → OTLP/gRPC on 127.0.0.1:4317 and OTLP/HTTP on "
     "127.0.0.1:4318 (no endpoint in the file: loopback)"),
    "kubespan: config otel-collector.yaml: processor probabilistic_sampler → sampling 100% of traces (hash_seed 22)",
    ("kubespan: config otel-collector.yaml: processor batch → ignored: kubespan passes each request on as it "
     "arrives; batching would only delay the viewer and the forward targets"),
    "kubespan: config otel-collector.yaml: exporter otlp/jaeger → forward target grpc://jaeger:4317 (gzip)",
    "kubespan: config otel-collector.yaml: exporter logging → --print-format legacy on stdout",
]
CLIENT = """
import sys
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from tests.support.otel_sdk import sdk_spans
exporter = OTLPSpanExporter(endpoint="127.0.0.1:4317", insecure=True, timeout=10)
sys.exit(0 if exporter.export(sdk_spans()) == SpanExportResult.SUCCESS else 1)
"""


def network_namespace_works() -> bool:
    if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip")):
        return False
    return subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True,
                          check=False).returncode == 0


def test_walkthrough_file_runs_unchanged(tmp_path) -> None:
    if not network_namespace_works():
        pytest.skip("needs a network namespace of its own (unshare --net, nsenter and ip, as root)")
    shutil.copy(SEED, tmp_path / "otel-collector.yaml")
    command = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
               sys.executable, "-m", "kubespan", "serve", "--config", "otel-collector.yaml"]
    env = {**os.environ, "PYTHONPATH": ROOT}
    serve = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    lines: list[str] = []
    try:
        for line in serve.stderr:
            lines.append(line.rstrip("\n"))
            if "OTLP/http listening on" in line:
                break
        client = subprocess.run(["nsenter", f"--net=/proc/{serve.pid}/ns/net", sys.executable, "-c", CLIENT],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert client.returncode == 0, client.stderr
        serve.send_signal(signal.SIGTERM)
        stdout, rest = serve.communicate(timeout=60)
    finally:
        if serve.poll() is None:
            serve.kill()
    lines += rest.splitlines()
    assert serve.returncode == 0, lines
    assert lines[:len(COMPONENT_LINES)] == COMPONENT_LINES
    assert "kubespan: OTLP/grpc listening on 127.0.0.1:4317" in lines
    assert not any("loop forever" in line for line in lines)
    assert "Span #2" in stdout and "-> k8s.pod: STRING(default/echo-command)" in stdout  # logging: legacy text
    counters = json.loads(lines[-1])
    assert counters["received_spans"] == 3 and counters["print_spans"] == 3
    assert counters["forward_dropped_spans"] == 3  # jaeger:4317 does not exist here: reported, never fatal


def test_walkthrough_component_lines_say_what_the_options_replace(capsys) -> None:
    argv = ["serve", "--config", SEED, "--grpc", "0.0.0.0:4317", "--forward", "grpc://[::1]:14317", "--sample", "5"]
    config = cli_options(argv)
    assert [f.target for f in config.forwards] == ["[::1]:14317"] and config.sample_percent == 5
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("(no endpoint in the file: loopback); --grpc from the command line wins")
    assert err[1].endswith("sampling 100% of traces (hash_seed 22); --sample from the command line wins")
    assert err[3].endswith("forward target grpc://jaeger:4317 (gzip); --forward from the command line wins")
    assert err[4].endswith("--print-format legacy on stdout")


def test_components_outside_the_pipeline_are_said_too(tmp_path, capsys) -> None:
    path = tmp_path / "two.yaml"
    path.write_text("receivers: {otlp: {protocols: {grpc: {endpoint: '127.0.0.1:0'}}}}\n"
                    "processors: {batch: {}, memory_limiter: {check_interval: 1s, limit_mib: 512}}\n"
                    "exporters: {debug: {}, file: {path: out.jsonl}}\n"
                    "service: {pipelines: {traces: {receivers: [otlp], processors: [memory_limiter],"
                    " exporters: [debug, file]}}}\n")
    argv = ["serve", "--config", str(path)]
    cli_options(argv)
    err = [line.split(": ", 2)[2] for line in capsys.readouterr().err.splitlines()]
    assert err == [
        "receiver otlp → OTLP/gRPC on 127.0.0.1:0",
        "processor memory_limiter → a memory budget of 512 MiB for the span store (--max-memory-mib)",
        "exporter debug → prints nothing at this verbosity (the counts are in --stats)",
        "exporter file → --dump out.jsonl (OTLP/JSON lines)",
        "processor batch → not in the traces pipeline: checked, not run",
    ]


def test_readme_shows_the_walkthrough_file_as_it_runs(monkeypatch, capsys) -> None:
    """The README's k3d section: the command and the lines it prints, as kubespan prints them."""
    from kubespan.forward import loopcheck

    monkeypatch.setattr(loopcheck, "resolve", lambda host, timeout: [] if host == "jaeger" else [host])
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as readme:
        text = readme.read()
    command = "kubespan serve --config otel-collector.yaml --grpc 0.0.0.0:4317"
    assert f"```sh\n{command}\n```" in text
    shown = [line for line in text[text.index(command):].split("```")[2].splitlines()
             if line.startswith("kubespan: config")]
    argv = command.split()[1:]
    argv[argv.index("otel-collector.yaml")] = SEED
    cli_options(argv)
    printed = capsys.readouterr().err.replace(SEED, "otel-collector.yaml").splitlines()
    assert shown == printed
