"""High-cardinality k8s-like OTLP requests: values that never repeat, as real clusters send.

Deterministic by seed. 3 services (apiserver, kubelet, containerd), one resource and scope
per service per request (6 resource attributes each); traces of 3–9 spans, parent chained;
8–15 attributes per span, about 570 bytes per span on the wire:

* unique per trace: a pod name, `k8s.pod`, an `http.url` holding the pod name, `net.peer.ip`;
* unique per span in about half the spans: a 32-hex-digit `container.id`;
* random: `request.size` (200–20,000), a 4-digit `latency.ratio` double, `retry.count`;
* low-cardinality strings: method, status code, user agent, image name, node name.

`requests(total, batch, seed)` yields (serialized request, span count) like `k8s_like.requests`.
Benchmarks that send faster than Python can build requests reuse a set of requests with
`vary(raw, epoch)`: every unique value (and every trace id) holds an epoch token, which
`vary` rewrites in place (same length, so the request stays valid), making each pass unique.

    python scripts/high_cardinality.py --spans 100000     # prints sizes and distinct counts
"""

from __future__ import annotations

import argparse
import random
from typing import Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

T0 = 1_765_000_000_000_000_000
SERVICES = ("apiserver", "kubelet", "containerd")
EPOCH_TOKEN = b"c0ffee0000"
"""In trace ids, container ids, pod names and URLs: `c0ffee` and the epoch in 4 hex digits."""
IP_TOKEN = b"fd00:c0fe:0000:"
"""In `net.peer.ip` (IPv6 text): the epoch is the third group."""
NODES = tuple(f"k3d-cluster-agent-{i}" for i in range(4))
IMAGES = ("registry.k8s.io/pause:3.9", "docker.io/library/nginx:1.27", "quay.io/prometheus/node-exporter:v1.8.2",
          "ghcr.io/example/checkout:2.14.0", "docker.io/library/redis:7.4")
METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE", "WATCH")
STATUS = ("200", "200", "200", "201", "404", "409", "500")
AGENTS = ("kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46", "kube-controller-manager/v1.31.2",
          "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46", "containerd/v1.7.22")
NAMES = {
    "apiserver": ("HTTP GET", "HTTP PUT", "etcdserverpb.KV/Range", "etcdserverpb.KV/Txn", "authorize"),
    "kubelet": ("syncPod", "runtime.v1.RuntimeService/CreateContainer", "prober.probe", "volume.mount"),
    "containerd": ("runtime.v1.RuntimeService/StartContainer", "runtime.v1.ImageService/PullImage",
                   "snapshotter.prepare", "task.create"),
}


def _set(kv_list, key: str, value: object) -> None:  # noqa: ANN001 - protobuf repeated container
    kv = kv_list.add(key=key)
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:
        kv.value.string_value = value


