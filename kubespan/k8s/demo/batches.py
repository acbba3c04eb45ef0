"""`load_batch`: many serialized k8s-like export requests, built fast by patching ids and
timestamps into spans pre-serialized from a demo cluster run. For load generators and
benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.k8s.demo.cluster import DemoCluster
from kubespan.k8s.demo.model import DEFAULT_START_NS
from kubespan.otlp.protowire import length_delimited

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
    resources = {name: b"".join(length_delimited(1, kv.SerializeToString()) for kv in attrs)
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
            groups.setdefault((tpl.service, tpl.scope), []).append(length_delimited(2, bytes(buf)))
            parent, left = span_id, left - 1
        by_service: dict[str, list[bytes]] = {}
        for (service, scope), spans in groups.items():
            scope_msg = length_delimited(1, length_delimited(1, scope.encode()))
            by_service.setdefault(service, []).append(length_delimited(2, scope_msg + b"".join(spans)))
        out.append(b"".join(length_delimited(1, length_delimited(1, resources[svc]) + b"".join(sss))
                            for svc, sss in by_service.items()))
    return out
