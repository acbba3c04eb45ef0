#!/usr/bin/env python3
"""Measure reading a dump file: `kubespan.dumps.DumpReader` against bare per-line decoding.

Builds a one-span-per-line dump of k8s-like spans (the demo's load templates, ~11 attributes per
span), then reads it, interleaved, with `decode_traces_json` per line (the baseline: what the reader
did before it counted records and took whole documents) and with `DumpReader.requests()`, and as one
pretty-printed document of the same spans. Prints spans/s of each round.

    flock /work/coord/bench.lock python scripts/bench_dump_read.py [--spans N] [--rounds R]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest  # noqa: E402

from kubespan.dumps import DumpReader  # noqa: E402
from kubespan.encode.otlp_json import encode_request_json  # noqa: E402
from kubespan.encode.span_lines import encode_span_lines  # noqa: E402
from kubespan.k8s.demo import load_batch  # noqa: E402
from kubespan.otlp.jsoncodec import decode_traces_json  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    requests = [ExportTraceServiceRequest.FromString(raw) for raw in load_batch(args.spans, seed=1, batch_size=500)]
    lines = ("".join(line + "\n" for r in requests for line in encode_span_lines(r))).encode()
    merged = ExportTraceServiceRequest()
    for request in requests:
        merged.resource_spans.extend(request.resource_spans)
    document = json.dumps(json.loads(encode_request_json(merged)), indent=2).encode()
    print(f"{args.spans:,} spans: JSON lines {len(lines) / 2**20:.0f} MiB, "
          f"one document {len(document) / 2**20:.0f} MiB")

    def per_line() -> int:
        return sum(len(decode_traces_json(line).resource_spans) for line in io.BytesIO(lines) if line.strip())

    def reader(data: bytes) -> Callable[[], int]:
        def run() -> int:  # the document is over the default 64 MiB limit at 50k spans: lift it here
            reading = DumpReader("bench", io.BytesIO(data), max_document_bytes=2**31)
            for _ in reading.requests():
                pass
            return reading.report.spans

        return run

    cases = [("per-line decode_traces_json (baseline)", per_line), ("DumpReader, JSON lines", reader(lines)),
             ("DumpReader, one pretty document", reader(document))]
    for round_no in range(1, args.rounds + 1):
        for name, run in cases:
            started = time.perf_counter()
            spans = run()
            print(f"round {round_no}  {name:40s} {spans / (time.perf_counter() - started):>10,.0f} spans/s")


if __name__ == "__main__":
    main()
