#!/usr/bin/env python3
"""Ingest throughput with and without one forward target, measured in the same run.

Modes:
  pipeline (default): decode + pipeline in this process (`Pipeline.export_traces`),
      which is where forwarding could slow ingest; chunks of requests alternate
      between a pipeline without and one with a forwarder, so both see the same
      background load. The backend is a separate process.
  grpc: the full gRPC path: kubespan's GrpcReceiver in this process, load from a
      separate client process sending pre-built requests.

The backend is a plain OTLP/gRPC server in a child process that answers success
without decoding, so it does not compete for this process's GIL.

    python scripts/bench_forward.py [--mode pipeline|grpc] [--requests 400] [--spans 512]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans  # noqa: E402

SPAWN = multiprocessing.get_context("spawn")
"""Child processes start fresh: forking a process that runs gRPC threads is unsafe."""
EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
ROUTES = ["/api/v1/namespaces/kube-system/pods/coredns-{}",
          "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/k3d-{}",
          "/api/v1/nodes/k3d-tracingcluster-server-{}", "/apis/apps/v1/namespaces/default/deployments/web-{}"]


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def k8s_request(spans: int, seed: int) -> bytes:
    """An apiserver-like batch: KubernetesAPI server spans with otelhttp 0.35 attributes."""
    rng = random.Random(seed)
    resource_spans = ResourceSpans()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", "apiserver"), _kv("service.instance.id", "apiserver-ttvzbyvkxx2hwlx4d3zqs4tcwu")]
    )
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
    scope.scope.version = "semver:0.35.1"
    start = 1_684_374_704_954_563_708
    for i in range(spans):
        span = scope.spans.add(
            trace_id=rng.randbytes(16), span_id=rng.randbytes(8), name="KubernetesAPI", kind=2,
            start_time_unix_nano=start + i * 1000, end_time_unix_nano=start + i * 1000 + rng.randrange(10**5, 10**7),
        )
        route = rng.choice(ROUTES).format(rng.randrange(20))
        span.attributes.extend([
            _kv("net.transport", "ip_tcp"), _kv("net.peer.ip", "127.0.0.1"),
            _kv("net.peer.port", rng.randrange(30000, 60000)),
            _kv("net.host.ip", "127.0.0.1"), _kv("net.host.port", 6443), _kv("http.target", route),
            _kv("http.server_name", "KubernetesAPI"),
            _kv("http.user_agent", "k3s/v1.27.1+k3s1 (linux/amd64) kubernetes/bc5b42c"),
            _kv("http.scheme", "https"), _kv("http.host", "127.0.0.1:6443"), _kv("http.flavor", "2"),
            _kv("http.method", rng.choice(["GET", "GET", "GET", "PUT", "PATCH"])),
            _kv("http.wrote_bytes", rng.randrange(100, 9000)),
            _kv("http.status_code", rng.choice([200, 200, 200, 201, 404])),
        ])
    return ExportTraceServiceRequest(resource_spans=[resource_spans]).SerializeToString()


def run_backend(port_queue) -> None:
    """A minimal OTLP/gRPC server: success for every request, no decoding."""
    from concurrent import futures

    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(4))
    handler = grpc.unary_unary_rpc_method_handler(lambda raw, context: b"\x0a\x00")
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("opentelemetry.proto.collector.trace.v1.TraceService",
                                              {"Export": handler})]
    )
    port_queue.put(server.add_insecure_port("127.0.0.1:0"))
    server.start()
    server.wait_for_termination()


def run_client(address: str, requests: list[bytes], threads: int, done) -> None:
    """Send every request over `threads` concurrent streams; report elapsed seconds."""
    import grpc

    with grpc.insecure_channel(address) as channel:
        export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        chunks = [requests[i::threads] for i in range(threads)]
        started = time.perf_counter()

        def send(chunk) -> None:
            for raw in chunk:
                while True:
                    try:
                        export(raw, timeout=30)
                        break
                    except grpc.RpcError:
                        time.sleep(0.01)

        workers = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        done.put(time.perf_counter() - started)


COMPRESSION: str | None = None
"""None: kubespan's default for the target (uncompressed on loopback); or gzip/none."""
CONSUMERS: int | None = None
"""None: kubespan's default number of sender threads."""


def make_forwarder(port: int, counters, queue_requests: int):
    """A forwarder as `--forward grpc://127.0.0.1:PORT` builds it, with a queue holding the run."""
    from kubespan.forward.forwarder import Forwarder
    from kubespan.forward.settings import ForwardSettings, QueueSettings

    settings = ForwardSettings.from_url(f"grpc://127.0.0.1:{port}")
    settings = settings.with_options(
        queue=QueueSettings(size=queue_requests, consumers=CONSUMERS or settings.queue.consumers),
        compression=COMPRESSION or settings.compression,
    )
    return Forwarder(settings, counters)


