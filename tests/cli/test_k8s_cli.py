"""`kubespan k8s init` and `kubespan demo` from the command line."""

from __future__ import annotations

import subprocess
import sys

from tests.support.serve_process import ServeProcess


def kubespan(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kubespan", *args], capture_output=True, text=True, timeout=timeout)


def test_k8s_init_writes_files_prints_commands_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "kubetracing"
    result = kubespan("k8s", "init", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "config" / "apiserver-tracing.yaml").exists()
    assert (target / "config.toml.tmpl").exists()
    assert f"{target}/config:/etc/kube-tracing@server:*" in result.stdout
    assert "[CURRENT_PATH]" not in result.stdout
    assert "kubespan --grpc 0.0.0.0:4317" in result.stdout
    again = kubespan("k8s", "init", str(target))
    assert again.returncode == 2 and "--force" in again.stderr
    assert kubespan("k8s", "init", str(target), "--force").returncode == 0


def test_k8s_init_rejects_bad_options(tmp_path):
    result = kubespan("k8s", "init", str(tmp_path), "--sampling", "2000000")
    assert result.returncode == 2 and "sampling" in result.stderr


def test_demo_feeds_a_running_kubespan(tmp_path):
    process = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--jsonl")
    try:
        result = kubespan("demo", "--endpoint", process.addresses["grpc"], "--rate", "2000", "--duration", "1",
                          "--seed", "7")
        assert result.returncode == 0, result.stderr
        summary = process.stop()
    finally:
        process.kill()
    sent = __import__("json").loads(result.stderr.strip().splitlines()[-1])
    assert sent["spans"] > 0 and sent["errors"] == 0
    assert summary["received_spans"] == summary["written_spans"] == sent["spans"]
    assert len(process.remaining_stdout()) == sent["spans"]


def test_a_reader_that_stops_early_is_no_error(tmp_path) -> None:
    """`kubespan k8s init | head -2`: the pipe closes before kubespan writes, and that is fine."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "kubespan", "k8s", "init", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # long before the interpreter has imported kubespan
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and (tmp_path / "config").is_dir()


def test_demo_over_otlp_http_keeps_its_duration_and_says_its_seed(tmp_path):
    process = ServeProcess("--grpc", "off", "--http", "127.0.0.1:0", "--jsonl")
    try:
        result = kubespan("demo", "--protocol", "http", "--endpoint", process.addresses["http"], "--rate", "500",
                          "--duration", "1.5", "--gzip")
        assert result.returncode == 0, result.stderr
        summary = process.stop()
    finally:
        process.kill()
    note, last = result.stderr.strip().splitlines()[-2:]
    sent = __import__("json").loads(last)
    assert note == f"kubespan demo: seed {sent['seed']} (--seed {sent['seed']} sends the same traces again)"
    assert sent["spans"] > 100 and sent["errors"] == 0 and 1.5 <= sent["elapsed_s"] <= 2.0
    assert summary["received_spans"] == summary["written_spans"] == sent["spans"]
    assert len(process.remaining_stdout()) == sent["spans"]
