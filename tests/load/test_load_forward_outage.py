"""Forward target down during steady traffic, then back (short run of scripts/forward_outage.py)."""

from __future__ import annotations

from scripts.forward_outage import run_outage

OUTAGE_S = 2.0


def test_forward_outage_accounts_for_every_span() -> None:
    result = run_outage(OUTAGE_S, rate=100.0, spans=10, queue_requests=50)
    assert result.problems() == [], result.summary()
    counters = result.counters
    assert counters["forward_dropped_spans"] > 0
    assert counters["forward_sent_spans"] > 50 * 10, "the queued requests were not delivered after the outage"
    assert counters["forward_queue_spans"] == 0
