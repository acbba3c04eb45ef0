"""Builds the k8s fixture that kubespan and a real Tempo are compared on (tests/data/k8s_fixture.jsonl.gz).

Two simulated k3d nodes from kubespan's demo generator (Kubernetes 1.27 and 1.36 shapes), plus what the
demo does not produce and the golden comparisons need (../shared/reference/k8s-spans.md):
- the walkthrough's `default/echo-command` pod with the blog's 11-span `syncPod` create trace (6 kubelet,
  5 containerd spans, 1.33 s, depth 3) and 9 `syncPod` traces for the pod in all, one of them a 1-span
  no-op resync whose trace id starts with zeros (Tempo prints it without them);
- etcd SERVER spans under the apiserver's etcd CLIENT spans, each with an etcd 3.7 internal span
  (`range`/`txn`, typed int/bool attributes; 1.27 style: `rpc.grpc.status_code` int next to
  `net.peer.port` string);
- orphans whose parent is still open (a watch), a v1.28-style `syncPod` whose CRI calls are their own
  roots, and a containerd 1.7 `pkg.cri.server.ImageFsInfo` span with status OK.

The fixture is stored, not rebuilt by the tests: golden answers belong to the stored bytes. Rebuild with
`python -m tests.support.k8s_fixture_build` only to change the fixture (then recapture the golden files).
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from kubespan.encode.otlp_json import encode_request_json
from kubespan.k8s.demo import DemoCluster, apiserver_instance_id, kv
from tests.support.k8s_fixture import BLOG_TRACE_ID, FIXTURE_START_NS, NOOP_TRACE_ID

NODE_127 = "k3d-tracingcluster-server-0"
NODE_136 = "k3d-upgrade-server-0"
ECHO_POD = "default/echo-command"
BLOG_TRACE = bytes.fromhex(BLOG_TRACE_ID)
NOOP_TRACE = bytes.fromhex(NOOP_TRACE_ID)
MS, US, S = 1_000_000, 1_000, 1_000_000_000
SCOPE_OTELGRPC = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
SCOPE_ETCD = "go.etcd.io/etcd/server/v3/etcdserver"
SCOPE_KUBELET = "k8s.io/kubernetes/pkg/kubelet"
SCOPE_CRI = "github.com/containerd/containerd/pkg/cri/instrument"

# the blog's 11-span trace: (method, client duration, server duration), laid out one after the other
_BLOG_CALLS = [("ImageStatus", 607 * US, 170 * US), ("PullImage", 1_255_200 * US, 1_250_200 * US),
               ("ImageStatus", 480 * US, 63 * US), ("CreateContainer", 23_270 * US, 21_390 * US),
               ("StartContainer", 53_750 * US, 52_680 * US)]

Resource = tuple[tuple[str, object], ...]


@dataclass
class Record:
    """One span with the resource and scope it is exported under."""

    resource: Resource
    scope: tuple[str, str]
    span: Span


@dataclass
class Fixture:
    records: list[Record] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(1827))

    def add(self, resource: Resource, scope: tuple[str, str], span: Span) -> Span:
        self.records.append(Record(resource, scope, span))
        return span

    def new_id(self, n: int) -> bytes:
        return (self.rng.getrandbits(8 * n) or 1).to_bytes(n, "big")


def _attr(span: Span, key: str):
    for a in span.attributes:
        if a.key == key:
            return getattr(a.value, a.value.WhichOneof("value"))
    return None


def _demo_records(version: str, seed: int, start_ns: int, n_spans: int, node: str,
                  renames: tuple[tuple[str, str], ...] = ()) -> list[Record]:
    renames = (("k3d-tracingcluster-server-0", node),) + renames
    cluster = DemoCluster(seed=seed, k8s_version=version, start_ns=start_ns)
    out = []
    for req in cluster.requests(n_spans):
        for rs in req.resource_spans:
            resource = []
            for a in rs.resource.attributes:
                value = getattr(a.value, a.value.WhichOneof("value"))
                if a.key == "service.instance.id" and str(value).startswith("apiserver-"):
                    value = apiserver_instance_id(node)
                elif isinstance(value, str):
                    value = value.replace("k3d-tracingcluster-server-0", node)
                resource.append((a.key, value))
            for ss in rs.scope_spans:
                for span in ss.spans:
                    for a in [*span.attributes, *(a for ev in span.events for a in ev.attributes)]:
                        for old, new in renames:
                            if a.value.HasField("string_value") and old in a.value.string_value:
                                a.value.string_value = a.value.string_value.replace(old, new)
                    for ev in span.events:
                        for old, new in renames:
                            ev.name = ev.name.replace(old, new)
                    out.append(Record(tuple(resource), (ss.scope.name, ss.scope.version), span))
    return out


def _retime(span: Span, start: int, dur: int) -> None:
    """Moves `span` to [start, start+dur], its events scaled along."""
    old_start, old_dur = span.start_time_unix_nano, max(1, span.end_time_unix_nano - span.start_time_unix_nano)
    for ev in span.events:
        ev.time_unix_nano = start + (ev.time_unix_nano - old_start) * dur // old_dur
    span.start_time_unix_nano, span.end_time_unix_nano = start, start + dur


def _walkthrough(fx: Fixture, records: list[Record]) -> list[Record]:
    """Replaces the demo's echo-command create trace with the blog's 11-span one and tops the pod's
    `syncPod` traces up to 9 with 1-span no-op resyncs."""
    create_rec = next(r for r in records if r.span.name == "syncPod" and _attr(r.span, "k8s.pod") == ECHO_POD
                      and _attr(r.span, "k8s.pod.update_type") == "create")
    create = create_rec.span
    trace = [r for r in records if r.span.trace_id == create.trace_id]
    keep = [r for r in records if r.span.trace_id != create.trace_id]
    kubelet_res = create_rec.resource
    clients = [r for r in trace if r.span.parent_span_id == create.span_id]
    servers = {r.span.parent_span_id: r for r in trace if r.resource != kubelet_res}
    wanted = iter(_BLOG_CALLS)
    method, c_dur, s_dur = next(wanted)
    t = create.start_time_unix_nano + 200 * US
    for client in sorted(clients, key=lambda r: r.span.start_time_unix_nano):
        if not client.span.name.endswith("/" + method):
            continue
        server = servers[client.span.span_id]
        _retime(client.span, t, c_dur)
        _retime(server.span, t + (c_dur - s_dur) * 3 // 5, s_dur)
        for r in (client, server):
            r.span.trace_id = BLOG_TRACE
            keep.append(r)
        t += c_dur + 150 * US
        method, c_dur, s_dur = next(wanted, ("", 0, 0))
    assert not method, "the demo's echo-command trace lacks a call of the blog's trace"
    create.trace_id = BLOG_TRACE
    create.end_time_unix_nano = create.start_time_unix_nano + 1_334_000 * US
    keep.append(create_rec)
    syncs = [r.span for r in keep if r.span.name == "syncPod" and _attr(r.span, "k8s.pod") == ECHO_POD]
    extra = {s.trace_id for s in sorted(syncs, key=lambda s: s.start_time_unix_nano)
             if _attr(s, "k8s.pod.update_type") == "sync"}
    extra = set(sorted(extra)[:max(0, len(syncs) - 9)])  # the walkthrough's search found 9 traces
    keep = [r for r in keep if r.span.trace_id not in extra]
    syncs = [s for s in syncs if s.trace_id not in extra]
    last = max(s.end_time_unix_nano for s in syncs)
    for i in range(9 - len(syncs)):
        start = create.end_time_unix_nano + (i + 1) * (last - create.end_time_unix_nano) // (10 - len(syncs))
        noop = Span(trace_id=NOOP_TRACE if i == 0 else fx.new_id(16), span_id=fx.new_id(8), name="syncPod",
                    kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start,
                    end_time_unix_nano=start + (2_150 * US if i == 0 else fx.rng.randint(1_500, 2_600) * US))
        noop.attributes.extend(kv(k, v) for k, v in [
            ("k8s.pod.uid", _attr(create, "k8s.pod.uid")), ("k8s.pod", ECHO_POD), ("k8s.pod.name", "echo-command"),
            ("k8s.pod.update_type", "sync"), ("k8s.namespace.name", "default")])
        keep.append(Record(kubelet_res, (SCOPE_KUBELET, ""), noop))
    return keep


def _etcd(fx: Fixture, records: list[Record], member: str) -> None:
    """An etcd SERVER span below each apiserver etcd CLIENT span, with an etcd 3.7 internal span below it."""
    resource: Resource = (("service.name", "etcd"), ("service.instance.id", member))
    by_id = {r.span.span_id: r.span for r in records}
    for r in list(records):
        client = r.span
        if client.kind != Span.SPAN_KIND_CLIENT or not client.name.startswith("etcdserverpb."):
            continue
        stable = _attr(client, "rpc.system.name") is not None
        parent = by_id.get(client.parent_span_id)
        key = "/registry" + str(_attr(parent, "key") or _attr(parent, "url") or "/pods") if parent else "/registry"
        dur = client.end_time_unix_nano - client.start_time_unix_nano
        start = client.start_time_unix_nano + dur // 5
        server = Span(trace_id=client.trace_id, span_id=fx.new_id(8), parent_span_id=client.span_id,
                      name=client.name, kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=start,
                      end_time_unix_nano=start + dur * 3 // 5)
        code = _attr(client, "rpc.grpc.status_code") or 0
        if stable:
            attrs = [("rpc.system.name", "grpc"), ("rpc.method", client.name),
                     ("rpc.response.status_code", _attr(client, "rpc.response.status_code") or "OK")]
        else:
            service, method = client.name.split("/")
            attrs = [("rpc.system", "grpc"), ("rpc.service", service), ("rpc.method", method),
                     ("net.peer.ip", "127.0.0.1"), ("net.peer.port", str(fx.rng.randint(32768, 60999))),
                     ("rpc.grpc.status_code", code)]
        server.attributes.extend(kv(k, v) for k, v in attrs)
        if client.status.code == Status.STATUS_CODE_ERROR:
            server.status.CopyFrom(client.status)
        fx.add(resource, (SCOPE_OTELGRPC, "0.60.0" if stable else "semver:0.25.0"), server)
        op = Span(trace_id=client.trace_id, span_id=fx.new_id(8), parent_span_id=server.span_id,
                  kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=start + dur // 10,
                  end_time_unix_nano=start + dur // 2)
        if client.name.endswith("/Range"):
            op.name = "range"
            attrs = [("range_begin", key), ("range_end", ""), ("rev", 0), ("limit", 0), ("count_only", False),
                     ("keys_only", False)]
        else:
            op.name = "txn"
            attrs = [("compare_first_key", key), ("success_first_key", key), ("success_first_type", "put"),
                     ("success_first_lease", 0), ("compare_len", 1), ("success_len", 1), ("failure_len", 1),
                     ("read_only", False)]
        op.attributes.extend(kv(k, v) for k, v in attrs)
        fx.add(resource, (SCOPE_ETCD, "3.7.0"), op)


def _traps(fx: Fixture, at: int, api: Resource, kubelet: Resource, containerd: Resource, containerd_new: Resource,
           kubelet_new: Resource) -> None:
    """Orphans of a still-open watch, a v1.28-style sync, and a containerd 1.7 span with status OK."""
    watch_trace, open_root = fx.new_id(16), fx.new_id(8)
    auth = Span(trace_id=watch_trace, span_id=fx.new_id(8), parent_span_id=open_root, name="authentication",
                kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=at, end_time_unix_nano=at + 310 * US)
    fx.add(api, ("k8s.op/apiserver/pkg/endpoints/filterlatency", ""), auth)
    watch = Span(trace_id=watch_trace, span_id=fx.new_id(8), parent_span_id=fx.new_id(8),
                 name="etcdserverpb.Watch/Watch", kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=at + 2 * MS,
                 end_time_unix_nano=at + 41 * S)
    watch.attributes.extend(kv(k, v) for k, v in [("rpc.system", "grpc"), ("rpc.service", "etcdserverpb.Watch"),
                                                  ("rpc.method", "Watch"), ("rpc.grpc.status_code", 1)])
    watch.status.code, watch.status.message = Status.STATUS_CODE_ERROR, "context canceled"
    fx.add(api, (SCOPE_OTELGRPC, "semver:0.35.0"), watch)
    # kubelet 1.28 (kubernetes#121192): the CRI calls of a sync are roots of their own
    t = at + 5 * S
    sync = Span(trace_id=fx.new_id(16), span_id=fx.new_id(8), name="syncPod", kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=t, end_time_unix_nano=t + 3 * MS)
    sync.attributes.extend(kv(k, v) for k, v in [
        ("k8s.pod.uid", "4a0e6d4f-93a7-4d8f-9a6b-1f2e3d4c5b6a"), ("k8s.pod", "kube-system/coredns-59b4f5bbd5-k7q2m"),
        ("k8s.pod.name", "coredns-59b4f5bbd5-k7q2m"), ("k8s.pod.update_type", "sync"),
        ("k8s.namespace.name", "kube-system")])
    fx.add(kubelet, (SCOPE_KUBELET, ""), sync)
    for i, method in enumerate(("PodSandboxStatus", "ContainerStatus")):
        full = f"runtime.v1.RuntimeService/{method}"
        c = Span(trace_id=fx.new_id(16), span_id=fx.new_id(8), name=full, kind=Span.SPAN_KIND_CLIENT,
                 start_time_unix_nano=t + (i + 1) * 900 * US, end_time_unix_nano=t + (i + 1) * 900 * US + 600 * US)
        c.attributes.extend(kv(k, v) for k, v in [("rpc.system", "grpc"), ("rpc.service", "runtime.v1.RuntimeService"),
                                                  ("rpc.method", method), ("rpc.grpc.status_code", 0)])
        fx.add(kubelet, (SCOPE_OTELGRPC, "semver:0.35.0"), c)
        s = Span(trace_id=c.trace_id, span_id=fx.new_id(8), parent_span_id=c.span_id, name=full,
                 kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=c.start_time_unix_nano + 150 * US,
                 end_time_unix_nano=c.end_time_unix_nano - 100 * US)
        s.attributes.extend(c.attributes)
        fx.add(containerd, (SCOPE_OTELGRPC, "semver:0.28.0"), s)
    # image GC on the 1.36 node, containerd 1.7-style instrumentation: an internal span with status OK
    t = at + 9 * S
    gc = Span(trace_id=fx.new_id(16), span_id=fx.new_id(8), name="Images/GarbageCollect",
              kind=Span.SPAN_KIND_INTERNAL, start_time_unix_nano=t, end_time_unix_nano=t + 4 * MS)
    fx.add(kubelet_new, (SCOPE_KUBELET, ""), gc)
    full = "runtime.v1.ImageService/ImageFsInfo"
    c = Span(trace_id=gc.trace_id, span_id=fx.new_id(8), parent_span_id=gc.span_id, name=full,
             kind=Span.SPAN_KIND_CLIENT, start_time_unix_nano=t + 300 * US, end_time_unix_nano=t + 2_900 * US)
    rpc = [("rpc.system.name", "grpc"), ("rpc.method", full), ("rpc.response.status_code", "OK")]
    c.attributes.extend(kv(k, v) for k, v in rpc)
    fx.add(kubelet_new, (SCOPE_OTELGRPC, "0.65.0"), c)
    s = Span(trace_id=gc.trace_id, span_id=fx.new_id(8), parent_span_id=c.span_id, name=full,
             kind=Span.SPAN_KIND_SERVER, start_time_unix_nano=t + 450 * US, end_time_unix_nano=t + 2_700 * US)
    s.attributes.extend(kv(k, v) for k, v in rpc)
    fx.add(containerd_new, (SCOPE_OTELGRPC, "0.61.0"), s)
    inner = Span(trace_id=gc.trace_id, span_id=fx.new_id(8), parent_span_id=s.span_id,
                 name="pkg.cri.server.ImageFsInfo", kind=Span.SPAN_KIND_INTERNAL,
                 start_time_unix_nano=t + 500 * US, end_time_unix_nano=t + 2_600 * US)
    inner.status.code = Status.STATUS_CODE_OK
    fx.add(containerd_new, (SCOPE_CRI, ""), inner)


def build_requests() -> list[ExportTraceServiceRequest]:
    """The fixture as export requests: spans in order of their end time, 200 per batch, one request per
    resource in a batch, as an SDK's batch processor sends them."""
    fx = Fixture()
    old = _walkthrough(fx, _demo_records("1.27", 11, FIXTURE_START_NS, 2000, NODE_127))
    new = _demo_records("1.36", 12, FIXTURE_START_NS + 50 * S, 600, NODE_136, (("echo-command", "hello-upgrade"),))
    fx.records = old + new
    _etcd(fx, fx.records, "8e9e05c52164694d")
    res = {(dict(r.resource)["service.name"], dict(r.resource).get("host.name", "")): r.resource for r in old}
    res_new = {dict(r.resource)["service.name"]: r.resource for r in new}
    _traps(fx, FIXTURE_START_NS + 60 * S, res[("apiserver", "")], res[("kubelet", NODE_127)],
           res[("containerd", "")], res_new["containerd"], res_new["kubelet"])
    fx.records.sort(key=lambda r: (r.span.end_time_unix_nano, r.span.span_id))
    out = []
    for first in range(0, len(fx.records), 200):
        by_resource: dict[Resource, dict[tuple[str, str], list[Span]]] = {}
        for r in fx.records[first:first + 200]:
            by_resource.setdefault(r.resource, {}).setdefault(r.scope, []).append(r.span)
        for resource, scopes in by_resource.items():
            req = ExportTraceServiceRequest()
            rs = req.resource_spans.add()
            rs.resource.attributes.extend(kv(k, v) for k, v in resource)
            for (name, version), spans in scopes.items():
                ss = rs.scope_spans.add()
                ss.scope.name, ss.scope.version = name, version
                ss.spans.extend(spans)
            out.append(req)
    return out


def write_fixture(path: str) -> int:
    """Writes the fixture as gzipped OTLP/JSON lines (one export request per line); returns the span count."""
    reqs = build_requests()
    text = "".join(encode_request_json(r) + "\n" for r in reqs)
    with open(path, "wb") as f:
        f.write(gzip.compress(text.encode(), mtime=0))
    return sum(len(ss.spans) for r in reqs for rs in r.resource_spans for ss in rs.scope_spans)


if __name__ == "__main__":
    from tests.support.k8s_fixture import FIXTURE_PATH

    print(f"{write_fixture(str(FIXTURE_PATH))} spans written to {FIXTURE_PATH}")
