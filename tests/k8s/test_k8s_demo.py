"""The realistic k8s span generator: determinism, trace shapes, versions, load batches, sending."""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
    TraceServiceServicer,
    add_TraceServiceServicer_to_server,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from kubespan.k8s.demo import DemoCluster, apiserver_instance_id, load_batch, spans_in
from kubespan.k8s.send import run_demo, send, span_count

SEED_SAMPLE_KEYS = [  # the blog's collector output, in order
    "net.transport",
    "net.peer.ip",
    "net.peer.port",
    "net.host.ip",
    "net.host.port",
    "http.target",
    "http.server_name",
    "http.user_agent",
    "http.scheme",
    "http.host",
    "http.flavor",
    "http.method",
    "http.wrote_bytes",
    "http.status_code",
]
OLD_HTTP_KEYS = {"http.method", "http.status_code", "net.peer.ip", "net.peer.port", "http.target_x", "http.user_agent"}
N = 12_000


def run(version: str, n: int = N, seed: int = 0) -> list[tuple[str, Span]]:
    return spans_in(DemoCluster(seed=seed, k8s_version=version).requests(n))


@pytest.fixture(scope="module", params=["1.27", "1.36"])
def spans(request: pytest.FixtureRequest) -> tuple[str, list[tuple[str, Span]]]:
    return request.param, run(request.param)


def attrs(span: Span) -> dict:
    out = {}
    for a in span.attributes:
        out[a.key] = getattr(a.value, a.value.WhichOneof("value"))
    return out


def test_same_seed_same_bytes_and_different_seed_differs() -> None:
    def blob(seed: int, version: str = "1.27") -> bytes:
        c = DemoCluster(seed=seed, k8s_version=version, start_ns=1_700_000_000_000_000_000)
        return b"".join(r.SerializeToString() for _ in range(5) for r in c.next_requests(256))

    assert blob(7) == blob(7)
    assert blob(7) != blob(8)
    assert blob(7, "1.36") == blob(7, "1.36") != blob(7)
    assert load_batch(3000, seed=1, batch_size=512) == load_batch(3000, seed=1, batch_size=512)
    assert load_batch(3000, seed=1, batch_size=512) != load_batch(3000, seed=2, batch_size=512)


def test_batches_are_one_request_per_service_with_thin_resources() -> None:
    cluster = DemoCluster(seed=3)
    for _ in range(20):
        reqs = cluster.next_requests(100)
        assert sum(span_count(r) for r in reqs) == 100
        services = [spans_in([r])[0][0] for r in reqs]
        assert len(services) == len(set(services)) and set(services) <= {"apiserver", "kubelet", "containerd"}
        for r in reqs:
            assert len(r.resource_spans) == 1
            res = {a.key: a.value.string_value for a in r.resource_spans[0].resource.attributes}
            assert not any(k.startswith("k8s.") for k in res)
            if res["service.name"] == "apiserver":
                assert re.fullmatch(r"apiserver-[a-z2-7]{26}", res["service.instance.id"])
            if res["service.name"] == "kubelet":
                assert res["host.name"] == "k3d-tracingcluster-server-0"
    assert apiserver_instance_id() == apiserver_instance_id("k3d-tracingcluster-server-0")


def test_ids_timestamps_and_parents_are_well_formed(spans) -> None:
    _, sp = spans
    ids = {s.span_id for _, s in sp}
    assert len(ids) == len(sp)
    for _, s in sp:
        assert len(s.trace_id) == 16 and len(s.span_id) == 8 and len(s.parent_span_id) in (0, 8)
        assert s.start_time_unix_nano <= s.end_time_unix_nano
        for ev in s.events:
            assert s.start_time_unix_nano <= ev.time_unix_nano <= s.end_time_unix_nano


def test_batches_follow_end_time() -> None:
    """Like a batch exporter: a span is exported after it ended, batches in end-time order."""
    cluster = DemoCluster(seed=2)
    last_end = 0
    for _ in range(30):
        ends = [s.end_time_unix_nano for _, s in spans_in(cluster.next_requests(200))]
        assert min(ends) >= last_end and max(ends) <= cluster.now
        last_end = max(ends)