class Generator:
    """Spans of high-cardinality traces, grouped into requests."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.clock = T0
        self.traces = 0
        self.spans = 0

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def trace(self) -> list[tuple[str, dict]]:
        """One trace: (service, span fields) for 3–9 parent-chained spans."""
        rng = self.rng
        self.traces += 1
        token = EPOCH_TOKEN.decode()
        trace_id = EPOCH_TOKEN + rng.getrandbits(48).to_bytes(6, "big")
        namespace = rng.choice(("default", "kube-system", "payments", "monitoring"))
        pod = f"{rng.choice(('checkout', 'api', 'worker', 'cache'))}-{token}-{self._hex(8)}"
        ip = f"{IP_TOKEN.decode()}{self.traces >> 16 & 0xFFFF:x}:{self.traces & 0xFFFF:x}::{rng.randrange(1, 255):x}"
        url = f"https://10.43.0.1:443/api/v1/namespaces/{namespace}/pods/{pod}/status"
        node = rng.choice(NODES)
        self.clock += rng.randrange(20_000, 1_000_000)
        start = self.clock
        parent = b""
        out = []
        for depth in range(rng.randint(3, 9)):
            service = SERVICES[min(depth * 3 // 4, 2)] if depth < 4 else rng.choice(SERVICES[1:])
            span_id = rng.getrandbits(64).to_bytes(8, "big")
            attrs: dict[str, object] = {
                "k8s.pod.name": pod, "k8s.pod": f"{namespace}/{pod}", "http.url": url, "net.peer.ip": ip,
                "http.method": rng.choice(METHODS), "http.status_code": rng.choice(STATUS),
                "request.size": rng.randrange(200, 20_001),
                "latency.ratio": round(rng.random(), 4),
                "retry.count": rng.choice((0, 0, 0, 1, 2, 3)),
            }
            if rng.random() < 0.5:
                attrs["container.id"] = token + self._hex(32 - len(token))
            extras = (("user_agent.original", rng.choice(AGENTS)), ("container.image.name", rng.choice(IMAGES)),
                      ("k8s.node.name", node), ("k8s.namespace.name", namespace),
                      ("rpc.system", "grpc"), ("component", service))
            for key, value in extras[:rng.randint(0, 4)]:
                attrs[key] = value
            duration = rng.randrange(50_000, 40_000_000)
            out.append((service, dict(
                trace_id=trace_id, span_id=span_id, parent=parent, name=rng.choice(NAMES[service]),
                kind=2 if depth == 0 else rng.choice((1, 3)), start=start, end=start + duration,
                status=2 if rng.random() < 0.02 else 0, attrs=attrs)))
            parent = span_id
            start += rng.randrange(1_000, duration // 2)
        self.spans += len(out)
        return out


def _resource(rs, service: str, node: str, seed: int) -> None:  # noqa: ANN001 - protobuf message
    attrs = rs.resource.attributes
    _set(attrs, "service.name", service)
    _set(attrs, "service.version", "v1.31.2")
    _set(attrs, "host.name", node if service != "apiserver" else "k3d-cluster-server-0")
    _set(attrs, "k8s.cluster.name", "k3d-tracing")
    _set(attrs, "telemetry.sdk.language", "go")
    _set(attrs, "process.pid", 1000 + seed % 7)


def requests(total_spans: int, batch_size: int = 512, seed: int = 1) -> Iterator[tuple[bytes, int]]:
    """Serialized ExportTraceServiceRequests of `batch_size` spans (traces cut at batch ends)."""
    gen = Generator(seed)
    pending: list[tuple[str, dict]] = []
    made = 0
    request_index = 0
    while made < total_spans:
        count = min(batch_size, total_spans - made)
        while len(pending) < count:
            pending.extend(gen.trace())
        spans, pending = pending[:count], pending[count:]
        req = ExportTraceServiceRequest()
        node = NODES[request_index % len(NODES)]
        scopes = {}
        for service in SERVICES:
            rs = req.resource_spans.add()
            _resource(rs, service, node, request_index)
            scopes[service] = rs.scope_spans.add()
            scopes[service].scope.name = f"k8s.io/{service}"
            scopes[service].scope.version = "v1.31.2"
        for service, s in spans:
            span = scopes[service].spans.add(
                trace_id=s["trace_id"], span_id=s["span_id"], parent_span_id=s["parent"], name=s["name"],
                kind=s["kind"], start_time_unix_nano=s["start"], end_time_unix_nano=s["end"])
            if s["status"]:
                span.status.code = s["status"]
            for key, value in s["attrs"].items():
                _set(span.attributes, key, value)
        made += count
        request_index += 1
        yield req.SerializeToString(), count


def vary(raw: bytes, epoch: int) -> bytes:
    """`raw` with every epoch token set to `epoch` (0–65535): new trace ids and unique values."""
    if not epoch:
        return raw
    tag = b"%04x" % (epoch & 0xFFFF)
    return raw.replace(EPOCH_TOKEN, EPOCH_TOKEN[:6] + tag).replace(IP_TOKEN, IP_TOKEN[:10] + tag + b":")


def unique_requests(total_spans: int, batch_size: int = 512, seed: int = 1,
                    epochs: int = 1 << 16) -> Iterator[bytes]:
    """`total_spans` spans in requests of `batch_size`: 40 requests made once, then sent again with a new
    epoch per pass (`vary`), so no unique value repeats and generating them costs little."""
    template = [raw for raw, _ in requests(min(total_spans, 40 * batch_size), batch_size, seed=seed)]
    made = 0
    for epoch in range(epochs):
        for raw in template:
            if made >= total_spans:
                return
            yield vary(raw, epoch)
            made += batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from kubespan.otlp.attributes import new_attribute_table
    from kubespan.otlp.decode import decode_request

    table = new_attribute_table()
    wire = spans = 0
    for raw, count in requests(args.spans, args.batch, args.seed):
        wire += len(raw)
        spans += count
        decode_request(raw, table)
    keys: dict[str, int] = {}
    for attribute in table.attributes:
        keys[attribute.key] = keys.get(attribute.key, 0) + 1
    print(f"{spans:,} spans, {wire / spans:.0f} wire bytes per span, {len(table):,} distinct attributes "
          f"({len(table) / spans:.2f} per span)")
    for key, count in sorted(keys.items(), key=lambda item: -item[1]):
        print(f"  {key:<24} {count:>9,}")


if __name__ == "__main__":
    main()