def measure_pipeline_interleaved(requests: list[bytes], forward_port: int, chunk: int) -> dict:
    """Alternate chunks of `chunk` requests between two pipelines, one with a forwarder.

    Adjacent chunks see the same background load, so the summed times compare fairly
    on a busy machine. Before each plain chunk the forwarder has drained, so the
    forwarded chunk's time includes sending running concurrently with ingest.
    """
    from kubespan.pipeline import Pipeline
    from kubespan.stats import Counters

    plain = Pipeline(counters=Counters())
    counters = Counters()
    forwarded = Pipeline(counters=counters)
    forwarder = make_forwarder(forward_port, counters, len(requests))
    forwarded.add_consumer(forwarder)
    for raw in requests[:20]:  # warm both attribute tables and the channel
        plain.export_traces(raw)
        forwarded.export_traces(raw)
    spans_per_request = _spans(requests[0])
    sent_target = 20 * spans_per_request
    times = {"plain": 0.0, "forward": 0.0}
    for start in range(0, len(requests), chunk):
        part = requests[start:start + chunk]
        _wait_sent(counters, sent_target)
        for name, pipeline in (("plain", plain), ("forward", forwarded)):
            began = time.perf_counter()
            for raw in part:
                pipeline.export_traces(raw)
            times[name] += time.perf_counter() - began
        sent_target += len(part) * spans_per_request
    _wait_sent(counters, sent_target)
    forwarder.close(10)
    spans = len(requests) * spans_per_request
    return {
        "plain": spans / times["plain"],
        "forward": spans / times["forward"],
        "sent": counters.get("forward_sent_spans") - 20 * spans_per_request,
        "dropped": counters.get("forward_dropped_spans"),
    }


def _wait_sent(counters, target: int, timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while counters.get("forward_sent_spans") + counters.get("forward_dropped_spans") < target:
        if time.perf_counter() > deadline:
            raise RuntimeError("forwarder did not drain")
        time.sleep(0.002)


def measure_grpc(requests: list[bytes], forward_port: int | None, threads: int) -> dict:
    from kubespan.pipeline import Pipeline
    from kubespan.receive.grpc_server import GrpcReceiver
    from kubespan.receive.settings import ReceiverSettings
    from kubespan.stats import Counters

    counters = Counters()
    pipeline = Pipeline(counters=counters)
    forwarder = make_forwarder(forward_port, counters, len(requests)) if forward_port else None
    if forwarder:
        pipeline.add_consumer(forwarder)
    receiver = GrpcReceiver(pipeline, ReceiverSettings(), "127.0.0.1:0")
    address = receiver.start()
    done = SPAWN.Queue()
    client = SPAWN.Process(target=run_client, args=(address, requests, threads, done))
    client.start()
    elapsed = done.get(timeout=600)
    client.join()
    receiver.stop()
    return _finish(counters, forwarder, elapsed, len(requests) * _spans(requests[0]))


def _spans(raw: bytes) -> int:
    request = ExportTraceServiceRequest.FromString(raw)
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


def _finish(counters, forwarder, elapsed: float, spans: int, warm_spans: int = 0) -> dict:
    result = {"ingest_spans_per_s": spans / elapsed, "elapsed_s": elapsed}
    if forwarder is not None:
        started = time.perf_counter()
        deadline = started + 120
        total = spans + warm_spans
        while counters.get("forward_sent_spans") < total - counters.get("forward_dropped_spans"):
            if time.perf_counter() > deadline:
                break
            time.sleep(0.01)
        result["drain_s"] = elapsed + time.perf_counter() - started
        forwarder.close(10)
        result["forwarded_spans"] = counters.get("forward_sent_spans")
        result["forward_dropped_spans"] = counters.get("forward_dropped_spans")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["pipeline", "grpc"], default="pipeline")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--spans", type=int, default=512)
    parser.add_argument("--threads", type=int, default=4, help="client streams in grpc mode")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median ratio is reported")
    parser.add_argument("--chunk", type=int, default=10, help="requests per interleaved chunk (pipeline mode)")
    parser.add_argument("--compression", choices=["gzip", "none"], default=None,
                        help="force forward compression (default: kubespan's, none on loopback)")
    parser.add_argument("--consumers", type=int, default=None, help="sender threads (default: kubespan's)")
    args = parser.parse_args()
    global COMPRESSION, CONSUMERS
    COMPRESSION, CONSUMERS = args.compression, args.consumers

    requests = [k8s_request(args.spans, seed) for seed in range(args.requests)]
    port_queue = SPAWN.Queue()
    backend = SPAWN.Process(target=run_backend, args=(port_queue,), daemon=True)
    backend.start()
    port = port_queue.get(timeout=30)

    size = len(requests[0])
    print(f"mode={args.mode} requests={args.requests} spans/request={args.spans} request_bytes~{size} "
          f"compression={COMPRESSION or 'default (none on loopback)'} cpus={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.1f}")
    if args.mode == "pipeline":
        ratios = []
        for _ in range(args.rounds):
            result = measure_pipeline_interleaved(requests, port, args.chunk)
            ratios.append(result["forward"] / result["plain"])
            print(f"  without forwarding {result['plain']:,.0f} spans/s, with one --forward {result['forward']:,.0f} "
                  f"spans/s (ratio {ratios[-1]:.2f}; {result['sent']:,} forwarded, {result['dropped']} dropped)")
    else:
        ratios = []
        for _ in range(args.rounds):  # adjacent runs see the same background load
            plain = measure_grpc(requests, None, args.threads)
            forwarded = measure_grpc(requests, port, args.threads)
            ratios.append(forwarded["ingest_spans_per_s"] / plain["ingest_spans_per_s"])
            print(f"  without forwarding {plain['ingest_spans_per_s']:,.0f} spans/s, with one --forward "
                  f"{forwarded['ingest_spans_per_s']:,.0f} spans/s (ratio {ratios[-1]:.2f}; all forwarded after "
                  f"{forwarded['drain_s']:.2f}s, {forwarded['forwarded_spans']:,} sent, "
                  f"{forwarded['forward_dropped_spans']} dropped)")
    backend.terminate()
    median = sorted(ratios)[len(ratios) // 2]
    print(f"ratio: median {median:.2f} over {len(ratios)} rounds (target >= 0.80)")
    return 0 if median >= 0.8 else 1


if __name__ == "__main__":
    raise SystemExit(main())