def test_every_cri_client_span_in_a_sync_pod_trace_has_a_containerd_server_child(spans) -> None:
    _, sp = spans
    sync_traces = {s.trace_id for _, s in sp if s.name == "syncPod"}
    children = defaultdict(list)
    for service, s in sp:
        children[s.parent_span_id].append((service, s))
    checked = 0
    for service, s in sp:
        if service == "kubelet" and s.trace_id in sync_traces and s.name.startswith("runtime.v1."):
            assert s.kind == Span.SPAN_KIND_CLIENT
            kids = [(svc, c) for svc, c in children[s.span_id] if svc == "containerd"]
            assert len(kids) == 1
            _, server = kids[0]
            assert server.kind == Span.SPAN_KIND_SERVER and server.name == s.name
            assert server.trace_id == s.trace_id and server.parent_span_id == s.span_id
            assert (
                s.start_time_unix_nano
                <= server.start_time_unix_nano
                <= server.end_time_unix_nano
                <= s.end_time_unix_nano
            )
            checked += 1
    assert checked > 50


def test_apiserver_traces_are_linked_not_parented_to_the_kubelet(spans) -> None:
    _, sp = spans
    by_id = {s.span_id: (svc, s) for svc, s in sp}
    linked = [(svc, s) for svc, s in sp if svc == "apiserver" and s.links]
    assert len(linked) > 10
    for _, s in linked:
        assert s.kind == Span.SPAN_KIND_SERVER and s.parent_span_id == b""
        link = s.links[0]
        svc, client = by_id[link.span_id]
        assert svc == "kubelet" and client.kind == Span.SPAN_KIND_CLIENT and client.name.startswith("HTTP ")
        assert link.trace_id == client.trace_id != s.trace_id
        assert client.parent_span_id == b""


def test_attribute_names_follow_the_version(spans) -> None:
    version, sp = spans
    servers = [s for svc, s in sp if svc == "apiserver" and s.kind == Span.SPAN_KIND_SERVER]
    cri = [s for svc, s in sp if svc == "kubelet" and s.name.startswith("runtime.v1.")]
    if version == "1.27":
        assert {s.name for s in servers} == {"KubernetesAPI"}
        for s in servers:
            assert [a.key for a in s.attributes] == SEED_SAMPLE_KEYS
            a = attrs(s)
            assert isinstance(a["net.peer.port"], int) and isinstance(a["http.status_code"], int)
            assert a["http.server_name"] == "KubernetesAPI" and a["http.flavor"] == "2"
        for s in cri:
            a = attrs(s)
            assert a["rpc.system"] == "grpc" and a["rpc.service"].startswith("runtime.v1.")
            assert isinstance(a["rpc.grpc.status_code"], int)
    else:
        names = {s.name for s in servers}
        assert "KubernetesAPI" not in names
        assert "PUT /apis/coordination.k8s.io/v1/namespaces/{:namespace}/leases/{:name}" in names
        assert "GET" in names  # /readyz, /livez
        for s in servers:
            a = attrs(s)
            assert not OLD_HTTP_KEYS & set(a)
            for key in (
                "http.request.method",
                "http.response.status_code",
                "server.address",
                "network.peer.address",
                "url.path",
                "user_agent.original",
                "audit-id",
            ):
                assert key in a
        for s in cri:
            a = attrs(s)
            assert a["rpc.system.name"] == "grpc" and a["rpc.method"] == s.name
            assert isinstance(a["rpc.response.status_code"], str) and "rpc.service" not in a


def test_filter_spans_per_version(spans) -> None:
    version, sp = spans
    by_id = {s.span_id: s for _, s in sp}
    handlers = [s for svc, s in sp if svc == "apiserver" and s.name in ("Create", "Get", "List", "Update", "Patch")]
    assert handlers
    for h in handlers:
        parent = by_id.get(h.parent_span_id)
        if parent is None:
            continue
        if version == "1.27":  # child of an authentication span that ended before it
            assert parent.name == "authentication" and parent.end_time_unix_nano < h.end_time_unix_nano
        else:  # nested filters: ... > authorization > handler
            assert parent.name == "authorization"
    assert any(k == "audit-id" for h in handlers for k in attrs(h))
    if version == "1.36":
        assert all("api-group" in attrs(h) and "namespace" in attrs(h) for h in handlers)


def test_watch_authentication_is_exported_before_its_open_parent() -> None:
    sp = run("1.27", 3000)
    order = {s.span_id: i for i, (_, s) in enumerate(sp)}
    watches = [s for _, s in sp if s.name == "KubernetesAPI" and "watch=true" in attrs(s)["http.target"]]
    assert watches
    auth = [s for _, s in sp if s.parent_span_id == watches[0].span_id and s.name == "authentication"]
    assert auth and order[auth[0].span_id] < order[watches[0].span_id]


