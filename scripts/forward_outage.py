#!/usr/bin/env python3
"""Forward target down during steady traffic, then back: is every span accounted for?

kubespan's runtime (receivers → pipeline → forwarder, as `kubespan serve --forward` builds
it) receives steady OTLP/gRPC traffic and forwards it to a second OTLP/gRPC receiver, which
goes down for `--outage` seconds and comes back on the same port. Afterwards:

* received = forwarded + dropped (+ failed, which should stay 0): every span is counted once;
* the backend holds exactly the forwarded spans, each once: nothing queued was lost;
* the spans missing at the backend are exactly `forward_dropped_spans` (the queue overflowed).

    python scripts/forward_outage.py --outage 30
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from kubespan.service.service import Service

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass
class OutageResult:
    """Counts gathered after one outage run."""

    outage_s: float
    accepted: list[str] = field(default_factory=list)  # span names the receiver acknowledged
    counters: dict = field(default_factory=dict)
    backend_names: list[str] = field(default_factory=list)
    client_errors: int = 0

    def problems(self) -> list[str]:
        """Broken promises; empty when every span is accounted for."""
        c = self.counters
        received, forwarded = c.get("received_spans", 0), c.get("forward_sent_spans", 0)
        dropped, failed = c.get("forward_dropped_spans", 0), c.get("forward_failed_spans", 0)
        found = []
        if len(self.accepted) != received:
            found.append(f"client saw {len(self.accepted)} spans accepted, receiver counted {received}")
        if received != forwarded + dropped + failed:
            found.append(f"received {received} != forwarded {forwarded} + dropped {dropped} + failed {failed}")
        if failed:
            found.append(f"{failed} spans failed (gave up or permanent error)")
        if len(self.backend_names) != forwarded:
            found.append(f"backend holds {len(self.backend_names)} spans, forwarded counter says {forwarded}")
        if len(set(self.backend_names)) != len(self.backend_names):
            found.append("the backend received some spans twice")
        missing = set(self.accepted) - set(self.backend_names)
        if len(missing) != dropped:
            found.append(f"{len(missing)} accepted spans never reached the backend, {dropped} counted as dropped")
        return found

    def summary(self) -> str:
        c = self.counters
        return (f"outage {self.outage_s:.1f} s: received {c.get('received_spans', 0)}, "
                f"forwarded {c.get('forward_sent_spans', 0)}, dropped {c.get('forward_dropped_spans', 0)}, "
                f"failed {c.get('forward_failed_spans', 0)}, retries {c.get('forward_retries', 0)}; "
                f"backend holds {len(self.backend_names)} ({len(set(self.backend_names))} distinct); "
                f"client errors {self.client_errors}")


class Traffic:
    """A client thread exporting `rate` requests/s of `spans` uniquely named spans each."""

    def __init__(self, address: str, rate: float, spans: int) -> None:
        self.address, self.rate, self.spans = address, rate, spans
        self.accepted: list[str] = []
        self.errors = 0
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> "Traffic":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        import grpc

        from tests.support.forward_helpers import make_request

        with grpc.insecure_channel(self.address) as channel:
            export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
            start, sent = time.monotonic(), 0
            while not self.stop.wait(max(0.0, start + sent / self.rate - time.monotonic())):
                first = sent * self.spans
                try:
                    export(make_request(self.spans, first), timeout=10)
                    self.accepted.extend(f"span-{i}" for i in range(first, first + self.spans))
                except grpc.RpcError:
                    self.errors += 1
                sent += 1


def _runtime(port: int, queue_requests: int) -> "Service":
    from kubespan.forward.settings import ForwardSettings, QueueSettings, RetrySettings
    from kubespan.service.options import ServiceOptions, service_config
    from kubespan.service.service import Service

    target = dataclasses.replace(
        ForwardSettings.from_url(f"grpc://127.0.0.1:{port}"), timeout=2.0,
        retry=RetrySettings(initial_interval=0.05, max_interval=0.5, max_elapsed_time=0),
        queue=QueueSettings(size=queue_requests),
    )
    return Service(service_config(ServiceOptions(grpc="127.0.0.1:0", http=None, forwards=(target,))))


def run_outage(outage_s: float, *, rate: float = 100.0, spans: int = 10, queue_requests: int = 50,
               settle_timeout: float = 60.0, progress: Callable[[str], None] | None = None) -> OutageResult:
    """Steady traffic; the backend goes down for `outage_s`, comes back; then drain and count."""
    from tests.support.forward_helpers import GrpcBackend, wait_until

    say = progress or (lambda text: None)
    backend = GrpcBackend().start()
    runtime = _runtime(backend.port, queue_requests)
    counters = runtime.counters
    try:
        address = runtime.start()["grpc"]
        with Traffic(address, rate, spans) as traffic:
            if not backend.counting.wait_for(spans * 5, timeout=settle_timeout):
                raise RuntimeError("no span reached the backend before the outage")
            backend.stop()
            say(f"backend down for {outage_s:.1f} s")
            down = time.monotonic()
            traffic.stop.wait(outage_s)  # the outage itself: traffic keeps flowing meanwhile
            say(f"backend back after {time.monotonic() - down:.1f} s, "
                f"{counters.get('forward_dropped_spans')} spans dropped so far")
            backend.start()
            before = len(backend.counting.names)
            backend.counting.wait_for(before + spans * 5, timeout=settle_timeout)
        received = counters.get("received_spans")
        wait_until(lambda: counters.get("forward_sent_spans") + counters.get("forward_dropped_spans")
                   + counters.get("forward_failed_spans") >= received, timeout=settle_timeout, step=0.05)
    finally:
        runtime.shutdown()
        backend.stop()
    return OutageResult(outage_s, traffic.accepted, counters.snapshot(), list(backend.counting.names), traffic.errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the backend is down (default 30)")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second (default 100)")
    parser.add_argument("--spans", type=int, default=10, help="spans per request (default 10)")
    parser.add_argument("--queue", type=int, default=1000, help="forward queue size in requests (default 1000)")
    args = parser.parse_args(argv)
    result = run_outage(args.outage, rate=args.rate, spans=args.spans, queue_requests=args.queue,
                        progress=lambda text: print(text, flush=True))
    print(result.summary())
    problems = result.problems()
    print("PASS" if not problems else "FAIL: " + "; ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
