"""Send OTLP/gRPC trace exports at a steady rate: `kubespan demo --endpoint HOST:PORT`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from kubespan.k8s.demo import DemoCluster

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass
class SendStats:
    """Counters of one sending run."""

    requests: int = 0
    spans: int = 0
    bytes: int = 0
    errors: int = 0
    rejected_spans: int = 0  # partial success reported by the receiver
    elapsed_s: float = 0.0
    last_error: str | None = None
    latencies_s: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        out = asdict(self)
        del out["latencies_s"]
        return out


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def open_channel(endpoint: str, token: str | None = None) -> tuple[grpc.Channel, list[tuple[str, str]]]:
    """An insecure channel to `endpoint` and the call metadata (bearer token if any)."""
    channel = grpc.insecure_channel(endpoint, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
    metadata = [("authorization", f"Bearer {token}")] if token else []
    return channel, metadata


def send(
    endpoint: str,
    requests: Iterable[ExportTraceServiceRequest | tuple[bytes, int]],
    *,
    rate: float | None = None,
    duration: float | None = None,
    gzip: bool = False,
    token: str | None = None,
    stop_event: threading.Event | None = None,
    timeout: float = 10.0,
) -> SendStats:
    """Export `requests` to an OTLP/gRPC endpoint and return counters.

    Items are messages, or `(serialized bytes, span count)` pairs sent as they are. `rate` caps
    spans per second (None: as fast as possible); sending stops after `duration` seconds, when
    `requests` runs out, or when `stop_event` is set. Failed exports are counted, not raised.
    """
    stop = stop_event or threading.Event()
    channel, metadata = open_channel(endpoint, token)
    stub = TraceServiceStub(channel)
    raw = channel.unary_unary(
        EXPORT_METHOD, request_serializer=None, response_deserializer=ExportTraceServiceResponse.FromString
    )
    compression = grpc.Compression.Gzip if gzip else grpc.Compression.NoCompression
    stats = SendStats()
    start = time.monotonic()
    try:
        for item in requests:
            if stop.is_set():
                break
            if isinstance(item, tuple):
                payload, n = item
                size = len(payload)
            else:
                payload, n = item, span_count(item)
                size = item.ByteSize()
            if rate:  # wait until these spans fit under the rate
                delay = start + stats.spans / rate - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
            if duration is not None and time.monotonic() - start >= duration:
                break
            call = raw if isinstance(payload, bytes) else stub.Export
            t0 = time.monotonic()
            try:
                response = call(payload, timeout=timeout, metadata=metadata, compression=compression)
            except grpc.RpcError as err:
                stats.errors += 1
                stats.last_error = f"{err.code().name}: {err.details()}"
                if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED):
                    stop.wait(0.2)  # don't spin against a receiver that is not there (yet)
                continue
            stats.latencies_s.append(time.monotonic() - t0)
            stats.requests += 1
            stats.spans += n
            stats.bytes += size
            stats.rejected_spans += response.partial_success.rejected_spans
    finally:
        stats.elapsed_s = time.monotonic() - start
        channel.close()
    return stats


def _demo_requests(
    cluster: DemoCluster, rate: float | None, stop: threading.Event
) -> Iterator[ExportTraceServiceRequest]:
    """Endless demo requests. With a rate: batches small enough to keep a low rate smooth.
    Without: in real time, each request released once the wall clock reaches its last span's end."""
    if rate:
        batch = max(1, min(512, int(rate // 4)))
        while True:
            yield from cluster.next_requests(batch)
    while True:
        for request in cluster.next_requests(64):
            delay = (_last_end_ns(request) - time.time_ns()) / 1e9
            if delay > 0 and stop.wait(delay):
                return
            yield request


def _last_end_ns(request: ExportTraceServiceRequest) -> int:
    return max((span.end_time_unix_nano for rs in request.resource_spans for ss in rs.scope_spans
                for span in ss.spans), default=0)


def run_demo(
    endpoint: str,
    rate: float | None = 200.0,
    duration: float | None = None,
    seed: int = 0,
    k8s_version: str = "1.27",
    stop_event: threading.Event | None = None,
    *,
    gzip: bool = False,
    token: str | None = None,
    start_ns: int | None = None,
) -> dict:
    """`kubespan demo`: stream simulated k3d traces to `endpoint`; returns `SendStats.as_dict()`.

    The simulated clock starts at `start_ns` (default: now). With `rate` (spans/s) the
    simulation runs as fast as needed, so span timestamps run ahead of the wall clock when
    the rate exceeds the cluster's natural pace (about 15-25 spans/s). With `rate=None` it
    runs in real time: spans are sent about when they end, at that natural pace.
    """
    stop = stop_event or threading.Event()
    cluster = DemoCluster(seed=seed, k8s_version=k8s_version, start_ns=time.time_ns() if start_ns is None else start_ns)
    stats = send(endpoint, _demo_requests(cluster, rate, stop), rate=rate, duration=duration, gzip=gzip, token=token,
                 stop_event=stop)
    return stats.as_dict()
