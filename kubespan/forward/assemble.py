"""Build one `Forwarder` per configured target and register their gauges."""

from __future__ import annotations

from kubespan.forward.forwarder import Forwarder, register_gauges
from kubespan.forward.settings import ForwardSettings
from kubespan.stats import Counters


def build_forwarders(targets: list[ForwardSettings], counters: Counters) -> list[Forwarder]:
    forwarders = [Forwarder(settings, counters) for settings in targets]
    if forwarders:
        register_gauges(counters, forwarders)
        counters.declare("forward_sent_spans", "forward_sent_requests", "forward_dropped_spans",
                         "forward_failed_spans", "forward_failed_requests", "forward_rejected_spans",
                         "forward_retries")
    return forwarders


def close_forwarders(forwarders: list[Forwarder], timeout: float) -> None:
    for forwarder in forwarders:
        forwarder.close(timeout)
