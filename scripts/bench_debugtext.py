"""Measure kubespan.encode.debugtext throughput on k8s-like spans; prints spans/s.

Usage: python scripts/bench_debugtext.py [--spans N] [--batch N] [--legacy]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)

from kubespan.encode.debugtext import render_traces  # noqa: E402

_T0 = 1_684_374_704_954_563_708  # 2023-05-18 01:51:44.954563708 UTC


def make_batch(n: int) -> ExportTraceServiceRequest:
    """n apiserver ``KubernetesAPI`` server spans, 14 attributes each (11 str, 3 int)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for k, v in (("service.name", "apiserver"), ("service.instance.id", "apiserver-ttvzbyvkxx2hwlx4d3zqs4tcwu")):
        kv = rs.resource.attributes.add(key=k)
        kv.value.string_value = v
    ss = rs.scope_spans.add()
    ss.scope.name = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
    ss.scope.version = "semver:0.35.0"
    for i in range(n):
        sp = ss.spans.add(
            trace_id=os.urandom(16), span_id=os.urandom(8), name="KubernetesAPI", kind=2,
            start_time_unix_nano=_T0 + i * 1_000_003, end_time_unix_nano=_T0 + i * 1_000_003 + 2_991_615,
        )
        for k, v in (
            ("net.transport", "ip_tcp"), ("net.peer.ip", "127.0.0.1"), ("net.peer.port", 54678 + i % 100),
            ("net.host.ip", "127.0.0.1"), ("net.host.port", 6443),
            ("http.target", f"/api/v1/namespaces/kube-system/pods/helm-install-traefik-crd-{i:05d}"),
            ("http.server_name", "KubernetesAPI"),
            ("http.user_agent", "k3s/v1.27.1+k3s1 (linux/amd64) kubernetes/bc5b42c"),
            ("http.scheme", "https"), ("http.host", "127.0.0.1:6443"), ("http.flavor", "2"),
            ("http.method", "GET"), ("http.wrote_bytes", 4724), ("http.status_code", 200),
        ):
            kv = sp.attributes.add(key=k)
            if isinstance(v, int):
                kv.value.int_value = v
            else:
                kv.value.string_value = v
    return req


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spans", type=int, default=200_000, help="total spans to render")
    ap.add_argument("--batch", type=int, default=512, help="spans per request (the batch processor's unit)")
    ap.add_argument("--legacy", action="store_true", help="render the v0.54 logging-exporter format")
    args = ap.parse_args()
    batch = make_batch(args.batch)
    rounds = max(1, args.spans // args.batch)
    render_traces(batch, legacy=args.legacy)  # warm caches
    nbytes = 0
    t = time.perf_counter()
    for _ in range(rounds):
        nbytes += len(render_traces(batch, legacy=args.legacy))
    dt = time.perf_counter() - t
    spans = rounds * args.batch
    print(f"{spans / dt:,.0f} spans/s  ({spans} spans in {dt:.2f}s, {nbytes / dt / 1e6:.1f} MB/s of text,"
          f" {'legacy' if args.legacy else 'current'} format)")


if __name__ == "__main__":
    main()
