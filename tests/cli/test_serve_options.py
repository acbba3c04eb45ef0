"""`kubespan serve` refuses option values and combinations it cannot honour, with exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.compiled_only import compiled_only

OFF = ("--grpc", "off", "--http", "off")


def serve(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "kubespan", "serve", *OFF, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "often"])
def test_stats_must_be_a_finite_positive_number(value):
    result = serve("--stats", value)
    assert result.returncode == 2
    assert "--stats" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("option", ["--max-recv-mib", "--max-memory-mb"])
def test_other_float_options_refuse_nan_and_inf(option):
    for value in ("nan", "inf"):
        result = serve(option, value)
        assert result.returncode == 2 and option in result.stderr


def test_fractions_are_accepted():
    from kubespan.cli.options import positive_float

    assert positive_float("0.5") == 0.5


@pytest.mark.parametrize("second", [("--jsonl",), ("--print-format", "legacy", "--jsonl")])
def test_print_and_jsonl_together_are_refused(second):
    result = serve("--print", *second) if second[0] == "--jsonl" else serve(*second)
    assert result.returncode == 2
    assert "--print and --jsonl" in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("built", "cores", "workers"), [
    pytest.param(True, 2, 0, marks=compiled_only), (False, 2, 2), (False, 1, 0),
    pytest.param(True, 1, 0, marks=compiled_only),
])
def test_decode_workers_by_default_only_without_the_compiled_decoder(monkeypatch, built, cores, workers):
    from kubespan.cli.main import build_parser
    from kubespan.cli.options import decode_workers
    from kubespan.otlp import compiled

    if not built:
        monkeypatch.setattr(compiled, "_spanwalk", None)
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    parser = build_parser()
    assert decode_workers(parser.parse_args(["serve"])) == workers
    assert decode_workers(parser.parse_args(["serve", "--decode-workers", "3"])) == 3
