"""The hash_seed sampler against the Collector's FNV-1a arithmetic (otlp-spec §6)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.pipeline import Pipeline
from kubespan.processors.sampler import ProbabilisticSampler, fnv1a32, priority_decision, scaled_rate, trace_bucket
from kubespan.stats import Counters
from tests.support.forward_helpers import make_request, span_names

TRACE = bytes(range(1, 17))


def test_fnv1a_vectors() -> None:
    assert fnv1a32(b"") == 0x811C9DC5
    assert fnv1a32(b"a") == 0xE40C292C
    assert fnv1a32(struct.pack("<I", 0) + TRACE) == 0xDF241A25
    assert fnv1a32(struct.pack("<I", 22) + TRACE) == 0xD863B443
    assert trace_bucket(TRACE, 0) == 6693
    assert trace_bucket(TRACE, 22) == 13379


@pytest.mark.parametrize(
    "percent, rate",
    [(1, 163), (10, 1638), (15.3, 2506), (25, 4096), (33.3, 5455), (50, 8192), (99.99, 16382), (100, 16384),
     (150, 16384), (0, 0), (0.001, 0)],
)
def test_scaled_rate_float32(percent: float, rate: int) -> None:
    assert scaled_rate(percent) == rate


def test_walkthrough_seed_decisions() -> None:
    """hash_seed: 22 — bucket 13379: kept at 81.67 % (13380 buckets), dropped at 81.66 % (13379)."""
    table = new_attribute_table()
    assert scaled_rate(81.67) == 13380 and scaled_rate(81.66) == 13379
    assert ProbabilisticSampler(81.67, 22, table).keep_trace(TRACE)
    assert not ProbabilisticSampler(81.66, 22, table).keep_trace(TRACE)
    assert ProbabilisticSampler(100, 22, table).keep_trace(TRACE)
    # seed 0: bucket 6693 → kept at 40.86 % (6694), dropped at 40.85 % (6692)
    assert ProbabilisticSampler(40.86, 0, table).keep_trace(TRACE)
    assert not ProbabilisticSampler(40.85, 0, table).keep_trace(TRACE)


def _reference_keep(trace_id: bytes, seed: int, percent: float) -> bool:
    """An independent transcription of the Go code path."""
    pct = struct.unpack("<f", struct.pack("<f", min(percent, 100.0)))[0]
    factor = struct.unpack("<f", struct.pack("<f", 16384 / 100.0))[0]
    rate = int(struct.unpack("<f", struct.pack("<f", pct * factor))[0])
    h = 0x811C9DC5
    for b in seed.to_bytes(4, "little") + trace_id:
        h = ((h ^ b) * 0x01000193) % (1 << 32)
    return rate > 0 and (h & 0x3FFF) < rate


@given(st.binary(min_size=16, max_size=16).filter(any), st.integers(0, 2**32 - 1), st.floats(0.01, 100))
def test_decisions_match_reference(trace_id: bytes, seed: int, percent: float) -> None:
    sampler = ProbabilisticSampler(percent, seed, new_attribute_table())
    assert sampler.keep_trace(trace_id) == _reference_keep(trace_id, seed, percent)


def test_process_keeps_whole_traces_and_counts() -> None:
    table = new_attribute_table()
    counters = Counters()
    sampler = ProbabilisticSampler(30, 22, table, counters)
    batch, _ = decode_request(make_request(400), table)
    kept = sampler.process(batch)
    expected = [f"span-{i}" for i in range(400) if _reference_keep((i + 1).to_bytes(16, "big"), 22, 30)]
    assert kept is not None and span_names(kept.raw) == expected
    assert kept.spans.name == expected
    assert counters.get("sampled_out_spans") == 400 - len(expected)
    assert 80 < len(expected) < 160


def test_hundred_percent_forwards_bytes_unchanged() -> None:
    table = new_attribute_table()
    raw = make_request(50)
    batch, _ = decode_request(raw, table)
    assert ProbabilisticSampler(100, 22, table).process(batch) is batch
    assert batch.raw == raw


def test_sampling_priority_overrides() -> None:
    assert priority_decision(0) is False
    assert priority_decision(0.0) is False
    assert priority_decision("0") is False
    assert priority_decision(3) is True
    assert priority_decision("1.5") is True
    assert priority_decision(-1) is None
    assert priority_decision("x") is None
    assert priority_decision(True) is None
    table = new_attribute_table()
    sampler_none = ProbabilisticSampler(0.0001, 1, table)
    forced, _ = decode_request(make_request(5, attrs={"sampling.priority": 1}), table)
    assert sampler_none.process(forced).span_count == 5
    sampler_all = ProbabilisticSampler(100, 1, table)
    never, _ = decode_request(make_request(5, attrs={"sampling.priority": 0}), table)
    assert sampler_all.process(never) is None


def test_tracestate_with_threshold_is_dropped_fail_closed() -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest.FromString(make_request(3))
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[0].trace_state = "ot=th:8;rv:abcdefabcdefab,vendor=x"
    spans[1].trace_state = "vendor=ot=th"
    table = new_attribute_table()
    batch, _ = decode_request(request.SerializeToString(), table)
    kept = ProbabilisticSampler(100, 0, table).process(batch)
    assert kept.spans.name == ["span-1", "span-2"]


def test_sampler_in_pipeline_runs_before_consumers() -> None:
    seen = []

    class Consumer:
        def consume_traces(self, batch) -> None:
            seen.extend(batch.spans.name)

    pipeline = Pipeline(consumers=[Consumer()])
    pipeline.processors.append(ProbabilisticSampler(50, 22, pipeline.table, pipeline.counters))
    pipeline.export_traces(make_request(200))
    expected = [f"span-{i}" for i in range(200) if _reference_keep((i + 1).to_bytes(16, "big"), 22, 50)]
    assert seen == expected
    assert pipeline.counters.get("received_spans") == 200
