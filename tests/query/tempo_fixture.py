"""The spans kubespan and a real Tempo both answer TraceQL queries over (golden files in tests/golden/query).

Kubernetes-like traces (kubelet → containerd, apiserver → etcd, an orphan) chosen to exercise
every corner the query language has: int vs string ports, arrays, booleans, doubles, names with
newlines and upper case, events and links with attributes, status messages, instrumentation
scopes with versions and attributes, a trace whose root never arrived. Times are offsets from a
base given at build time (Tempo searches recent data only, so the capture uses "now"; the golden
file keeps the base it used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support.spanfactory import set_value

MS = 1_000_000
SERVER, CLIENT, INTERNAL, PRODUCER, CONSUMER = 2, 3, 1, 4, 5
OK, ERROR = 1, 2


@dataclass
class F:
    """One fixture span; ids are small ints (trace ids get a high byte so no leading zeros)."""

    trace: int
    span: int
    parent: int
    name: str
    service: str
    kind: int = INTERNAL
    status: int = 0
    message: str = ""
    start: int = 0  # ms after the base
    duration: int = 10  # ms
    attrs: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)  # name, ms after start, attrs
    links: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)  # trace, span, attrs
    scope: tuple[str, str] = ("kubespan.test/fixture", "1.0.0")


def trace_bytes(n: int) -> bytes:
    return bytes([0xA0 + n]) + n.to_bytes(15, "big")


def span_bytes(trace: int, n: int) -> bytes:
    return bytes([0x10 + trace]) + n.to_bytes(7, "big")


RESOURCES: dict[str, dict[str, Any]] = {
    "kubelet": {"service.name": "kubelet", "host.name": "node-1", "k8s.node.name": "node-1"},
    "containerd": {"service.name": "containerd", "host.name": "node-1", "net.peer.port": 1},
    "apiserver": {"service.name": "apiserver", "host.name": "control-plane", "shared": "from-resource"},
    "etcd": {"service.name": "etcd", "host.name": "control-plane"},
}
SCOPE_ATTRS = {"kubespan.test/fixture": {"scope.flag": True, "scope.kind": "test"}}

SPANS = [
    # trace 1: kubelet syncPod → CRI client calls → containerd servers
    F(1, 1, 0, "syncPod", "kubelet", INTERNAL, start=0, duration=1500,
      attrs={"k8s.pod": "default/echo-command", "k8s.namespace.name": "default", "retries": 2, "ratio": 0.5,
             "flag": True, "tags": ["web", "canary"], "ports": [80, 443], "shared": "from-span"}),
    F(1, 2, 1, "runtime.v1.RuntimeService/RunPodSandbox", "kubelet", CLIENT, start=10, duration=400,
      attrs={"net.peer.port": 54678, "rpc.grpc.status_code": 0, "rpc.service": "runtime.v1.RuntimeService",
             "timeout_ms": 300.0}),
    F(1, 3, 2, "runtime.v1.RuntimeService/RunPodSandbox", "containerd", SERVER, OK, start=12, duration=390,
      attrs={"net.peer.port": "54678", "rpc.grpc.status_code": 0, "timeout_ms": 500.0},
      events=[("RunPodSandbox for &PodSandboxMetadata{Name:echo-command,}", 5, {"level": "info", "attempt": 1}),
              ("sandbox ready", 380, {"level": "debug"})]),
    F(1, 4, 1, "runtime.v1.ImageService/PullImage", "kubelet", CLIENT, start=420, duration=900,
      attrs={"net.peer.port": 54678, "image.ref": "docker.io/library/busybox:1.36", "retries": 0}),
    F(1, 5, 4, "runtime.v1.ImageService/PullImage", "containerd", SERVER, ERROR, "pull failed:\nmanifest unknown",
      start=425, duration=890, attrs={"net.peer.port": "54678", "rpc.grpc.status_code": 5, "flag": False},
      events=[("exception", 880, {"exception.message": "manifest unknown", "level": "error"})]),
    F(1, 6, 5, "content.Fetch", "containerd", INTERNAL, start=430, duration=200,
      attrs={"bytes": 1048576, "tags": ["registry"]}, scope=("containerd/remotes", "1.7.2")),
    F(1, 7, 1, "runtime.v1.RuntimeService/CreateContainer", "kubelet", CLIENT, start=1330, duration=100,
      attrs={"net.peer.port": 54678, "retries": 1}),
    F(1, 8, 7, "runtime.v1.RuntimeService/CreateContainer", "containerd", SERVER, OK, start=1332, duration=95,
      attrs={"net.peer.port": "54678"}),
    F(1, 9, 1, "SyncPod", "kubelet", INTERNAL, start=1440, duration=20, attrs={"note": "multi\nline"}),
    # trace 2: apiserver request → etcd, an event, a link into trace 1
    F(2, 1, 0, "GET /api/v1/namespaces/{:namespace}/pods", "apiserver", SERVER, ERROR, "boom",
      start=100, duration=250,
      attrs={"http.status_code": 500, "http.method": "GET", "audit-id": "a1b2c3d4", "user agent": "kubectl/v1.30",
             "shared": "from-span", "ratio": 1.5},
      events=[("About to write a response", 240, {"level": "info", "latency_ms": 12.5})],
      links=[(1, 1, {"link.kind": "caller", "hop": 1})]),
    F(2, 2, 1, "etcdserverpb.KV/Range", "apiserver", CLIENT, start=110, duration=30,
      attrs={"db.system": "etcd", "net.peer.port": 2379}),
    F(2, 3, 2, "etcdserverpb.KV/Range", "etcd", SERVER, OK, start=112, duration=25,
      attrs={"net.peer.port": 2379}),
    F(2, 4, 1, "multi\nline name", "apiserver", INTERNAL, start=150, duration=5,
      attrs={"http.status_code": "200", "retries": 3}),
    F(2, 5, 2, "etcdserverpb.KV/Txn", "apiserver", CLIENT, start=145, duration=40,
      attrs={"db.system": "etcd", "net.peer.port": 2379, "tags": ["write"]},
      links=[(2, 1, {"link.kind": "self"})]),
    # trace 3: the root never arrived (orphans), producer/consumer kinds
    F(3, 2, 1, "publish", "kubelet", PRODUCER, start=2000, duration=3,
      attrs={"messaging.system": "kafka", "retries": 5}),
    F(3, 3, 2, "consume", "containerd", CONSUMER, start=2010, duration=7,
      attrs={"messaging.system": "kafka", "value": "nil"}),
    F(3, 4, 2, "consume", "containerd", CONSUMER, start=2020, duration=9, attrs={"messaging.system": "kafka"}),
    # trace 4: a short trace with an unspecified kind and unset status
    F(4, 1, 0, "GET /healthz", "apiserver", 0, start=3000, duration=1, attrs={"http.status_code": 200}),
]


def build_request(base_ns: int) -> ExportTraceServiceRequest:
    """The fixture as one export request: one ResourceSpans per service, one ScopeSpans per scope."""
    request = ExportTraceServiceRequest()
    by_service: dict[str, Any] = {}
    by_scope: dict[tuple[str, tuple[str, str]], Any] = {}
    for f in SPANS:
        resource_spans = by_service.get(f.service)
        if resource_spans is None:
            resource_spans = by_service[f.service] = request.resource_spans.add()
            _attributes(resource_spans.resource.attributes, RESOURCES[f.service])
        scope_spans = by_scope.get((f.service, f.scope))
        if scope_spans is None:
            scope_spans = by_scope[(f.service, f.scope)] = resource_spans.scope_spans.add()
            scope_spans.scope.name, scope_spans.scope.version = f.scope
            _attributes(scope_spans.scope.attributes, SCOPE_ATTRS.get(f.scope[0], {}))
        _span(scope_spans.spans.add(), f, base_ns)
    return request


def _span(span: Span, f: F, base_ns: int) -> None:
    span.trace_id = trace_bytes(f.trace)
    span.span_id = span_bytes(f.trace, f.span)
    if f.parent:
        span.parent_span_id = span_bytes(f.trace, f.parent)
    span.name = f.name
    span.kind = f.kind
    span.start_time_unix_nano = base_ns + f.start * MS
    span.end_time_unix_nano = base_ns + (f.start + f.duration) * MS
    if f.status or f.message:
        span.status.CopyFrom(Status(code=f.status, message=f.message))
    _attributes(span.attributes, f.attrs)
    for name, offset, attrs in f.events:
        event = span.events.add(name=name, time_unix_nano=span.start_time_unix_nano + offset * MS)
        _attributes(event.attributes, attrs)
    for trace, span_n, attrs in f.links:
        link = span.links.add(trace_id=trace_bytes(trace), span_id=span_bytes(trace, span_n))
        _attributes(link.attributes, attrs)


def _attributes(target, values: dict[str, Any]) -> None:
    for key, value in values.items():
        set_value(target.add(key=key).value, value)


def span_key(trace_hex: str, span_hex: str) -> str:
    """One span as the golden files write it: `trace/span` in lower-case hex, 32 and 16 digits."""
    return f"{trace_hex.lower().zfill(32)}/{span_hex.lower().zfill(16)}"
