"""`kubespan --demo`: the simulated cluster feeding this process's own OTLP/gRPC receiver.

The demo goes through the real receiver rather than straight into the pipeline, so what the
viewer shows is exactly what a cluster pointed at kubespan would produce.
"""

from __future__ import annotations

import threading
import time

from kubespan.receive.settings import split_host_port

BACKLOG_S = 60.0
"""The simulated cluster starts this long ago, so the viewer opens on a minute of traffic..."""
BACKLOG_SPANS = 20_000
"""...or on about this many spans, when `--demo-rate` makes a minute much more."""

JOIN_TIMEOUT_S = 5.0
"""How long `stop()` waits for the sender to finish its request in flight."""


def loopback_endpoint(address: str) -> str:
    """The address to dial for a receiver bound to `address` (wildcards become loopback)."""
    host, port = split_host_port(address)
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class DemoFeed:
    """Streams simulated k3d traces to a receiver on a background thread until stopped.

    ``seed`` None picks a fresh one, so two viewers fed by demos do not share trace ids.
    """

    def __init__(self, endpoint: str, *, rate: float | None = None, seed: int | None = None,
                 token: str | None = None) -> None:
        self.endpoint = endpoint
        self.rate = rate
        self.seed = seed
        self.token = token
        self.stats: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubespan-demo", daemon=True)

    def start(self) -> "DemoFeed":
        self._thread.start()
        return self

    def stop(self) -> dict:
        """Stop sending; return what was sent (`SendStats.as_dict()`)."""
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT_S)
        return self.stats

    def _run(self) -> None:
        from kubespan.k8s.send import run_demo

        backlog_s = BACKLOG_S if not self.rate else min(BACKLOG_S, BACKLOG_SPANS / self.rate)
        start_ns = time.time_ns() - int(backlog_s * 1e9)
        self.stats = run_demo(self.endpoint, rate=self.rate, seed=self.seed, stop_event=self._stop,
                              token=self.token, start_ns=start_ns)
