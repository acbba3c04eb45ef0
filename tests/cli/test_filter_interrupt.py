"""`kubespan filter` interrupted by Ctrl-C (SIGINT): exit 130 and one line, no traceback."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading

import pytest

from kubespan.encode.span_lines import encode_span_lines
from tests.support.spanfactory import S, request

TIMEOUT_S = 20


WITH_CTRL_C = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'kubespan'; runpy.run_module('kubespan', run_name='__main__')"
)
"""`python -m kubespan` with Ctrl-C's usual effect, as in a terminal user's shell: a suite started in the
background by a shell without job control runs with SIGINT ignored, and children inherit that."""


class Filter:
    """A `kubespan filter` process whose stderr lines are collected as they come."""

    def __init__(self, *args: str, stdin) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", WITH_CTRL_C, "filter", *args], stdin=stdin,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            with self.changed:
                self.err.append(line.decode())
                self.changed.notify_all()

    def wait_stderr(self, text: str) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: any(text in line for line in self.err), TIMEOUT_S), self.err

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        self.process.stdout.read()
        code = self.process.wait(TIMEOUT_S)
        self.reader.join(TIMEOUT_S)
        return code, "".join(self.err)


@pytest.fixture
def terminal():
    main, child = pty.openpty()
    yield child
    os.close(main)
    os.close(child)


def test_ctrl_c_while_reading_a_terminal(terminal):
    run = Filter("name=syncPod", stdin=terminal)
    run.wait_stderr("reading OTLP/JSON from stdin (the terminal)")
    code, err = run.interrupt()
    assert code == 130
    assert err.splitlines() == [
        "kubespan filter: reading OTLP/JSON from stdin (the terminal); end with Ctrl-D, or name dump files",
        "kubespan filter: interrupted",
    ]


def test_ctrl_c_mid_file(tmp_path):
    fifo = tmp_path / "spans.jsonl"
    os.mkfifo(fifo)
    run = Filter("", str(fifo), stdin=subprocess.DEVNULL)
    with open(fifo, "w") as writer:  # returns once `filter` has opened the file
        writer.write("\n".join(encode_span_lines(request([S(1, n) for n in range(1, 50)]))) + "\n")
        writer.flush()
        code, err = run.interrupt()
    assert code == 130 and err == "kubespan filter: interrupted\n"
