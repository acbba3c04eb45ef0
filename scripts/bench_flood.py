"""Memory of a real `kubespan serve` while it decodes one huge request, and after.

    python scripts/bench_flood.py                              # 2,000,000 minimal spans (~57 MiB)
    python scripts/bench_flood.py --spans 500000 --data high-cardinality   # ~275 MiB of real-looking spans

Starts `python -m kubespan serve --max-spans 100000 --max-recv-mib 400` (no HTTP, no query API),
warms it up with a few small requests, then sends one request over gRPC while reading the
resident set of the server and its children (/proc) every few milliseconds. Reported: the
largest RSS growth over the warmed-up server while the request was handled, and the growth
`--after` seconds later. `--data minimal` spans carry a trace id and a span id only (30 bytes
on the wire each); `--data high-cardinality` repeats scripts/high_cardinality.py requests
(a new epoch per copy, so no value repeats) inside one request. Target (issue: floods):
at most 256 MiB of growth while decoded, whatever the shape, and memory given back after.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import grpc

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, os.path.dirname(SCRIPTS))

from bench_ingest import EXPORT, make_payloads  # noqa: E402
from bench_memory import tree_rss  # noqa: E402
from high_cardinality import vary  # noqa: E402

from kubespan.otlp.protowire import varint  # noqa: E402
from tests.support.serve_process import ServeProcess  # noqa: E402


def _field(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + varint(len(payload)) + payload


def minimal_request(spans: int) -> bytes:
    """One ResourceSpans, one ScopeSpans, `spans` spans of a trace id and a span id each."""
    body = b"".join(_field(0x12, _field(0x0A, (i + 1).to_bytes(16, "big")) + _field(0x12, (i + 1).to_bytes(8, "big")))
                    for i in range(spans))
    return _field(0x0A, _field(0x12, body))


def high_cardinality_request(spans: int) -> bytes:
    """scripts/high_cardinality.py requests of 512 spans, concatenated (a request is its ResourceSpans)."""
    payloads = make_payloads("high-cardinality", 512)
    copies = (spans + 511) // 512
    return b"".join(vary(payloads[i % len(payloads)], 1 + i // len(payloads)) for i in range(copies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=2_000_000)
    parser.add_argument("--data", choices=("minimal", "high-cardinality"), default="minimal")
    parser.add_argument("--max-spans", type=int, default=100_000)
    parser.add_argument("--after", type=float, default=10.0, help="seconds to wait before the last reading")
    args = parser.parse_args()
    raw = minimal_request(args.spans) if args.data == "minimal" else high_cardinality_request(args.spans)
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--api", "off",
                          "--max-spans", str(args.max_spans), "--max-recv-mib", "400")
    try:
        call = grpc.insecure_channel(server.addresses["grpc"], options=[("grpc.max_send_message_length", 1 << 30)]) \
            .unary_unary(EXPORT)
        for payload in make_payloads("high-cardinality", 512)[:10]:
            call(payload, timeout=60)
        time.sleep(0.5)
        pid = server.process.pid
        base = tree_rss(pid)
        peak = base
        done = threading.Event()

        def send() -> None:
            try:
                call(raw, timeout=600)
            finally:
                done.set()

        started = time.monotonic()
        threading.Thread(target=send, daemon=True).start()
        while not done.wait(0.005):
            peak = max(peak, tree_rss(pid))
        elapsed = time.monotonic() - started
        time.sleep(args.after)
        after = tree_rss(pid)
        counters = server.stop()
    finally:
        server.kill()
    print(f"# bench_flood --data {args.data}: one request of {args.spans:,} spans, {len(raw) / 2**20:,.1f} MiB, "
          f"serve --max-spans {args.max_spans:,}; RSS after the warm-up {base / 2**20:,.0f} MiB")
    print(f"handled in {elapsed:.1f} s; stored {counters.get('stored_spans', 0):,}, "
          f"received {counters.get('received_spans', 0):,}")
    print(f"RSS growth: peak while handled {(peak - base) / 2**20:,.0f} MiB, "
          f"{args.after:g} s later {(after - base) / 2**20:,.0f} MiB (target: peak <= 256 MiB)")


if __name__ == "__main__":
    main()
