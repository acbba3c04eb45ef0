"""Synthetic k8s-like OTLP requests for the store benchmark (kubelet, containerd, apiserver, etcd).

Shapes follow /work/shared/reference/k8s-spans.md: syncPod traces with CRI client/server
pairs, apiserver request traces with per-request audit ids and ephemeral INT ports,
gRPC ports as STRINGs, and background single-span traces. ~10 attributes per span.
"""

from __future__ import annotations

import random
import uuid

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

T0 = 1_760_000_000_000_000_000
CRI = ["runtime.v1.ImageService/PullImage", "runtime.v1.RuntimeService/RunPodSandbox",
       "runtime.v1.RuntimeService/CreateContainer", "runtime.v1.RuntimeService/StartContainer",
       "runtime.v1.ImageService/ImageStatus"]
VERBS = ["Create", "Get", "List", "Update", "Patch"]
RESOURCES = ["pods", "leases", "events", "configmaps", "nodes"]


def _set(kv_list, key: str, value) -> None:
    kv = kv_list.add(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    else:
        kv.value.string_value = value


class Generator:
    """Deterministic stream of spans grouped into requests of `batch_size` spans."""

    def __init__(self, seed: int = 1, pods: int = 500) -> None:
        self.rng = random.Random(seed)
        self.pods = [(("default", "kube-system", "monitoring")[i % 3], f"app-{i}-{self.rng.randrange(10**5):05d}",
                      str(uuid.UUID(int=self.rng.getrandbits(128)))) for i in range(pods)]
        self.clock = T0
        self.pods[0] = ("default", "echo-command", self.pods[0][2])

    def _ids(self) -> tuple[bytes, callable]:
        trace = self.rng.getrandbits(128).to_bytes(16, "big")
        return trace, lambda: self.rng.getrandbits(64).to_bytes(8, "big")

    def traces(self):
        """Yield (service, spans) lists forever; each span is a dict for `_add_span`."""
        while True:
            self.clock += self.rng.randrange(50_000, 2_000_000)
            choice = self.rng.random()
            if choice < 0.35:
                yield from self._sync_pod()
            elif choice < 0.8:
                yield from self._apiserver()
            else:
                yield from self._background()

    def _span(self, trace, sid, parent, name, kind, start, duration, attrs, status=0, events=()):
        return dict(trace_id=trace, span_id=sid, parent=parent, name=name, kind=kind, start=start,
                    end=start + duration, attrs=attrs, status=status, events=events)

    def _sync_pod(self):
        ns, name, uid = self.rng.choice(self.pods)
        trace, new = self._ids()
        root = new()
        start = self.clock
        pod = {"k8s.pod.uid": uid, "k8s.pod": f"{ns}/{name}", "k8s.pod.name": name,
               "k8s.pod.update_type": self.rng.choice(["create", "update", "sync", "kill"]), "k8s.namespace.name": ns,
               "k8s.node.name": "k3d-tracingcluster-server-0", "k8s.pod.phase": "Running"}
        kubelet = [self._span(trace, root, b"", "syncPod", 1, start, self.rng.randrange(10**6, 2 * 10**9), pod,
                              status=2 if self.rng.random() < 0.02 else 0)]
        containerd = []
        for index, method in enumerate(CRI):
            client = new()
            at = start + (index + 1) * 1_000_000
            dur = self.rng.randrange(100_000, 500_000_000)
            service, rpc = method.split("/")
            code = 0 if self.rng.random() < 0.97 else 2
            rpc_attrs = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": rpc,
                         "rpc.grpc.status_code": code, "net.peer.name": "/run/containerd/containerd.sock",
                         "k8s.pod": f"{ns}/{name}", "k8s.namespace.name": ns, "container.runtime": "containerd",
                         "otel.scope": "otelgrpc", "rpc.type": "unary"}
            kubelet.append(self._span(trace, client, root, method, 3, at, dur, rpc_attrs, status=2 if code else 0))
            server_attrs = dict(rpc_attrs, **{"net.peer.port": str(self.rng.randrange(32768, 61000)),
                                              "sandbox.id": uid.replace("-", "")})
            del server_attrs["net.peer.name"]
            containerd.append(self._span(trace, new(), client, method, 2, at + 50_000, dur - 60_000, server_attrs,
                                         status=1, events=("message",) if index == 0 else ()))
        yield "kubelet", kubelet
        yield "containerd", containerd

    def _apiserver(self):
        ns, name, _ = self.rng.choice(self.pods)
        verb = self.rng.choice(VERBS)
        resource = self.rng.choice(RESOURCES)
        trace, new = self._ids()
        audit = str(uuid.UUID(int=self.rng.getrandbits(128)))
        url = f"/api/v1/namespaces/{ns}/{resource}/{name}"
        status_code = self.rng.choice([200] * 30 + [201, 404, 409, 500])
        start = self.clock
        dur = self.rng.randrange(200_000, 300_000_000)
        root = new()
        http = {"net.transport": "ip_tcp", "net.peer.ip": "127.0.0.1",
                "net.peer.port": self.rng.randrange(32768, 61000),
                "net.host.port": 6443, "http.target": url, "http.user_agent": "k3s/v1.27.1+k3s1 (linux/amd64)",
                "http.scheme": "https",
                "http.method": {"Create": "POST", "Update": "PUT", "Patch": "PATCH"}.get(verb, "GET"),
                "http.flavor": "2", "net.host.ip": "127.0.0.1", "http.host": "127.0.0.1:6443",
                "http.server_name": "KubernetesAPI", "http.wrote_bytes": self.rng.randrange(100, 10_000),
                "http.status_code": status_code}
        spans = [self._span(trace, root, b"", "KubernetesAPI", 2, start, dur, http,
                            status=2 if status_code >= 500 else 0)]
        auth = new()
        spans.append(self._span(trace, auth, root, "authentication", 1, start + 10_000, 300_000,
                                {"audit-id": audit, "user.name": "system:node:k3d-tracingcluster-server-0"}))
        handler = new()
        trace_fields = {"audit-id": audit, "client": "127.0.0.1", "name": name, "namespace": ns, "protocol": "HTTP/2.0",
                        "resource": resource, "scope": "namespace", "url": url, "user-agent": "kubelet/v1.27.1",
                        "verb": verb.upper(), "accept": "application/vnd.kubernetes.protobuf", "api-group": "",
                        "api-version": "v1", "subresource": ""}
        spans.append(self._span(trace, handler, auth, verb, 1, start + 400_000, dur // 2, trace_fields,
                                events=("About to write a response", "Writing http response done")))
        spans.append(self._span(trace, new(), handler, "SerializeObject", 1, start + dur // 3, 100_000,
                                {"audit-id": audit, "method": "GET", "url": url, "protocol": "HTTP/2.0",
                                 "mediaType": "application/vnd.kubernetes.protobuf", "encoder": "protobuf"}))
        storage = new()
        spans.append(self._span(trace, storage, handler, f"{verb} etcd3", 1, start + 500_000, dur // 4,
                                {"audit-id": audit, "key": f"/{resource}/{ns}/{name}", "type": "*core.Pod",
                                 "resource": resource}))
        spans.append(self._span(trace, new(), storage, "etcdserverpb.KV/Txn", 3, start + 600_000, dur // 5,
                                {"rpc.system": "grpc", "rpc.service": "etcdserverpb.KV", "rpc.method": "Txn",
                                 "rpc.grpc.status_code": 0, "net.peer.ip": "127.0.0.1", "net.peer.port": "2379"}))
        yield "apiserver", spans

    def _background(self):
        trace, new = self._ids()
        client = new()
        start = self.clock
        attrs = {"rpc.system": "grpc", "rpc.service": "runtime.v1.RuntimeService", "rpc.method": "ListPodSandbox",
                 "rpc.grpc.status_code": 0, "net.peer.name": "/run/containerd/containerd.sock"}
        yield "kubelet", [self._span(trace, client, b"", "runtime.v1.RuntimeService/ListPodSandbox", 3, start,
                                     2_000_000, attrs)]
        yield "containerd", [self._span(trace, new(), client, "runtime.v1.RuntimeService/ListPodSandbox", 2,
                                        start + 100_000, 1_800_000, dict(attrs, **{"net.peer.port": "0"}))]


