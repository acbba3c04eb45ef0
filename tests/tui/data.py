"""Deterministic spans for TUI tests: a small k8s-like cluster plus hostile text."""

from __future__ import annotations

import hashlib

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

BASE = 1_684_842_401_975_000_000  # 2023-05-23 11:46:41.975 UTC
MS = 1_000_000

HOSTILE_NAMES = [
    "[bold red]x[/]",
    "steal \x1b]52;c;aGVsbG8=\x07 clipboard",
    "clear \x1b[2J screen",
    "carriage\rreturn",
    "bidi \u202eevil\u202c end",
    "[link=file:///etc/passwd]click[/link]",
]


def trace_id(n: int) -> bytes:
    return hashlib.sha256(f"trace-{n}".encode()).digest()[:16]


def span_id(n: int, m: int) -> bytes:
    return hashlib.sha256(f"span-{n}-{m}".encode()).digest()[:8]


def kv(key: str, value) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def make_span(t: int, s: int, name: str, *, parent: int | None = None, start=0, dur=1, kind=1, error=False,
              attrs: dict | None = None, message="") -> Span:
    span = Span(trace_id=trace_id(t), span_id=span_id(t, s), name=name, kind=kind,
                start_time_unix_nano=BASE + t * 1000 * MS + start * MS,
                end_time_unix_nano=BASE + t * 1000 * MS + (start + dur) * MS,
                attributes=[kv(k, v) for k, v in (attrs or {}).items()])
    if parent is not None:
        span.parent_span_id = span_id(t, parent)
    if error:
        span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=message or "failed"))
    return span


def request(service: str, spans: list[Span], scope="k8s.io/kubernetes/pkg/kubelet", extra_resource=None) -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", service))
    for key, value in (extra_resource or {}).items():
        rs.resource.attributes.append(kv(key, value))
    ss = rs.scope_spans.add()
    ss.scope.name = scope
    ss.scope.version = "1.27.1"
    ss.spans.extend(spans)
    return req.SerializeToString()


def sync_pod_trace(t: int, pod: str, *, error: bool = False) -> list[bytes]:
    """kubelet syncPod with CRI client calls, containerd server spans under them."""
    kubelet = [
        make_span(t, 0, "syncPod", start=0, dur=1330, attrs={"k8s.pod": pod, "k8s.namespace.name": pod.split("/")[0]},
                  error=error, message="CreateContainerError"),
        make_span(t, 1, "runtime.v1.RuntimeService/RunPodSandbox", parent=0, start=5, dur=400, kind=3,
                  attrs={"rpc.method": "RunPodSandbox", "rpc.grpc.status_code": 0}),
        make_span(t, 2, "runtime.v1.ImageService/PullImage", parent=0, start=420, dur=600, kind=3,
                  attrs={"rpc.method": "PullImage", "rpc.grpc.status_code": 2 if error else 0}, error=error),
        make_span(t, 3, "runtime.v1.RuntimeService/CreateContainer", parent=0, start=1030, dur=200, kind=3,
                  attrs={"rpc.method": "CreateContainer"}),
    ]
    containerd = [
        make_span(t, 11, "runtime.v1.RuntimeService/RunPodSandbox", parent=1, start=6, dur=398, kind=2),
        make_span(t, 12, "runtime.v1.ImageService/PullImage", parent=2, start=421, dur=598, kind=2, error=error),
        make_span(t, 13, "pkg.cri.server.CreateContainer", parent=3, start=1031, dur=190),
    ]
    return [
        request("kubelet", kubelet, extra_resource={"host.name": "k3d-tracingcluster-server-0"}),
        request("containerd", containerd, scope="", extra_resource={"telemetry.sdk.language": "go"}),
    ]


def apiserver_trace(t: int, pod: str) -> list[bytes]:
    namespace, name = pod.split("/")
    spans = [
        make_span(t, 0, "KubernetesAPI", start=0, dur=3, kind=2,
                  attrs={"http.method": "GET", "http.status_code": 200,
                         "http.target": f"/api/v1/namespaces/{namespace}/pods/{name}"}),
        make_span(t, 1, "Get", parent=0, start=1, dur=1, attrs={"audit-id": f"audit-{t}"}),
        make_span(t, 2, "etcdserverpb.KV/Range", parent=1, start=1, dur=1, kind=3),
    ]
    return [request("apiserver", spans, scope="k8s.io/component-base/tracing",
                    extra_resource={"service.instance.id": "apiserver-ttvzbyvkxx2hwlx4d3zqs4tcwu"})]


def orphan_trace(t: int) -> list[bytes]:
    spans = [make_span(t, 1, "authentication", parent=0, start=0, dur=1)]  # parent 0 never sent
    return [request("apiserver", spans, scope="k8s.op/apiserver/pkg/endpoints/filterlatency")]


def hostile_trace(t: int) -> list[bytes]:
    spans = [make_span(t, 0, "hostile root", start=0, dur=10,
                       attrs={"payload": HOSTILE_NAMES[1], "markup": "[bold red]x[/]", "big": "A" * 1_000_000})]
    for index, name in enumerate(HOSTILE_NAMES, 1):
        spans.append(make_span(t, index, name, parent=0, start=index, dur=1,
                               attrs={name: name, "k8s.pod": "evil/\x1b[2Jpod"}))
    return [request("[red]svc[/]", spans)]


def cluster(traces: int = 12, hostile: bool = False) -> list[bytes]:
    """Requests for `traces` traces: syncPods (some failing), apiserver gets, an orphan."""
    pods = ["default/echo-command", "kube-system/coredns-59b4f5bbd5-x8k2p", "default/web-0"]
    out: list[bytes] = []
    for t in range(traces):
        pod = pods[t % len(pods)]
        if t % 4 == 3:
            out += apiserver_trace(t, pod)
        elif t == 5:
            out += orphan_trace(t)
        else:
            out += sync_pod_trace(t, pod, error=(t % 5 == 2))
    if hostile:
        out += hostile_trace(traces)
    return out
