"""`kubespan open`: files are checked, and a terminal on stdin refused, before the screen is taken."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

TIMEOUT_S = 30


def kubespan_open(*args: str, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """Run `kubespan open` without a terminal on stdout: it must exit before the viewer starts."""
    return subprocess.run([sys.executable, "-m", "kubespan", "open", "--grpc", "off", "--http", "off", *args],
                          stdin=stdin, capture_output=True, text=True, timeout=TIMEOUT_S)


def test_a_missing_file_is_one_line_and_exit_1(tmp_path):
    missing = tmp_path / "missing.jsonl"
    result = kubespan_open(str(missing))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"kubespan open: {missing}: No such file or directory\n"


def test_a_binary_file_is_one_line_and_exit_1(tmp_path):
    binary = tmp_path / "some.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    result = kubespan_open(str(binary))
    assert (result.returncode, result.stdout) == (1, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"kubespan open: {binary}: not OTLP/JSON (none of its ")


def test_json_that_is_not_otlp_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"not": "otlp"}\n')
    result = kubespan_open(str(path))
    assert result.returncode == 1 and result.stderr == (
        f"kubespan open: {path}: not OTLP/JSON (the only line: line 1: not OTLP/JSON: no resourceSpans "
        "(keys: 'not'))\n")


def test_every_file_is_checked(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"resourceSpans": []}\n')
    result = kubespan_open(str(good), str(tmp_path))
    assert result.returncode == 1 and result.stderr == f"kubespan open: {tmp_path}: Is a directory\n"


@pytest.fixture
def terminal():
    main, child = pty.openpty()
    yield child
    os.close(main)
    os.close(child)


def test_stdin_that_is_a_terminal_is_refused(terminal):
    result = kubespan_open("-", stdin=terminal)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("kubespan open: '-' reads a dump from stdin, which is the terminal; pipe one in "
                             "(kubespan open - < spans.jsonl) or name the file\n")