RESOURCE_ATTRS = {"kubelet": {"host.name": "k3d-tracingcluster-server-0"},
                  "apiserver": {"service.instance.id": "apiserver-ttvzbyvkxx2hwlx4d3zqs4tcwu"},
                  "containerd": {}}


def requests(total_spans: int, batch_size: int = 512, seed: int = 1):
    """Yield serialized ExportTraceServiceRequests, `batch_size` spans each, `total_spans` in all."""
    gen = Generator(seed)
    stream = gen.traces()
    made = 0
    while made < total_spans:
        req = ExportTraceServiceRequest()
        by_service: dict[str, object] = {}
        count = 0
        while count < min(batch_size, total_spans - made):
            service, spans = next(stream)
            scope = by_service.get(service)
            if scope is None:
                rs = req.resource_spans.add()
                _set(rs.resource.attributes, "service.name", service)
                for key, value in RESOURCE_ATTRS[service].items():
                    _set(rs.resource.attributes, key, value)
                scope = by_service[service] = rs.scope_spans.add()
                scope.scope.name = f"k8s.io/{service}"
            for s in spans:
                span = scope.spans.add(trace_id=s["trace_id"], span_id=s["span_id"], parent_span_id=s["parent"],
                                       name=s["name"], kind=s["kind"], start_time_unix_nano=s["start"],
                                       end_time_unix_nano=s["end"])
                span.status.code = s["status"]
                for key, value in s["attrs"].items():
                    _set(span.attributes, key, value)
                for event in s["events"]:
                    span.events.add(name=event, time_unix_nano=s["start"])
                count += 1
        made += count
        yield req.SerializeToString(), count
