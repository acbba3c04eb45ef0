"""Capturing what Grafana Tempo's service-graph processor makes of the k8s fixture.

`capture(binary)` starts a fresh Tempo single binary (loopback, free ports) with its metrics-generator
running the `service-graphs` processor (Tempo's defaults: wait 10 s, peer and database attributes) and
remote-writing every second to a small receiver in this process; sends the fixture moved to a minute
ago; waits until the edge counters settle; stops Tempo and returns the request and failed counters
per (client, server, connection_type). Used by scripts/tempo_service_graph.py (writes the golden file)
and by tests/metrics/test_service_graph_golden.py when TEMPO_BIN is set. About 40 s.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import tests.support.tempo as tempo_module
from tests.support.k8s_fixture import fixture_bounds, load_fixture
from tests.support.remote_write import decode_write_request
from tests.support.tempo import TempoPorts, TempoProcess, send_requests

COUNTERS = ("traces_service_graph_request_total", "traces_service_graph_request_failed_total")


def generator_config(remote_write_url: str, data_dir: Path) -> str:
    """The metrics-generator part: service graphs only, a WAL, remote write every second, spans up to an
    hour old accepted (the fixture is sent a minute after its spans)."""
    return f"""metrics_generator:
  metrics_ingestion_time_range_slack: 1h
  registry:
    collection_interval: 1s
  storage:
    path: {data_dir}/generator/wal
    remote_write:
      - url: {remote_write_url}
        send_exemplars: false
        queue_config:
          batch_send_deadline: 1s
  processor:
    service_graphs:
      wait: 10s
"""


class Counters:
    """The latest value of each counter series remote-written to us."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.changed = time.monotonic()

    def add(self, body: bytes) -> None:
        with self.lock:
            for labels, samples in decode_write_request(body):
                name = dict(labels).get("__name__", "")
                if name in COUNTERS and samples:
                    key = (name, tuple(sorted((k, v) for k, v in labels if k != "__name__")))
                    value = samples[-1][0]
                    if self.values.get(key) != value:
                        self.values[key] = value
                        self.changed = time.monotonic()


def serve_remote_write(counters: Counters) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            counters.add(body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _GeneratorTempo(TempoProcess):
    """A TempoProcess whose configuration adds the metrics-generator with service graphs."""

    remote_write_url: str = ""

    def start(self, timeout: float = 90.0) -> TempoProcess:
        base = tempo_module.tempo_config

        def with_generator(data_dir: Path, ports: TempoPorts) -> str:
            text = base(data_dir, ports).replace(
                "overrides:\n  defaults:\n",
                "overrides:\n  defaults:\n    metrics_generator:\n      processors: [service-graphs]\n")
            return text + generator_config(self.remote_write_url, data_dir)

        tempo_module.tempo_config = with_generator
        try:
            return super().start(timeout)
        finally:
            tempo_module.tempo_config = base


def capture(binary: str, ports: TempoPorts | None = None) -> dict:
    """Tempo's service-graph counters for the k8s fixture: {"shift_ns", "edges": [{client, server,
    connection_type, requests, failed}]} (see the module docstring)."""
    counters = Counters()
    server = serve_remote_write(counters)
    tempo = _GeneratorTempo(binary, ports or TempoPorts.free())
    tempo.remote_write_url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"
    try:
        tempo.start()
        _, last = fixture_bounds(load_fixture(0))
        shift = (time.time_ns() - 60 * 1_000_000_000) - last
        send_requests(tempo.otlp_http, load_fixture(shift))
        sent = time.monotonic()
        while True:  # the processor waits 10 s for unpaired halves; then the counters settle
            time.sleep(1)
            if counters.values and time.monotonic() - sent > 25 and time.monotonic() - counters.changed > 8:
                break
            if time.monotonic() - sent > 180:
                raise RuntimeError(f"no settled service-graph counters after 180 s: {tempo.log_tail()}")
    finally:
        tempo.stop()
        server.shutdown()
    edges: dict[tuple[str, str, str], dict[str, float]] = {}
    for (name, labels), value in counters.values.items():
        label = dict(labels)
        key = (label.get("client", ""), label.get("server", ""), label.get("connection_type", ""))
        edges.setdefault(key, {"requests": 0, "failed": 0})["failed" if "failed" in name else "requests"] = value
    return {
        "description": "Tempo's service-graph processor (metrics-generator, defaults: wait 10s, peer attributes, "
                       "database name attributes) over the k8s fixture: request and failed counters per edge.",
        "tempo_config": generator_config("<remote write receiver>", Path("<data>")),
        "shift_ns": shift,
        "edges": [{"client": c, "server": s, "connection_type": t, **edges[(c, s, t)]}
                  for c, s, t in sorted(edges)],
    }
