"""Deterministic generator of realistic OTLP traces from a one-node k3d cluster.

It mirrors what kube-apiserver, the kubelet and containerd emit (see
shared/reference/k8s-spans.md): apiserver request traces (`KubernetesAPI` up to 1.30, route
names later) with handler, storage and etcd client spans; kubelet `syncPod` traces whose CRI
client spans each have a containerd SERVER child in the same trace; background noise (PLEG
relists every second, lease renewals, health checks, metrics scrapes); occasional errors; and
kubelet -> apiserver calls that show up as two traces joined by a span link.

Same seed, version and start time => byte-identical output.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

VERSIONS = ("1.27", "1.36")
DEFAULT_START_NS = 1_684_842_401_975_000_000  # 2023-05-23 11:46:41.975 UTC, the blog's syncPod trace
NODE = "k3d-tracingcluster-server-0"

MS = 1_000_000
US = 1_000
S = 1_000_000_000

SERVER, CLIENT, INTERNAL = Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT, Span.SPAN_KIND_INTERNAL
ERROR = Status.STATUS_CODE_ERROR

SCOPE_TRACING = "k8s.io/component-base/tracing"
SCOPE_FILTER = "k8s.op/apiserver/pkg/endpoints/filterlatency"
SCOPE_OTELHTTP = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
SCOPE_OTELGRPC = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
SCOPE_OTELRESTFUL = "go.opentelemetry.io/contrib/instrumentation/github.com/emicklei/go-restful/otelrestful"
SCOPE_KUBELET = "k8s.io/kubernetes/pkg/kubelet"
SCOPE_OTELTTRPC = "go.opentelemetry.io/contrib/instrumentation/github.com/containerd/ttrpc/otelttrpc"
IMAGE_METHODS = ("PullImage", "ImageStatus", "ListImages", "RemoveImage", "ImageFsInfo")

GRPC_CODES = {0: "OK", 2: "UNKNOWN", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND", 14: "UNAVAILABLE"}

AttrValue = str | int | float | bool
Attrs = list[tuple[str, AttrValue]]


def kv(key: str, value: AttrValue) -> KeyValue:
    """One OTLP attribute."""
    out = KeyValue(key=key)
    if isinstance(value, bool):
        out.value.bool_value = value
    elif isinstance(value, int):
        out.value.int_value = value
    elif isinstance(value, float):
        out.value.double_value = value
    else:
        out.value.string_value = value
    return out


def apiserver_instance_id(hostname: str = NODE) -> str:
    """`apiserver-` + 26 lowercase base32 chars of sha256(hostname + "kube-apiserver")[:16]."""
    digest = hashlib.sha256((hostname + "kube-apiserver").encode()).digest()[:16]
    return "apiserver-" + base64.b32encode(digest).decode().rstrip("=").lower()


@dataclass(frozen=True)
class Caller:
    """Who sends an HTTP request to the apiserver."""

    user_agent: str
    peer_ip: str
    host: str  # Host header
    masters: bool  # member of system:masters: parented normally from 1.33 on
    traced: bool = False  # sends a traceparent (only the kubelet does)


@dataclass
class ApiRequest:
    """One request to the apiserver, enough to derive URL, route template and handler."""

    method: str
    resource: str = ""  # empty for non-resource URLs such as /readyz
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    group: str = ""
    version: str = "v1"
    query: str = ""
    raw_path: str = ""  # non-resource path

    @property
    def path(self) -> str:
        if not self.resource:
            return self.raw_path
        parts = ["/apis/" + self.group if self.group else "/api", self.version]
        if self.namespace:
            parts += ["namespaces", self.namespace]
        parts.append(self.resource)
        if self.name:
            parts.append(self.name)
        if self.subresource:
            parts.append(self.subresource)
        return "/".join(parts)

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    def route(self) -> str:
        """Span name the apiserver uses from 1.31: method plus path template."""
        if not self.resource:
            return self.method
        parts = ["/apis/" + self.group if self.group else "/api", self.version]
        if self.namespace:
            parts += ["namespaces", "{:namespace}"]
        parts.append(self.resource)
        if self.name:
            parts.append("{:name}")
        if self.subresource:
            parts.append(self.subresource)
        return f"{self.method} {'/'.join(parts)}"

    @property
    def verb(self) -> str:
        if self.method == "GET" and not self.name:
            return "WATCH" if "watch=true" in self.query else "LIST"
        return self.method

    @property
    def handler(self) -> str:
        return {"POST": "Create", "PUT": "Update", "PATCH": "Patch", "DELETE": "Delete"}.get(
            self.method, "Get" if self.name else "List"
        )

    @property
    def scope(self) -> str:
        return "resource" if self.name else "namespace" if self.namespace else "cluster"


@dataclass
class Pod:
    namespace: str
    name: str
    image: str
    uid: str
    image_ok: bool = True
    sandbox_id: str = ""
    container_id: str = ""


@dataclass(order=True)
class _Pending:
    end: int
    seq: int
    service: str = field(compare=False)
    scope: str = field(compare=False)
    span: Span = field(compare=False)


_SYSTEM_PODS = [
    ("kube-system", "coredns-59b4f5bbd5-k7q2m", "rancher/mirrored-coredns-coredns:1.10.1"),
    ("kube-system", "local-path-provisioner-76d776f6f9-x8n4t", "rancher/local-path-provisioner:v0.0.24"),
    ("kube-system", "metrics-server-7b67f64457-hd6zp", "rancher/mirrored-metrics-server:v0.6.3"),
    ("kube-system", "traefik-56b8c5fb5c-2wz97", "rancher/mirrored-library-traefik:2.9.10"),
    ("kube-system", "svclb-traefik-5c1c9e2b-jbmvl", "rancher/klipper-lb:v0.4.3"),
]
_WORKLOADS = [
    ("web", "nginx:1.25"),
    ("api", "ghcr.io/example/api:2.3.1"),
    ("worker", "python:3.12-slim"),
    ("cache", "redis:7.2"),
    ("web", "nginx:latests"),  # typo: the image pull fails
]


class DemoCluster:
    """A simulated k3d node that produces OTLP export requests, one per service per batch."""

    def __init__(self, seed: int = 0, k8s_version: str = "1.27", start_ns: int | None = None) -> None:
        if k8s_version not in VERSIONS:
            raise ValueError(f"k8s_version must be one of {', '.join(VERSIONS)}, got {k8s_version!r}")
        self.rng = random.Random(seed)
        self.version = k8s_version
        self.stable = k8s_version == "1.36"  # stable HTTP/RPC semconv, route span names, nested filters
        self.now = DEFAULT_START_NS if start_ns is None else start_ns
        self.k3s = "v1.36.0+k3s1" if self.stable else "v1.27.1+k3s1"
        self._seq = 0
        self._events: list[tuple[int, int, Callable[[int], None]]] = []
        self._pending: list[_Pending] = []
        self._ready: list[_Pending] = []
        self.pods: dict[str, Pod] = {}
        self._pulled: set[str] = set()
        self._resources = self._make_resources()
        git = "0f1c7a4" if self.stable else "bc5b42c"
        k3s_ua = f"k3s/{self.k3s} (linux/amd64) kubernetes/{git}"
        self.kubectl = Caller(
            f"kubectl/{self.k3s.split('+')[0]} (linux/amd64) kubernetes/4c94112", "172.18.0.3", "0.0.0.0:60503", True
        )
        self.kubelet = Caller(k3s_ua, "127.0.0.1", "127.0.0.1:6443", False, traced=True)
        self.scheduler = Caller(k3s_ua + "/scheduler", "127.0.0.1", "127.0.0.1:6443", False)
        self.leader = Caller(k3s_ua + "/leader-election", "127.0.0.1", "127.0.0.1:6443", False)
        self.k3s_agent = Caller(k3s_ua, "127.0.0.1", "127.0.0.1:6443", True)
        self.rs_controller = Caller(
            k3s_ua + "/system:serviceaccount:kube-system:replicaset-controller", "127.0.0.1", "127.0.0.1:6443", False
        )
        for ns, name, image in _SYSTEM_PODS:
            self.pods[f"{ns}/{name}"] = Pod(ns, name, image, self._uuid(), sandbox_id=self._hex(32),
                                            container_id=self._hex(32))
            self._pulled.add(image)
        t = self.now
        for delay, handler in [
            (0, self._pleg), (3 * S, self._node_lease), (1 * S, self._leases), (2 * S, self._health),
            (4 * S, self._metrics_scrape), (5 * S, self._resync), (1500 * MS, self._controller_get),
            (7 * S, self._controller_list), (11 * S, self._controller_update), (2 * S, self._echo_command),
            (25 * S, self._workload),
        ]:
            self._at(t + delay, handler)

    # ---- public API -------------------------------------------------------------------------

    def next_requests(self, max_spans: int = 512) -> list[ExportTraceServiceRequest]:
        """Advance simulated time and return up to `max_spans` finished spans as export requests,
        one per service (resource), in the order a real exporter would have sent them."""
        if max_spans < 1:
            raise ValueError("max_spans must be at least 1")
        while len(self._ready) < max_spans:
            t, _, handler = heapq.heappop(self._events)
            self.now = t
            handler(t)
            while self._pending and self._pending[0].end <= self.now:
                self._ready.append(heapq.heappop(self._pending))
        batch, self._ready = self._ready[:max_spans], self._ready[max_spans:]
        return self._to_requests(batch)

    def requests(self, n_spans: int, max_spans: int = 512) -> Iterable[ExportTraceServiceRequest]:
        """Yield requests until at least `n_spans` spans were produced."""
        produced = 0
        while produced < n_spans:
            reqs = self.next_requests(min(max_spans, n_spans - produced))
            produced += sum(len(ss.spans) for r in reqs for rs in r.resource_spans for ss in rs.scope_spans)
            yield from reqs

    # ---- plumbing ---------------------------------------------------------------------------

    def _make_resources(self) -> dict[str, list[KeyValue]]:
        containerd = [kv("service.name", "containerd")]
        if self.stable:  # containerd 1.7+/2.x: SDK default resource
            containerd += [kv("telemetry.sdk.language", "go"), kv("telemetry.sdk.name", "opentelemetry"),
                           kv("telemetry.sdk.version", "1.38.0")]
        return {
            "apiserver": [kv("service.name", "apiserver"), kv("service.instance.id", apiserver_instance_id())],
            "kubelet": [kv("service.name", "kubelet"), kv("host.name", NODE)],
            "containerd": containerd,
        }

    def _scope_version(self, scope: str, service: str) -> str:
        if scope in (SCOPE_OTELHTTP, SCOPE_OTELGRPC, SCOPE_OTELRESTFUL):
            if self.stable:
                return "0.61.0" if service == "containerd" else "0.65.0"
            return "semver:0.28.0" if service == "containerd" else "semver:0.35.0"
        return ""

    def _to_requests(self, batch: list[_Pending]) -> list[ExportTraceServiceRequest]:
        by_service: dict[str, dict[str, list[Span]]] = {}
        for p in batch:
            by_service.setdefault(p.service, {}).setdefault(p.scope, []).append(p.span)
        out = []
        for service, scopes in by_service.items():
            req = ExportTraceServiceRequest()
            rs = req.resource_spans.add()
            rs.resource.attributes.extend(self._resources[service])
            for scope, spans in scopes.items():
                ss = rs.scope_spans.add()
                ss.scope.name = scope
                ss.scope.version = self._scope_version(scope, service)
                ss.spans.extend(spans)
            out.append(req)
        return out

    def _at(self, t: int, handler: Callable[[int], None]) -> None:
        self._seq += 1
        heapq.heappush(self._events, (t, self._seq, handler))

    def _id(self, n: int) -> bytes:
        return (self.rng.getrandbits(8 * n) or 1).to_bytes(n, "big")

    def _hex(self, n: int) -> str:
        return self._id(n).hex()

    def _uuid(self) -> str:
        return str(uuid.UUID(bytes=self._id(16), version=4))

    def _jit(self, base: int, spread: float = 0.3) -> int:
        """`base` ns give or take `spread` (relative), at least 1 µs."""
        return max(US, int(base * (1 + self.rng.uniform(-spread, spread))))

    def _span(self, service: str, scope: str, name: str, kind: int, trace_id: bytes, parent: bytes,
              start: int, end: int, attrs: Attrs = (), events: Iterable[tuple[int, str, Attrs]] = (),
              links: Iterable[tuple[bytes, bytes]] = (), error: str | None = None) -> bytes:
        span = Span(trace_id=trace_id, span_id=self._id(8), parent_span_id=parent, name=name, kind=kind,
                    start_time_unix_nano=start, end_time_unix_nano=end)
        span.attributes.extend(kv(k, v) for k, v in attrs)
        for t, ev_name, ev_attrs in events:
            ev = span.events.add(time_unix_nano=t, name=ev_name)
            ev.attributes.extend(kv(k, v) for k, v in ev_attrs)
        for link_trace, link_span in links:
            span.links.add(trace_id=link_trace, span_id=link_span)
        if error is not None:
            span.status.code = ERROR
            span.status.message = error
        self._seq += 1
        heapq.heappush(self._pending, _Pending(end, self._seq, service, scope, span))
        return span.span_id

    def _spread(self, start: int, end: int, names: list[str]) -> list[int]:
        step = (end - start) // (len(names) + 1)
        return [start + step * (i + 1) for i in range(len(names))]

    # ---- gRPC spans -------------------------------------------------------------------------

    def _rpc_attrs(self, full_method: str, code: int, ttrpc: bool = False) -> Attrs:
        service, method = full_method.split("/")
        if ttrpc:
            return [("rpc.system", "ttrpc"), ("rpc.service", service), ("rpc.method", method)]
        if self.stable:
            return [("rpc.system.name", "grpc"), ("rpc.method", full_method),
                    ("rpc.response.status_code", GRPC_CODES[code])]
        return [("rpc.system", "grpc"), ("rpc.service", service), ("rpc.method", method),
                ("rpc.grpc.status_code", code)]

    def _message_events(self, start: int, end: int, sent: int, received: int, client: bool) -> list:
        first, second = ("SENT", "RECEIVED") if client else ("RECEIVED", "SENT")

        def ev(t: int, kind: str, size: int) -> tuple[int, str, Attrs]:
            attrs: Attrs = [("message.type", kind), ("message.id", 1), ("message.uncompressed_size", size)]
            if self.stable:
                attrs.append(("message.compressed_size", size))
            return (t, "message", attrs)

        return [ev(start + US, first, sent), ev(end - US, second, received)]

    def _grpc_client(self, service: str, trace_id: bytes, parent: bytes, start: int, dur: int,
                     full_method: str, code: int = 0, message: str = "", sizes: tuple[int, int] = (64, 256)) -> bytes:
        end = start + dur
        return self._span(
            service, SCOPE_OTELGRPC, full_method, CLIENT, trace_id, parent, start, end,
            self._rpc_attrs(full_method, code), self._message_events(start, end, *sizes, client=True),
            error=message if code else None,
        )

    def _cri(self, trace_id: bytes, parent: bytes, start: int, dur: int, method: str, *,
             code: int = 0, message: str = "", logs: list[str] = (), attrs: Attrs = (),
             events: list[tuple[str, Attrs]] = (), ttrpc: list[str] = ()) -> int:
        """A kubelet CRI client span with its containerd server span as child; returns end time."""
        svc = "ImageService" if method in IMAGE_METHODS else "RuntimeService"
        full = f"runtime.v1.{svc}/{method}"
        end = start + dur
        client = self._grpc_client("kubelet", trace_id, parent, start, dur, full, code, message)
        s_start, s_end = start + self._jit(150 * US), end - self._jit(100 * US)
        s_end = max(s_end, s_start + 20 * US)
        evs = self._message_events(s_start, s_end, 256, 64, client=False)
        log_times = self._spread(s_start, s_end, list(logs) + [name for name, _ in events])
        for t, line in zip(log_times, logs):
            evs.append((t, line, [("level", "error" if code and line.endswith("failed") else "info")]
                        + ([("error", message)] if code and line.endswith("failed") else [])))
        for t, (name, ev_attrs) in zip(log_times[len(logs):], events):
            evs.append((t, name, ev_attrs))
        evs.sort(key=lambda e: e[0])
        server = self._span("containerd", SCOPE_OTELGRPC, full, SERVER, trace_id, client, s_start, s_end,
                            self._rpc_attrs(full, code) + list(attrs if self.stable else ()), evs,
                            error=message if code else None)
        t = s_start + (s_end - s_start) // 3
        for task_method in ttrpc:  # containerd 2.x: the shim's ttrpc client spans
            d = self._jit((s_end - s_start) // (len(ttrpc) + 2))
            self._span("containerd", SCOPE_OTELTTRPC, f"containerd.task.v3.Task/{task_method}", CLIENT,
                       trace_id, server, t, t + d,
                       self._rpc_attrs(f"containerd.task.v3.Task/{task_method}", 0, ttrpc=True))
            t += d + 10 * US
        return end

    def _cri_root(self, t: int, method: str, dur: int) -> int:
        """A background CRI call: kubelet CLIENT root plus containerd SERVER child."""
        return self._cri(self._id(16), b"", t, dur, method)

    # ---- apiserver --------------------------------------------------------------------------

    def _http_server_attrs(self, req: ApiRequest, caller: Caller, status: int, wrote: int, audit: str) -> Attrs:
        host, port = caller.host.rsplit(":", 1)
        peer_port = self.rng.randint(32768, 60999)
        if self.stable:
            attrs: Attrs = [
                ("http.request.method", req.method), ("url.scheme", "https"), ("server.address", host),
                ("server.port", int(port)), ("network.peer.address", caller.peer_ip),
                ("network.peer.port", peer_port), ("user_agent.original", caller.user_agent),
                ("client.address", caller.peer_ip), ("url.path", req.path), ("network.protocol.name", "http"),
                ("network.protocol.version", "2"), ("http.response.status_code", status),
            ]
            if req.method in ("POST", "PUT", "PATCH"):
                attrs.append(("http.request.body.size", self.rng.randint(200, 3000)))
            return attrs + [("http.response.body.size", wrote), ("http.target", req.target), ("audit-id", audit)]
        return [
            ("net.transport", "ip_tcp"), ("net.peer.ip", caller.peer_ip), ("net.peer.port", peer_port),
            ("net.host.ip", "127.0.0.1" if caller.peer_ip == "127.0.0.1" else "172.18.0.2"),
            ("net.host.port", 6443), ("http.target", req.target), ("http.server_name", "KubernetesAPI"),
            ("http.user_agent", caller.user_agent), ("http.scheme", "https"), ("http.host", caller.host),
            ("http.flavor", "2"), ("http.method", req.method), ("http.wrote_bytes", wrote),
            ("http.status_code", status),
        ]

    def _handler_attrs(self, req: ApiRequest, caller: Caller, audit: str) -> Attrs:
        attrs: Attrs = [("accept", "application/vnd.kubernetes.protobuf, */*"), ("audit-id", audit),
                        ("client", caller.peer_ip)]
        if self.stable:
            attrs += [("api-group", req.group), ("api-version", req.version)]
        attrs += [("name", req.name), ("subresource", req.subresource)]
        if self.stable:
            attrs.append(("namespace", req.namespace))
        return attrs + [("protocol", "HTTP/2.0"), ("resource", req.resource), ("scope", req.scope),
                        ("url", req.path), ("user-agent", caller.user_agent), ("verb", req.verb)]

    _HANDLER_EVENTS = {
        "Create": ["limitedReadBody succeeded", "About to convert to expected version", "Conversion done",
                   "About to store object in database", "Write to database call succeeded",
                   "About to write a response", "Writing http response done"],
        "Update": ["limitedReadBody succeeded", "About to convert to expected version", "Conversion done",
                   "About to store object in database", "Write to database call succeeded",
                   "About to write a response", "Writing http response done"],
        "Get": ["About to process Get options", "About to Get from storage", "About to write a response",
                "Writing http response done"],
        "List": ["About to List from storage", "Listing from storage done", "Writing http response done"],
        "Patch": ["limitedReadBody succeeded", "Recorded the audit event", "About to apply patch",
                  "About to check admission control", "Object stored in database", "About to write a response",
                  "Writing http response done"],
        "Delete": ["limitedReadBody succeeded", "Decoded delete options", "Recorded the audit event",
                   "About to delete object from database", "Object deleted from database",
                   "About to write a response", "Writing http response done"],
    }

    def api_request(self, t: int, req: ApiRequest, caller: Caller, *, status: int = 200, dur: int = 3 * MS,
                    link: tuple[bytes, bytes] | None = None, object_type: str = "*core.Pod",
                    etcd_error: str | None = None, conflict: bool = False,
                    downstream: Callable[[bytes, bytes, int, int], None] | None = None) -> int:
        """One apiserver request trace starting at `t`; returns its end time.

        `downstream(trace_id, parent, start, end)` adds spans below the handler (e.g. a kubelet call).
        """
        end = t + dur
        audit = self._uuid()
        wrote = self.rng.randint(300, 6000) if status < 400 else self.rng.randint(180, 400)
        links = [link] if link and caller.traced else []
        auth_end = t + self._jit(300 * US)
        http_attrs = self._http_server_attrs(req, caller, status, wrote, audit)
        server_error = "" if status >= 500 else None  # otelhttp: server spans fail on 5xx only, no message
        if self.stable:
            # 1.34+: authentication wraps the route span; public callers (not system:masters) get a new root
            auth_trace = self._id(16)
            auth = self._span("apiserver", SCOPE_FILTER, "authentication", INTERNAL, auth_trace, b"", t, end)
            trace_id, parent = (auth_trace, auth) if caller.masters else (self._id(16), b"")
            root = self._span("apiserver", SCOPE_OTELHTTP, req.route(), SERVER, trace_id, parent,
                              t + 40 * US, end - 30 * US, http_attrs, links=links if not caller.masters else (),
                              error=server_error)
            parent, s, e = root, auth_end, end - 60 * US
            for name in ("audit", "impersonation", "priorityandfairness", "authorization"):
                s, e = s + 15 * US, e - 10 * US
                parent = self._span("apiserver", SCOPE_FILTER, name, INTERNAL, trace_id, parent, s, e)
            h_start, h_end = s + 20 * US, e - 20 * US
        else:
            # 1.27: KubernetesAPI is always a new root (+ link); handler spans hang below the
            # `authentication` span, which has already ended
            trace_id = self._id(16)
            root = self._span("apiserver", SCOPE_OTELHTTP, "KubernetesAPI", SERVER, trace_id, b"", t, end,
                              http_attrs, links=links, error=server_error)
            parent = self._span("apiserver", SCOPE_FILTER, "authentication", INTERNAL, trace_id, root,
                                t + 20 * US, auth_end)
            h_start, h_end = auth_end + 30 * US, end - 40 * US
        if not req.resource or req.verb == "WATCH" or req.subresource in ("attach", "exec", "portforward"):
            return end  # non-resource URLs, watches and connect handlers have no handler spans
        handler = req.handler
        names = list(self._HANDLER_EVENTS[handler])
        if status == 404 and "About to delete object from database" in names:
            names = names[:names.index("About to delete object from database") + 1]
        if conflict or etcd_error:
            names = [n if n != "Write to database call succeeded" else "Write to database call failed" for n in names]
        times = self._spread(h_start, h_end, names)
        events = []
        for ev_t, name in zip(times, names):
            ev_attrs: Attrs = []
            if name.startswith("Write to database call") or name == "limitedReadBody succeeded":
                ev_attrs.append(("len", self.rng.randint(400, 4000)))
            if name == "Write to database call failed":
                ev_attrs.append(("err", etcd_error or f'Operation cannot be fulfilled on {req.resource} "{req.name}": '
                                 "the object has been modified; please apply your changes to the latest version "
                                 "and try again"))
            if name == "Writing http response done" and handler == "List":
                ev_attrs.append(("count", self.rng.randint(5, 40)))
            events.append((ev_t, name, ev_attrs))
        hspan = self._span("apiserver", SCOPE_TRACING, handler, INTERNAL, trace_id, parent, h_start, h_end,
                           self._handler_attrs(req, caller, audit), events)
        # storage below the handler
        s_start = times[min(len(times) - 1, 2 if handler != "List" else 0)]
        s_end = min(h_end - 200 * US, s_start + self._jit(dur // 3))
        key = f"/{req.resource}/{req.namespace}/{req.name}" if req.namespace else f"/{req.resource}/{req.name}"
        group_resource = f"{req.resource}.{req.group}" if req.group else req.resource
        etcd_method, etcd_code = "etcdserverpb.KV/Range", 0
        if handler == "List":
            storage = "cacher.GetList" if self.stable else "cacher list"
            sp = self._span("apiserver", SCOPE_TRACING, storage, INTERNAL, trace_id, hspan, s_start, s_end,
                            [("audit-id", audit), ("type", object_type)],
                            [(s_start + 30 * US, "Ready", []), (s_start + 80 * US, "Listed items from cache",
                              [("count", self.rng.randint(5, 40))]), (s_end - 40 * US, "Filtered items",
                                                                    [("count", self.rng.randint(1, 10))])])
            etcd_method = ""  # served from the watch cache
        elif handler == "Get":
            sp = hspan
            if self.stable:
                sp = self._span("apiserver", SCOPE_TRACING, "cacher.Get", INTERNAL, trace_id, hspan, s_start, s_end,
                                [("audit-id", audit), ("type", object_type)])
        else:
            storage = "Create etcd3" if handler == "Create" else "GuaranteedUpdate etcd3"
            evs = ["About to Encode", "Encode succeeded", "TransformToStorage succeeded", "Txn call succeeded",
                   "decode succeeded"] if storage == "Create etcd3" else [
                "initial value restored", "About to Encode", "Encode succeeded", "TransformToStorage succeeded",
                "Transaction prepared", "Txn call completed", "Transaction committed", "decode succeeded"]
            if conflict:
                evs = evs[:6] + ["Retry value restored"]
            sp = self._span("apiserver", SCOPE_TRACING, storage, INTERNAL, trace_id, hspan, s_start, s_end,
                            [("audit-id", audit), ("key", key), ("type", object_type), ("resource", group_resource)],
                            [(et, n, [("len", 900)] if "succeeded" in n and "Encode" in n else [])
                             for et, n in zip(self._spread(s_start, s_end, evs), evs)])
            etcd_method = "etcdserverpb.KV/Txn"
        if etcd_error:
            etcd_code = 4
        if etcd_method:
            e_start = s_start + (s_end - s_start) // 3
            self._grpc_client("apiserver", trace_id, sp, e_start, self._jit((s_end - s_start) // 2), etcd_method,
                              etcd_code, "context deadline exceeded" if etcd_code else "", (120, 900))
        if downstream:
            downstream(trace_id, hspan, s_end, h_end - 100 * US)
        if status < 400:
            ser_start = max(s_end, times[-2]) + 20 * US
            self._span("apiserver", SCOPE_TRACING, "SerializeObject", INTERNAL, trace_id, hspan, ser_start,
                       min(h_end - 10 * US, ser_start + self._jit(200 * US)),
                       [("audit-id", audit), ("method", req.method), ("url", req.path), ("protocol", "HTTP/2.0"),
                        ("mediaType", "application/vnd.kubernetes.protobuf"), ("encoder", "protobuf")],
                       [(ser_start + 10 * US, "About to start writing response", [("size", wrote)]),
                        (ser_start + 100 * US, "Write call succeeded", [("size", wrote)])])
        return end

    def _kubelet_http(self, t: int, req: ApiRequest, *, status: int = 200, dur: int = 4 * MS,
                      object_type: str = "*core.Pod", conflict: bool = False) -> int:
        """A kubelet HTTP client root span and the apiserver trace linked to it."""
        trace_id = self._id(16)
        url = f"https://127.0.0.1:6443{req.target}"
        if self.stable:
            attrs: Attrs = [("http.request.method", req.method), ("url.full", url), ("server.address", "127.0.0.1"),
                            ("server.port", 6443), ("network.protocol.version", "1.1")]
            if req.method in ("PUT", "PATCH", "POST"):
                attrs.append(("http.request.body.size", self.rng.randint(200, 3000)))
            attrs.append(("http.response.status_code", status))
        else:
            attrs = [("http.url", url), ("http.user_agent", self.kubelet.user_agent)]
            if req.method in ("PUT", "PATCH", "POST"):
                attrs.append(("http.request_content_length", self.rng.randint(200, 3000)))
            attrs += [("http.scheme", "https"), ("http.host", "127.0.0.1:6443"), ("http.flavor", "1.1"),
                      ("http.method", req.method), ("http.status_code", status)]
        client = self._span("kubelet", SCOPE_OTELHTTP, f"HTTP {req.method}", CLIENT, trace_id, b"", t, t + dur, attrs,
                            error="" if status >= 400 else None)  # client spans fail on 4xx and 5xx
        self.api_request(t + 300 * US, req, self.kubelet, status=status, dur=dur - 600 * US,
                         link=(trace_id, client), object_type=object_type, conflict=conflict)
        return t + dur

    # ---- kubelet ----------------------------------------------------------------------------

    def _sync_pod(self, t: int, pod: Pod, update_type: str, body: Callable[[bytes, bytes, int], tuple[int, str]],
                  name: str = "syncPod") -> int:
        """A pod-worker root span; `body(trace_id, parent, start) -> (end, error)` adds its children."""
        trace_id = self._id(16)
        span_id = self._id(8)
        end, error = body(trace_id, span_id, t + self._jit(400 * US))
        end += self._jit(500 * US)
        attrs: Attrs = [("k8s.pod.uid", pod.uid), ("k8s.pod", f"{pod.namespace}/{pod.name}"),
                        ("k8s.pod.name", pod.name)]
        if name == "syncPod":
            attrs.append(("k8s.pod.update_type", update_type))
        attrs.append(("k8s.namespace.name", pod.namespace))
        span = Span(trace_id=trace_id, span_id=span_id, name=name, kind=INTERNAL, start_time_unix_nano=t,
                    end_time_unix_nano=end)
        span.attributes.extend(kv(k, v) for k, v in attrs)
        if error and self.stable and name == "syncPod":  # Error status on syncPod since ~1.31
            span.events.add(time_unix_nano=end - 100 * US, name="exception",
                            attributes=[kv("exception.type", "*errors.errorString"), kv("exception.message", error)])
            span.status.code = ERROR
            span.status.message = error
        self._seq += 1
        heapq.heappush(self._pending, _Pending(end, self._seq, "kubelet", SCOPE_KUBELET, span))
        return end

    def _start_pod(self, pod: Pod) -> Callable[[bytes, bytes, int], tuple[int, str]]:
        def body(trace_id: bytes, parent: bytes, t: int) -> tuple[int, str]:
            meta = f"&PodSandboxMetadata{{Name:{pod.name},Uid:{pod.uid},Namespace:{pod.namespace},Attempt:0,}}"
            pod.sandbox_id = self._hex(32)
            t = self._cri(trace_id, parent, t, self._jit(250 * MS), "RunPodSandbox",
                          logs=[f"RunPodSandbox for {meta}",
                                f'RunPodSandbox for {meta} returns sandbox id "{pod.sandbox_id}"'],
                          attrs=[("sandbox.id", pod.sandbox_id)])
            t = self._cri(trace_id, parent, t + self._jit(300 * US), self._jit(900 * US), "PodSandboxStatus")
            t = self._cri(trace_id, parent, t + self._jit(200 * US), self._jit(600 * US), "ImageStatus")
            ref = f"docker.io/library/{pod.image}" if "/" not in pod.image else pod.image
            if pod.image not in self._pulled:
                if not pod.image_ok:
                    msg = (f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": '
                           f"{ref}: not found")
                    t = self._cri(trace_id, parent, t + 200 * US, self._jit(900 * MS), "PullImage", code=2, message=msg,
                                  logs=[f'PullImage "{pod.image}"', f'PullImage "{pod.image}" failed'])
                    return t, f'failed to "StartContainer" for "{pod.name.split("-")[0]}" with ErrImagePull: "{msg}"'
                digest = "sha256:" + self._hex(32)
                t = self._cri(trace_id, parent, t + 200 * US, self._jit(1260 * MS), "PullImage",
                              logs=[f'PullImage "{pod.image}"',
                                    f'PullImage "{pod.image}" returns image reference "{digest}"'],
                              attrs=[("image.ref", ref), ("snapshotter.name", "overlayfs")],
                              events=[("Pull and unpack image complete", [])])
                self._pulled.add(pod.image)
                t = self._cri(trace_id, parent, t + self._jit(300 * US), self._jit(480 * US), "ImageStatus")
            container = pod.name if pod.name == "echo-command" else pod.name.split("-")[0]
            pod.container_id = self._hex(32)
            cmeta = f"&ContainerMetadata{{Name:{container},Attempt:0,}}"
            dur = self._jit(23 * MS)
            t = self._cri(trace_id, parent, t + self._jit(2 * MS), dur, "CreateContainer",
                          logs=[f'CreateContainer within sandbox "{pod.sandbox_id}" for container {cmeta}',
                                f'CreateContainer within sandbox "{pod.sandbox_id}" for {cmeta} returns container id '
                                f'"{pod.container_id}"'],
                          attrs=[("sandbox.id", pod.sandbox_id), ("container.id", pod.container_id),
                                 ("container.name", container), ("container.image.ref", ref)],
                          events=[("container created", [("container.create.duration", f"{dur / MS:.1f}ms")])])
            dur = self._jit(53 * MS)
            t = self._cri(trace_id, parent, t + self._jit(1 * MS), dur, "StartContainer",
                          logs=[f'StartContainer for "{pod.container_id}"',
                                f'StartContainer for "{pod.container_id}" returns successfully'],
                          attrs=[("container.id", pod.container_id), ("sandbox.id", pod.sandbox_id)],
                          events=[("container started", [("container.start.duration", f"{dur / MS:.1f}ms")])],
                          ttrpc=["Create", "Start"] if self.stable else [])
            return t, ""

        return body

    def _status_body(self, calls: list[str]) -> Callable[[bytes, bytes, int], tuple[int, str]]:
        def body(trace_id: bytes, parent: bytes, t: int) -> tuple[int, str]:
            for method in calls:
                t = self._cri(trace_id, parent, t + self._jit(150 * US), self._jit(500 * US), method)
            return t + self._jit(800 * US), ""

        return body

    def _stop_body(self, pod: Pod) -> Callable[[bytes, bytes, int], tuple[int, str]]:
        def body(trace_id: bytes, parent: bytes, t: int) -> tuple[int, str]:
            if pod.container_id:
                t = self._cri(trace_id, parent, t, self._jit(30 * MS), "StopContainer",
                              logs=[f'StopContainer for "{pod.container_id}" with timeout 30 (s)',
                                    f'StopContainer for "{pod.container_id}" returns successfully'],
                              events=[("container stopped", [("container.id", pod.container_id),
                                                             ("container.stop.duration", "28.4ms")])])
            t = self._cri(trace_id, parent, t + 200 * US, self._jit(60 * MS), "StopPodSandbox",
                          logs=[f'StopPodSandbox for "{pod.sandbox_id}"',
                                f'StopPodSandbox for "{pod.sandbox_id}" returns successfully'])
            return t, ""

        return body

    # ---- scheduled events -------------------------------------------------------------------

    def _pleg(self, t: int) -> None:
        """Generic PLEG relist every second: ListPodSandbox and ListContainers."""
        end = self._cri_root(t, "ListPodSandbox", self._jit(700 * US))
        self._cri_root(end + self._jit(200 * US), "ListContainers", self._jit(900 * US))
        self._at(t + S, self._pleg)

    def _node_lease(self, t: int) -> None:
        req = ApiRequest("PUT", "leases", "kube-node-lease", NODE, group="coordination.k8s.io")
        self._kubelet_http(t, req, dur=self._jit(5 * MS), object_type="*coordination.Lease")
        self._at(t + 10 * S, self._node_lease)

    def _leases(self, t: int) -> None:
        """Leader-election lease renewals of the embedded controller-manager and scheduler."""
        for name in ("kube-controller-manager", "kube-scheduler"):
            req = ApiRequest("PUT", "leases", "kube-system", name, group="coordination.k8s.io")
            self.api_request(t, req, self.leader, dur=self._jit(4 * MS), object_type="*coordination.Lease")
            t += self._jit(3 * MS)
        self._at(t + 2 * S, self._leases)

    def _health(self, t: int) -> None:
        for path in ("/readyz", "/livez"):
            self.api_request(t, ApiRequest("GET", raw_path=path), self.k3s_agent, dur=self._jit(1 * MS))
            t += self._jit(2 * MS)
        self._at(t + 5 * S, self._health)

    def _metrics_scrape(self, t: int) -> None:
        """metrics-server scrapes the kubelet every 15 s (otelrestful SERVER root)."""
        self._kubelet_server(self._id(16), b"", t, self._jit(6 * MS), "/metrics/resource", "/metrics/resource",
                             "metrics-server/v0.6.3 (linux/amd64) kubernetes/$Format", "10.42.0.4")
        self._at(t + 15 * S, self._metrics_scrape)

    def _kubelet_server(self, trace_id: bytes, parent: bytes, t: int, dur: int, route: str, target: str,
                        user_agent: str, peer: str) -> None:
        if self.stable:
            attrs: Attrs = [("http.request.method", "GET"), ("url.scheme", "https"), ("server.address", "172.18.0.2"),
                            ("server.port", 10250), ("network.peer.address", peer),
                            ("network.peer.port", self.rng.randint(32768, 60999)), ("user_agent.original", user_agent),
                            ("url.path", target.split("?")[0]), ("http.route", route),
                            ("network.protocol.version", "2"), ("http.response.status_code", 200)]
        else:
            attrs = [("net.transport", "ip_tcp"), ("net.peer.ip", peer),
                     ("net.peer.port", self.rng.randint(32768, 60999)),
                     ("net.host.ip", "172.18.0.2"), ("net.host.port", 10250), ("http.method", "GET"),
                     ("http.target", target), ("http.server_name", "kubelet"), ("http.route", route),
                     ("http.user_agent", user_agent), ("http.scheme", "https"), ("http.host", "172.18.0.2:10250"),
                     ("http.flavor", "2"), ("http.status_code", 200)]
        self._span("kubelet", SCOPE_OTELRESTFUL, route, SERVER, trace_id, parent, t, t + dur, attrs)

    def _resync(self, t: int) -> None:
        """Periodic no-op resync of a running pod, sometimes with a status call."""
        pods = sorted(self.pods)
        pod = self.pods[pods[self.rng.randrange(len(pods))]]
        calls = [] if self.rng.random() < 0.6 else ["PodSandboxStatus"]
        self._sync_pod(t, pod, "sync", self._status_body(calls))
        self._at(t + self._jit(6 * S, 0.5), self._resync)

    def _controller_get(self, t: int) -> None:
        choices = [
            ApiRequest("GET", "pods", "kube-system", "helm-install-traefik-crd-8w4wd"),
            ApiRequest("GET", "configmaps", "kube-system", "coredns"),
            ApiRequest("GET", "endpoints", "default", "kubernetes"),
            ApiRequest("GET", "deployments", "kube-system", "coredns", group="apps"),
        ]
        req = choices[self.rng.randrange(len(choices))]
        if self.rng.random() < 0.02:  # storage timeout: etcd client span and 500 both fail
            self.api_request(t, req, self.k3s_agent, status=500, dur=self._jit(40 * MS),
                             etcd_error="etcdserver: request timed out")
        else:
            self.api_request(t, req, self.k3s_agent, dur=self._jit(3 * MS))
        self._at(t + self._jit(3 * S, 0.5), self._controller_get)

    def _controller_list(self, t: int) -> None:
        req = ApiRequest("GET", "pods", query="limit=500&resourceVersion=0")
        self.api_request(t, req, self.k3s_agent, dur=self._jit(6 * MS))
        self._at(t + self._jit(20 * S, 0.5), self._controller_list)

    def _controller_update(self, t: int) -> None:
        """Controllers updating objects; some lose the optimistic-concurrency race (409)."""
        req = ApiRequest("PUT", "replicasets", "kube-system", "coredns-59b4f5bbd5", group="apps", subresource="status")
        conflict = self.rng.random() < 0.15
        self.api_request(t, req, self.rs_controller, status=409 if conflict else 200, dur=self._jit(5 * MS),
                         object_type="*apps.ReplicaSet", conflict=conflict)
        self._at(t + self._jit(8 * S, 0.5), self._controller_update)

    def _create_pod(self, t: int, pod: Pod, creator: Caller, query: str = "") -> int:
        """Create, bind, start and report a pod; returns when the pod is running (or failed)."""
        t = self.api_request(t, ApiRequest("POST", "pods", pod.namespace, query=query), creator, status=201,
                             dur=self._jit(7 * MS))
        t = self.api_request(t + self._jit(4 * MS), ApiRequest("POST", "pods", pod.namespace, pod.name, "binding"),
                             self.scheduler, status=201, dur=self._jit(4 * MS))
        t = self._sync_pod(t + self._jit(8 * MS), pod, "create", self._start_pod(pod))
        self._kubelet_http(t + self._jit(2 * MS), ApiRequest("PATCH", "pods", pod.namespace, pod.name, "status"),
                           dur=self._jit(6 * MS))
        return t

    def _delete_pod(self, t: int, pod: Pod, deleter: Caller) -> None:
        self.api_request(t, ApiRequest("DELETE", "pods", pod.namespace, pod.name), deleter, dur=self._jit(6 * MS))
        t = self._sync_pod(t + self._jit(5 * MS), pod, "kill", self._stop_body(pod), name="syncTerminatingPod")
        t = self._sync_pod(t + self._jit(20 * MS), pod, "kill", self._status_body(["PodSandboxStatus"]),
                           name="syncTerminatedPod")
        gone = self.rng.random() < 0.3  # the API object may already be gone: 404, an Error client span
        self._kubelet_http(t + self._jit(3 * MS), ApiRequest("DELETE", "pods", pod.namespace, pod.name),
                           status=404 if gone else 200, dur=self._jit(5 * MS))
        gc = t + self._jit(1 * S)
        if pod.container_id:
            gc = self._cri_root(gc, "RemoveContainer", self._jit(8 * MS))
        self._cri_root(gc + self._jit(2 * MS), "RemovePodSandbox", self._jit(40 * MS))
        self.pods.pop(f"{pod.namespace}/{pod.name}", None)

    def _echo_command(self, t: int) -> None:
        """The walkthrough: kubectl run -it --rm --restart=Never --image=alpine echo-command -- echo hi."""
        pod = Pod("default", "echo-command", "alpine:latest", self._uuid())
        self.pods["default/echo-command"] = pod
        watch_start = t + self._jit(12 * MS)
        running = self._create_pod(t, pod, self.kubectl, query="fieldManager=kubectl-run")
        # the attach fails: "unable to upgrade connection: container echo-command not found in pod echo-command_default"
        t = self.api_request(running + self._jit(30 * MS), ApiRequest(
            "POST", "pods", "default", "echo-command", "attach",
            query="container=echo-command&stdin=true&stdout=true&tty=true"), self.kubectl, status=404,
            dur=self._jit(9 * MS))
        # the container exits; kubelet notices and syncs
        t = self._sync_pod(t + self._jit(300 * MS), pod, "update",
                           self._status_body(["PodSandboxStatus", "ContainerStatus"]))
        self._kubelet_http(t + self._jit(2 * MS), ApiRequest("PATCH", "pods", "default", "echo-command", "status"),
                           dur=self._jit(6 * MS))
        # kubectl falls back to streaming logs: apiserver -> kubelet /containerLogs (same trace)
        log_req = ApiRequest("GET", "pods", "default", "echo-command", "log",
                             query="container=echo-command&follow=true")

        def logs(trace_id: bytes, parent: bytes, start: int, end: int) -> None:
            url = "https://172.18.0.2:10250/containerLogs/default/echo-command/echo-command?follow=true"
            attrs: Attrs = ([("http.request.method", "GET"), ("url.full", url), ("server.address", "172.18.0.2"),
                             ("server.port", 10250), ("http.response.status_code", 200)] if self.stable else
                            [("http.url", url), ("http.scheme", "https"), ("http.host", "172.18.0.2:10250"),
                             ("http.flavor", "1.1"), ("http.method", "GET"), ("http.status_code", 200)])
            client = self._span("apiserver", SCOPE_OTELHTTP, "HTTP GET", CLIENT, trace_id, parent, start, end, attrs)
            self._kubelet_server(trace_id, client, start + 200 * US, end - start - 400 * US,
                                 "/containerLogs/{podNamespace}/{podID}/{containerName}",
                                 "/containerLogs/default/echo-command/echo-command?follow=true",
                                 self.kubelet.user_agent, "127.0.0.1")

        t = self.api_request(t + self._jit(20 * MS), log_req, self.kubectl, dur=self._jit(25 * MS), downstream=logs)
        delete_at = t + self._jit(150 * MS)
        # the watch kubectl opened at the start ends only now: its authentication span was exported long before
        watch = ApiRequest("GET", "pods", "default", query="fieldSelector=metadata.name%3Decho-command&watch=true")
        self.api_request(watch_start, watch, self.kubectl, dur=delete_at + 40 * MS - watch_start)
        self._at(delete_at, lambda when: self._delete_pod(when, pod, self.kubectl))

    def _workload(self, t: int) -> None:
        """A replicaset controller starts a pod; it runs a while and is deleted again."""
        active = [p for p in self.pods if p.startswith("default/")]
        if len(active) < 6:
            name, image = _WORKLOADS[self.rng.randrange(len(_WORKLOADS))]
            pod = Pod("default", f"{name}-{self._hex(3)[:5]}-{self._hex(3)[:5]}", image, self._uuid(),
                      image_ok=image != "nginx:latests")
            self.pods[f"default/{pod.name}"] = pod
            running = self._create_pod(t, pod, self.rs_controller)
            lifetime = self._jit(90 * S, 0.6) if pod.image_ok else self._jit(20 * S)
            self._at(running + lifetime, lambda when: self._delete_pod(when, pod, self.rs_controller))
        self._at(t + self._jit(25 * S, 0.5), self._workload)


def spans_in(requests: Iterable[ExportTraceServiceRequest]) -> list[tuple[str, Span]]:
    """(service.name, span) for every span of `requests`; handy in tests and tools."""
    out = []
    for req in requests:
        for rs in req.resource_spans:
            service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
            out.extend((service, s) for ss in rs.scope_spans for s in ss.spans)
    return out


# ---- load_batch: many serialized requests, fast ------------------------------------------------

_TARGET_ATTRS = 11.0
_MAX_TEMPLATE_BYTES = 800  # leaves out the few event-heavy spans: keeps the mix near 450-600 bytes/span
_SENT = 0x7A7A_0000_0000_0000  # sentinel timestamps, located in the serialized template
_TRACE_MARK, _SPAN_MARK, _PARENT_MARK = b"\xf1" * 16, b"\xf2" * 8, b"\xf3" * 8


@dataclass
class _Template:
    """A serialized span whose ids and timestamps are patched in place."""

    service: str
    scope: str
    data: bytes
    trace_at: int
    span_at: int
    parent_at: int  # -1 for the root variant
    times: list[tuple[int, int]]  # (offset, ns relative to span start)
    attrs: int


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return bytes([tag << 3 | 2]) + _varint(len(payload)) + payload


def _compile(service: str, scope: str, span: Span, with_parent: bool) -> _Template:
    s = Span()
    s.CopyFrom(span)
    base = span.start_time_unix_nano
    rel = [span.start_time_unix_nano - base, span.end_time_unix_nano - base]
    s.trace_id, s.span_id, s.parent_span_id = _TRACE_MARK, _SPAN_MARK, _PARENT_MARK if with_parent else b""
    s.start_time_unix_nano, s.end_time_unix_nano = _SENT, _SENT + 1
    for i, ev in enumerate(s.events):
        rel.append(ev.time_unix_nano - base)
        ev.time_unix_nano = _SENT + 2 + i
    del s.links[:]  # links would point at spans of the template run
    data = s.SerializeToString()
    times = [(data.index((_SENT + i).to_bytes(8, "little")), r) for i, r in enumerate(rel)]
    return _Template(service, scope, data, data.index(_TRACE_MARK), data.index(_SPAN_MARK),
                     data.index(_PARENT_MARK) if with_parent else -1, times, len(span.attributes))


_TEMPLATE_CACHE: dict[str, tuple[list[tuple[_Template, _Template]], list[int], float]] = {}


def _templates(k8s_version: str) -> tuple[list[tuple[_Template, _Template]], list[int], float]:
    """(root, child) template pairs from a demo run, the indexes of attribute-rich ones, and the
    probability of drawing from those so that spans average ~11 attributes."""
    if k8s_version not in _TEMPLATE_CACHE:
        cluster = DemoCluster(seed=0, k8s_version=k8s_version)
        pairs = []
        for req in cluster.requests(3000):
            for rs in req.resource_spans:
                service = rs.resource.attributes[0].value.string_value
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        if span.ByteSize() > _MAX_TEMPLATE_BYTES:
                            continue
                        pairs.append((_compile(service, ss.scope.name, span, False),
                                      _compile(service, ss.scope.name, span, True)))
        rich = [i for i, (t, _) in enumerate(pairs) if t.attrs >= 9]
        mean_all = sum(t.attrs for t, _ in pairs) / len(pairs)
        mean_rich = sum(pairs[i][0].attrs for i in rich) / len(rich)
        p_rich = min(1.0, max(0.0, (_TARGET_ATTRS - mean_all) / (mean_rich - mean_all)))
        _TEMPLATE_CACHE[k8s_version] = (pairs, rich, p_rich)
    return _TEMPLATE_CACHE[k8s_version]


def load_batch(n_spans: int, seed: int = 0, batch_size: int = 512, k8s_version: str = "1.27",
               start_ns: int = DEFAULT_START_NS) -> list[bytes]:
    """Serialized `ExportTraceServiceRequest`s holding `n_spans` k8s-like spans in total.

    Spans are drawn from a demo cluster run, mixed towards ~11 attributes per span on average
    (~450-600 bytes per span on the wire), with fresh ids: consecutive spans form traces of 1-8
    spans. Built by patching pre-serialized spans, so building is cheap next to sending.
    """
    if n_spans < 0 or batch_size < 1:
        raise ValueError("n_spans must be >= 0 and batch_size >= 1")
    pairs, rich, p_rich = _templates(k8s_version)
    rng = random.Random(seed)
    resources = {name: b"".join(_field(1, kv.SerializeToString()) for kv in attrs)
                 for name, attrs in DemoCluster(seed=0, k8s_version=k8s_version)._resources.items()}
    out: list[bytes] = []
    t = start_ns
    trace_id, parent, left = b"", b"", 0
    for first in range(0, n_spans, batch_size):
        groups: dict[tuple[str, str], list[bytes]] = {}
        for _ in range(min(batch_size, n_spans - first)):
            i = rich[rng.randrange(len(rich))] if rng.random() < p_rich else rng.randrange(len(pairs))
            if left == 0:
                trace_id, parent, left = rng.randbytes(16), b"", rng.randint(1, 8)
                t += 1_000_000
            tpl = pairs[i][1 if parent else 0]
            buf = bytearray(tpl.data)
            span_id = rng.randbytes(8)
            buf[tpl.trace_at:tpl.trace_at + 16] = trace_id
            buf[tpl.span_at:tpl.span_at + 8] = span_id
            if parent:
                buf[tpl.parent_at:tpl.parent_at + 8] = parent
            for offset, rel in tpl.times:
                buf[offset:offset + 8] = (t + rel).to_bytes(8, "little")
            groups.setdefault((tpl.service, tpl.scope), []).append(_field(2, bytes(buf)))
            parent, left = span_id, left - 1
        by_service: dict[str, list[bytes]] = {}
        for (service, scope), spans in groups.items():
            scope_msg = _field(1, _field(1, scope.encode()))
            by_service.setdefault(service, []).append(_field(2, scope_msg + b"".join(spans)))
        out.append(b"".join(_field(1, _field(1, resources[svc]) + b"".join(sss)) for svc, sss in by_service.items()))
    return out
