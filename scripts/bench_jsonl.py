#!/usr/bin/env python3
"""Measure kubespan's OTLP/JSON codec throughput on realistic k8s-like spans.

Builds requests of 512 spans (kubelet/containerd style: a resource with
service.name and a few attributes, scope name/version, ~11 span attributes)
and prints spans/s for encode_span_lines, encode_request_json and
decode_traces_json, next to google.protobuf.json_format as a baseline.

    python scripts/bench_jsonl.py [--requests N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from google.protobuf import json_format  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status  # noqa: E402

from kubespan.encode.otlp_json import encode_request_json  # noqa: E402
from kubespan.encode.span_lines import encode_span_lines  # noqa: E402
from kubespan.otlp.jsoncodec import decode_traces_json  # noqa: E402

SPANS_PER_REQUEST = 512
_NAMES = [
    "syncPod",
    "runtime.v1.RuntimeService/CreateContainer",
    "runtime.v1.ImageService/PullImage",
    "HTTP GET",
    "SerializeObject",
]


def build_request(rng: random.Random, n_spans: int = SPANS_PER_REQUEST) -> ExportTraceServiceRequest:
    """A kubelet-like request: one resource, one scope, ``n_spans`` spans with 11 attributes."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.schema_url = "https://opentelemetry.io/schemas/1.24.0"
    for key, val in (
        ("service.name", "kubelet"),
        ("host.name", "k3d-tracingcluster-server-0"),
        ("telemetry.sdk.language", "go"),
    ):
        kv = rs.resource.attributes.add(key=key)
        kv.value.string_value = val
    ss = rs.scope_spans.add()
    ss.scope.name = "k8s.io/kubernetes/pkg/kubelet"
    ss.scope.version = "v1.30.2"
    trace_id = rng.randbytes(16)
    for i in range(n_spans):
        sp = ss.spans.add()
        sp.trace_id = trace_id if i % 11 else rng.randbytes(16)
        sp.span_id = rng.randbytes(8)
        sp.parent_span_id = rng.randbytes(8)
        sp.flags = 0x101
        sp.name = _NAMES[i % len(_NAMES)]
        sp.kind = Span.SPAN_KIND_INTERNAL if i % 3 else Span.SPAN_KIND_CLIENT
        start = 1_700_000_000_000_000_000 + i * 1_000_123
        sp.start_time_unix_nano = start
        sp.end_time_unix_nano = start + rng.randrange(10_000, 2_000_000_000)
        pod = f"pod-{i % 37}"
        attrs = [
            ("k8s.pod", f"default/{pod}"),
            ("k8s.pod.uid", "6f1c8a52-3d1e-4b2a-9c55-0e2f6b1d7a%02d" % (i % 100)),
            ("k8s.pod.name", pod),
            ("k8s.namespace.name", "default"),
            ("k8s.pod.update_type", "sync"),
            ("rpc.system", "grpc"),
            ("rpc.service", "runtime.v1.RuntimeService"),
            ("rpc.method", "CreateContainer"),
            ("net.peer.name", "/run/k3s/containerd/containerd.sock"),
        ]
        for key, val in attrs:
            kv = sp.attributes.add(key=key)
            kv.value.string_value = val
        kv = sp.attributes.add(key="rpc.grpc.status_code")
        kv.value.int_value = 0 if i % 7 else 2
        kv = sp.attributes.add(key="net.peer.port")
        kv.value.int_value = 10250
        sp.status.code = Status.STATUS_CODE_ERROR if i % 7 == 0 else Status.STATUS_CODE_UNSET
        if i % 7 == 0:
            sp.status.message = "rpc error: code = Unknown desc = failed to pull image"
    return req


def measure(label: str, fn: Callable[[], object], spans: int, repeat: int) -> float:
    """Run ``fn`` ``repeat`` times, print and return the best spans/s."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    rate = spans / best
    print(f"{label:<48} {rate:>12,.0f} spans/s")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20, help="requests of 512 spans per run")
    ap.add_argument("--repeat", type=int, default=5, help="runs; the best one is reported")
    args = ap.parse_args()

    rng = random.Random(42)
    reqs = [build_request(rng) for _ in range(args.requests)]
    spans = args.requests * SPANS_PER_REQUEST
    bodies = [encode_request_json(r) for r in reqs]
    lines = [line for r in reqs for line in encode_span_lines(r)]
    print(f"{args.requests} requests x {SPANS_PER_REQUEST} spans, best of {args.repeat}")
    print(f"line length: {sum(map(len, lines)) / len(lines):.0f} bytes/span")

    measure(
        "encode_span_lines + join (kubespan)",
        lambda: ["\n".join(encode_span_lines(r)) for r in reqs],
        spans,
        args.repeat,
    )
    measure("encode_request_json (kubespan)", lambda: [encode_request_json(r) for r in reqs], spans, args.repeat)
    measure(
        "json_format.MessageToJson (baseline, base64 ids)",
        lambda: [json_format.MessageToJson(r, indent=None) for r in reqs],
        spans,
        args.repeat,
    )
    measure("decode_traces_json, 512-span body (kubespan)", lambda: [decode_traces_json(b) for b in bodies], spans,
            args.repeat)
    measure("decode_traces_json, per line (kubespan)", lambda: [decode_traces_json(x) for x in lines], spans,
            args.repeat)
    pb_bodies = [json_format.MessageToJson(r, indent=None) for r in reqs]
    measure(
        "json_format.Parse (baseline, base64 ids)",
        lambda: [json_format.Parse(b, ExportTraceServiceRequest()) for b in pb_bodies],
        spans,
        args.repeat,
    )


if __name__ == "__main__":
    main()