def test_the_walkthrough_pod_appears(spans) -> None:
    version, sp = spans
    echo = [
        s for svc, s in sp if svc == "kubelet" and s.name == "syncPod" and attrs(s)["k8s.pod"] == "default/echo-command"
    ]
    create = [s for s in echo if attrs(s)["k8s.pod.update_type"] == "create"]
    assert len(create) == 1
    a = attrs(create[0])
    assert a["k8s.namespace.name"] == "default" and a["k8s.pod.name"] == "echo-command"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", a["k8s.pod.uid"])
    trace = [(svc, s) for svc, s in sp if s.trace_id == create[0].trace_id]
    names = [s.name for svc, s in sorted(trace, key=lambda item: item[1].start_time_unix_nano) if svc == "kubelet"]
    assert names == ["syncPod"] + [f"runtime.v1.{method}" for method in (  # the blog's trace, in order
        "ImageService/ImageStatus", "ImageService/PullImage", "ImageService/ImageStatus",
        "RuntimeService/CreateContainer", "RuntimeService/StartContainer")]
    assert len(trace) == (11 if version == "1.27" else 13)  # 1.36: containerd's two ttrpc task spans
    sandbox = [s for svc, s in sp if svc == "kubelet" and s.name.endswith("RunPodSandbox")
               and s.start_time_unix_nano < create[0].start_time_unix_nano and not s.parent_span_id]
    assert sandbox  # the sandbox is started before, in traces of its own
    pulls = [s for svc, s in trace if svc == "containerd" and s.name.endswith("PullImage")]
    assert any(ev.name == 'PullImage "alpine:latest"' for ev in pulls[0].events)
    assert {"apiserver", "kubelet", "containerd"} == {svc for svc, _ in sp}


def test_errors_appear_at_some_rate(spans) -> None:
    version, sp = spans
    errors = [(svc, s) for svc, s in sp if s.status.code == Status.STATUS_CODE_ERROR]
    assert 0 < len(errors) < len(sp) * 0.05
    pulls = [s for svc, s in errors if s.name == "runtime.v1.ImageService/PullImage"]
    assert pulls and "failed to pull and unpack image" in pulls[0].status.message
    sync_errors = [s for svc, s in errors if s.name == "syncPod"]
    assert bool(sync_errors) == (version == "1.36")  # kubelet sets Error on syncPod from ~1.31
    conflicts = [
        s
        for svc, s in sp
        if svc == "apiserver"
        and s.kind == Span.SPAN_KIND_SERVER
        and attrs(s).get("http.status_code", attrs(s).get("http.response.status_code")) == 409
    ]
    assert conflicts and all(s.status.code != Status.STATUS_CODE_ERROR for s in conflicts)  # 4xx: Unset
    client_errors = [s for svc, s in errors if svc == "kubelet" and s.name.startswith("HTTP ")]
    assert client_errors  # but a 4xx fails the kubelet's client span


def test_background_noise_is_there(spans) -> None:
    _, sp = spans
    names = defaultdict(int)
    for svc, s in sp:
        names[(svc, s.name)] += 1
    assert names[("kubelet", "runtime.v1.RuntimeService/ListPodSandbox")] > 100
    assert names[("kubelet", "HTTP PUT")] > 5  # node lease
    assert names[("kubelet", "/metrics/resource")] > 3


@pytest.mark.parametrize("batch", [512, 50])
def test_load_batch_shape(batch: int) -> None:
    blobs = load_batch(20_000, seed=5, batch_size=batch)
    reqs = [ExportTraceServiceRequest.FromString(b) for b in blobs]
    sp = spans_in(reqs)
    assert len(sp) == 20_000 and [span_count(r) for r in reqs][:-1] == [batch] * (len(reqs) - 1)
    avg_attrs = sum(len(s.attributes) for _, s in sp) / len(sp)
    assert 10.5 <= avg_attrs <= 11.5
    assert 450 <= sum(map(len, blobs)) / len(sp) <= 600
    assert len({s.span_id for _, s in sp}) == len(sp)
    assert len({s.trace_id for _, s in sp}) > len(sp) / 10
    for _, s in sp:
        assert s.start_time_unix_nano <= s.end_time_unix_nano and not s.links
    assert load_batch(0, seed=1) == []


