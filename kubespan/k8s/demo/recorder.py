"""Simulation core of the demo cluster: seeded ids and jitter, an event queue in simulated
time, finished spans buffered until their end time, and export requests grouped by service
and scope like a real exporter sends them. Also the gRPC client span shape shared by all
components."""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.k8s.demo.model import (
    CLIENT,
    DEFAULT_START_NS,
    ERROR,
    GRPC_CODES,
    NODE,
    SCOPE_OTELGRPC,
    SCOPE_OTELHTTP,
    SCOPE_OTELRESTFUL,
    US,
    VERSIONS,
    Attr,
    Attrs,
    apiserver_instance_id,
    kv,
)

NATURAL_SPANS_PER_S = {"1.27": 16.6, "1.36": 25.8}
"""Spans per second of the simulated cluster at pace 1, per version."""


@dataclass(order=True)
class PendingSpan:
    """A finished span waiting for simulated time to reach its end."""

    end: int
    seq: int
    service: str = field(compare=False)
    scope: str = field(compare=False)
    span: Span = field(compare=False)


class SpanRecorder:
    """Simulated time, seeded randomness and the span buffer behind a demo cluster."""

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
        self._pending: list[PendingSpan] = []
        self._ready: list[PendingSpan] = []
        self._resources = self._make_resources()
        self.pace = 1.0
        """How much busier than a real cluster the background activity runs (`kubespan demo --rate`)."""

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

    def requests_until(self, t_ns: int, max_spans: int = 512) -> list[ExportTraceServiceRequest]:
        """Advance simulated time to ``t_ns`` and return up to ``max_spans`` of the spans that have
        ended by then, as export requests (none when every such span was returned already)."""
        if max_spans < 1:
            raise ValueError("max_spans must be at least 1")
        while self._events and self._events[0][0] <= t_ns:
            t, _, handler = heapq.heappop(self._events)
            self.now = t
            handler(t)
        self.now = max(self.now, t_ns)
        while self._pending and self._pending[0].end <= t_ns:
            self._ready.append(heapq.heappop(self._pending))
        batch, self._ready = self._ready[:max_spans], self._ready[max_spans:]
        return self._to_requests(batch)

    def natural_rate(self) -> float:
        """Spans per second at pace 1 (measured over 10 simulated minutes, seed 3)."""
        return NATURAL_SPANS_PER_S[self.version]

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

    def _to_requests(self, batch: list[PendingSpan]) -> list[ExportTraceServiceRequest]:
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

    def _again(self, t: int, interval: int, handler: Callable[[int], None]) -> None:
        """Run ``handler`` again after ``interval`` ns of a real cluster, shortened by the pace."""
        self._at(t + max(US, int(interval / self.pace)), handler)

    def _id(self, n: int) -> bytes:
        return (self.rng.getrandbits(8 * n) or 1).to_bytes(n, "big")

    def _hex(self, n: int) -> str:
        return self._id(n).hex()

    def _uuid(self) -> str:
        return str(uuid.UUID(bytes=self._id(16), version=4))

    def _jit(self, base: int, spread: float = 0.3) -> int:
        """`base` ns give or take `spread` (relative), at least 1 µs."""
        return max(US, int(base * (1 + self.rng.uniform(-spread, spread))))

    def _span(self, service: str, scope: str, name: str, kind: Span.SpanKind.ValueType, trace_id: bytes,
              parent: bytes, start: int, end: int, attrs: Sequence[Attr] = (),
              events: Iterable[tuple[int, str, Attrs]] = (), links: Iterable[tuple[bytes, bytes]] = (),
              error: str | None = None) -> bytes:
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
        heapq.heappush(self._pending, PendingSpan(end, self._seq, service, scope, span))
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
