"""`kubespan serve` as a real subprocess, with its stdout and stderr read on threads."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time


class ServeProcess:
    """Starts `python -m kubespan serve ARGS` and exposes bound addresses and output lines.

    Without `--api` in ARGS the query API is off: a test never takes the default 127.0.0.1:3200,
    which another test, or a kubespan the developer runs, may hold.
    """

    def __init__(self, *args: str, env: dict | None = None, popen: dict | None = None) -> None:
        api = () if "--api" in args else ("--api", "off")
        command = [sys.executable, "-m", "kubespan", "serve", *args, *api]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **(popen or {})
        )
        self.stdout_lines: "queue.Queue[bytes]" = queue.Queue()
        self.stderr_lines: list[str] = []
        self._stderr_changed = threading.Condition()
        self._stderr_closed = False
        self._stdout_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._stdout_reader.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self.addresses = self._wait_addresses(args)

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self.stdout_lines.put(line)

    def _read_stderr(self) -> None:
        for line in self.process.stderr:
            with self._stderr_changed:
                self.stderr_lines.append(line.decode(errors="replace"))
                self._stderr_changed.notify_all()
        with self._stderr_changed:
            self._stderr_closed = True
            self._stderr_changed.notify_all()

    def wait_stderr(self, predicate, timeout: float = 20.0) -> str:
        """The first stderr line matching `predicate`, waiting for it if needed."""

        def found() -> str | None:
            return next((line for line in self.stderr_lines if predicate(line)), None)

        with self._stderr_changed:
            self._stderr_changed.wait_for(lambda: found() or self._stderr_closed, timeout)
            line = found()
        if line is None:
            raise AssertionError(f"no matching stderr line in {self.stderr_lines!r}")
        return line

    def _wait_addresses(self, args) -> dict[str, str]:
        wanted = [name for name in ("grpc", "http")
                  if f"--{name}" not in args or args[list(args).index(f"--{name}") + 1] != "off"]
        addresses = {}
        for name in wanted:
            line = self.wait_stderr(lambda text, n=name: f"OTLP/{n} listening on" in text)
            addresses[name] = re.search(r"listening on (\S+)", line).group(1)
        return addresses

    def read_stdout_lines(self, count: int, timeout: float = 20.0) -> list[bytes]:
        lines = []
        deadline = time.monotonic() + timeout
        while len(lines) < count:
            lines.append(self.stdout_lines.get(timeout=max(0.01, deadline - time.monotonic())))
        return lines

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0, group: bool = False) -> dict:
        """Signal the process (its whole process group if `group`), wait, return its final counters line."""
        if group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        assert code == 0, f"exit {code}: {''.join(self.stderr_lines)}"
        with self._stderr_changed:
            self._stderr_changed.wait_for(lambda: self._stderr_closed, timeout)
        return json.loads([line for line in self.stderr_lines if line.startswith("{")][-1])

    def remaining_stdout(self) -> list[bytes]:
        """Everything left on stdout once the process has exited."""
        self._stdout_reader.join(timeout=30)
        lines = []
        while not self.stdout_lines.empty():
            lines.append(self.stdout_lines.get_nowait())
        return lines

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