# ---- sending -----------------------------------------------------------------------------------


class CountingService(TraceServiceServicer):
    def __init__(self, want: int) -> None:
        self.want, self.spans, self.requests = want, 0, 0
        self.metadata: list[dict] = []
        self.lock = threading.Lock()
        self.enough = threading.Event()

    def Export(self, request: ExportTraceServiceRequest, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        with self.lock:
            self.spans += span_count(request)
            self.requests += 1
            self.metadata.append(dict(context.invocation_metadata()))
            if self.spans >= self.want:
                self.enough.set()
        return ExportTraceServiceResponse()


@pytest.fixture
def receiver():
    def start(want: int) -> tuple[str, CountingService]:
        service = CountingService(want)
        server = grpc.server(ThreadPoolExecutor(max_workers=4))
        add_TraceServiceServicer_to_server(service, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}", service

    servers: list[grpc.Server] = []
    yield start
    for s in servers:
        s.stop(grace=None)


def test_run_demo_delivers_spans(receiver) -> None:
    endpoint, service = receiver(want=300)
    stop = threading.Event()
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(
            run_demo(endpoint, rate=2000, seed=1, k8s_version="1.36", stop_event=stop, gzip=True, token="t0k")
        )
    )
    worker.start()
    assert service.enough.wait(timeout=20)
    stop.set()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert result["errors"] == 0 and result["spans"] >= 300
    assert result["spans"] == service.spans and result["requests"] == service.requests
    assert service.metadata[0]["authorization"] == "Bearer t0k"


def test_run_demo_in_real_time_catches_up_then_follows_the_clock(receiver) -> None:
    endpoint, service = receiver(want=200)
    stop = threading.Event()
    result: dict = {}
    start_ns = time.time_ns() - 20 * 1_000_000_000  # 20 simulated seconds are already due
    worker = threading.Thread(
        target=lambda: result.update(run_demo(endpoint, rate=None, start_ns=start_ns, stop_event=stop))
    )
    worker.start()
    assert service.enough.wait(timeout=20)
    stop.set()
    worker.join(timeout=20)
    assert not worker.is_alive() and result["errors"] == 0 and result["spans"] == service.spans


def test_send_respects_rate_and_duration(receiver) -> None:
    endpoint, service = receiver(want=1)
    items = [(b, min(50, 1000 - i * 50)) for i, b in enumerate(load_batch(1000, seed=2, batch_size=50))]
    stats = send(endpoint, items, rate=400)  # 1000 spans at 400/s: about 2.4 s
    assert stats.spans == 1000 == service.spans and stats.errors == 0
    assert stats.elapsed_s >= (1000 - 50) / 400 * 0.95
    stats = send(endpoint, iter(items * 100), rate=1000, duration=0.3)
    assert stats.elapsed_s < 5 and stats.spans <= 1000 * 0.3 + 100


def test_send_counts_errors_when_nobody_listens() -> None:
    stop = threading.Event()
    reqs = DemoCluster().next_requests(10)
    stats = send("127.0.0.1:1", reqs, stop_event=stop, timeout=2)
    assert stats.errors == len(reqs) and stats.spans == 0 and stats.last_error.startswith("UNAVAILABLE")


def _loadgen():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "loadgen.py"
    spec = importlib.util.spec_from_file_location("loadgen", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("target", ["127.0.0.1:4317", "localhost:4317", "[::1]:4317", "127.8.9.1:9"])
def test_loadgen_accepts_loopback(target: str) -> None:
    assert _loadgen().loopback_target(target) == target


@pytest.mark.parametrize("target", ["10.0.0.1:4317", "192.168.1.5:4317", "example.com:4317", "8.8.8.8:53", "4317"])
def test_loadgen_refuses_other_targets(target: str) -> None:
    with pytest.raises(ValueError):
        _loadgen().loopback_target(target)


def test_loadgen_runs_against_a_local_receiver(receiver, capsys: pytest.CaptureFixture) -> None:
    endpoint, service = receiver(want=3000)
    assert _loadgen().main(["--target", endpoint, "--clients", "2", "--batch", "50", "--gzip", "--spans", "3000"]) == 0
    assert service.spans == 3000 and service.enough.is_set()
    out = capsys.readouterr().out
    assert "sent 3000 spans in 60 requests, 0 errors" in out and "spans/s" in out and "p99" in out
