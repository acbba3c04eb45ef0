"""The ingest baseline: an OTLP/gRPC receiver that only parses requests and counts spans.

Run by `scripts/bench_ingest.py` beside `kubespan serve` so both are measured in one go.
Prints `listening on HOST:PORT` on stderr, and the span count when stopped with SIGINT.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def main() -> None:
    counted = [0]
    lock = threading.Lock()

    def export(raw: bytes, context) -> bytes:
        request = ExportTraceServiceRequest.FromString(raw)
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with lock:
            counted[0] += spans
        return b""

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
    )
    handler = grpc.unary_unary_rpc_method_handler(export)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("opentelemetry.proto.collector.trace.v1.TraceService",
                                              {"Export": handler})]
    )
    port = server.add_insecure_port(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:0")
    server.start()
    print(f"bare: OTLP/grpc listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(0.2):  # timed: a signal taken by a grpc thread is only seen between waits
        pass
    server.stop(None)
    print(f'{{"received_spans": {counted[0]}}}', file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
