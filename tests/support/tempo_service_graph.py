"""Capturing what Grafana Tempo's service-graph processor makes of the k8s fixture.

`capture(binary)` starts a fresh Tempo single binary (loopback, free ports) with its metrics-generator
running the `service-graphs` processor (Tempo's defaults: wait 10 s, peer and database attributes) and
remote-writing every second to a small receiver in this process; sends the fixture moved to a minute
ago and one call of each edge kind the fixture lacks (databases, messaging, peers); waits until the
edge counters settle; stops Tempo and returns the request and failed counters per (client, server,
connection_type). Used by scripts/tempo_service_graph.py (writes the golden file)
and by tests/metrics/test_service_graph_golden.py when TEMPO_BIN is set. About 40 s.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

import tests.support.tempo as tempo_module
from tests.support.k8s_fixture import fixture_bounds, load_fixture
from tests.support.remote_write import decode_write_request
from tests.support.tempo import TempoPorts, TempoProcess, send_requests

COUNTERS = ("traces_service_graph_request_total", "traces_service_graph_request_failed_total")


def _span(trace: int, span: int, name: str, kind: int, start_ns: int, parent: int = 0, error: bool = False,
          **attributes: str) -> Span:
    out = Span(trace_id=(0xC0FFEE0000 + trace).to_bytes(16, "big"), span_id=(0x5E0000 + span).to_bytes(8, "big"),
               name=name, kind=kind, start_time_unix_nano=start_ns, end_time_unix_nano=start_ns + 3_000_000)
    if parent:
        out.parent_span_id = (0x5E0000 + parent).to_bytes(8, "big")
    if error:
        out.status.code = Status.STATUS_CODE_ERROR
    for key, value in attributes.items():
        out.attributes.add(key=key.replace("_", "."), value=AnyValue(string_value=value))
    return out


def edge_kinds_requests(start_ns: int) -> list[ExportTraceServiceRequest]:
    """Calls the k8s fixture lacks, one of each edge kind Tempo's processor knows: databases named by
    `server.address`, `network.peer.address:port` or `db.system`; a producer and its consumer; a client
    naming its `peer.service` with no server; a client naming nothing and no server (uncounted); a root
    server span (called by `user`); a failed server."""
    client, server, producer, consumer = 3, 2, 4, 5
    shop = [
        _span(1, 1, "SELECT orders", client, start_ns, db_system="postgresql", db_name="orders",
              server_address="pg.shop.svc"),
        _span(2, 2, "GET stock", client, start_ns, db_system="redis", network_peer_address="10.0.0.5",
              network_peer_port="6379"),
        _span(3, 3, "SET session", client, start_ns, db_system="memcached"),
        _span(4, 4, "publish order", producer, start_ns),
        _span(5, 6, "charge", client, start_ns, peer_service="payments"),
        _span(6, 7, "GET /unknown", client, start_ns),
        _span(7, 8, "GET /checkout", server, start_ns),
        _span(8, 9, "reserve", client, start_ns),
        _span(9, 10, "reserve", client, start_ns),
    ]
    worker = [_span(4, 5, "process order", consumer, start_ns + 1_000_000, parent=4)]
    inventory = [_span(8, 11, "reserve", server, start_ns + 1_000_000, parent=9, error=True),
                 _span(9, 12, "reserve", server, start_ns + 1_000_000, parent=10)]
    requests = []
    for service, spans in (("shop", shop), ("worker", worker), ("inventory", inventory)):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.add(key="service.name", value=AnyValue(string_value=service))
        resource_spans.scope_spans.add().spans.extend(spans)
        requests.append(request)
    return requests


def sent_requests(shift_ns: int) -> list[ExportTraceServiceRequest]:
    """What the capture sends: the k8s fixture moved by `shift_ns`, then one call of each edge kind."""
    fixture = load_fixture(shift_ns)
    _, last = fixture_bounds(fixture)
    return fixture + edge_kinds_requests(last - 1_000_000_000)


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
        send_requests(tempo.otlp_http, sent_requests(shift))
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
                       "database name attributes) over the k8s fixture plus one call of each other edge kind "
                       "(tests/support/tempo_service_graph.py, edge_kinds_requests): request and failed counters "
                       "per edge.",
        "tempo_config": generator_config("<remote write receiver>", Path("<data>")),
        "shift_ns": shift,
        "edges": [{"client": c, "server": s, "connection_type": t, **edges[(c, s, t)]}
                  for c, s, t in sorted(edges)],
    }
