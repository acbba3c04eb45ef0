"""The Collector's `probabilistic_sampler` in `hash_seed` mode, decision for decision.

A span is kept iff the low 14 bits of FNV-1a-32 over (seed as 4 little-endian bytes
+ the 16 trace-id bytes) are below the scaled rate, float32(float32(pct) ×
float32(163.84)) truncated (otlp-spec §6). The `sampling.priority` attribute
overrides the hash (0 drops, > 0 keeps). Current Collectors also drop spans whose
tracestate already carries `ot=rv:`/`ot=th:` (fail closed); kubespan does too.

Unlike Collectors since ~v0.9x, kubespan does **not** rewrite the tracestate of
kept spans to `ot=rv:…;th:…`: the kept set is identical, forwarded bytes stay as
received, and the output matches the walkthrough's v0.54 Collector (see
proto_notes/pipeline.md).
"""

from __future__ import annotations

import struct

from kubespan.model import AttributeTable, TraceBatch
from kubespan.otlp.select import select_spans
from kubespan.otlp.wire import WireSpan, split_spans
from kubespan.stats import Counters

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
NUM_HASH_BUCKETS = 0x4000
BUCKET_MASK = NUM_HASH_BUCKETS - 1
PRIORITY_KEY = "sampling.priority"


def fnv1a32(data: bytes) -> int:
    """32-bit FNV-1a."""
    value = FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return value


def float32(value: float) -> float:
    """Round to the nearest float32, as Go does for a float32 variable."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def scaled_rate(percent: float) -> int:
    """The number of hash buckets (of 16384) kept at `percent`."""
    pct = min(float32(percent), 100.0)
    if pct <= 0:
        return 0
    return int(float32(pct * float32(NUM_HASH_BUCKETS / 100.0)))


def trace_bucket(trace_id: bytes, seed: int) -> int:
    """The low 14 bits of FNV-1a over le32(seed) + trace id."""
    return fnv1a32(struct.pack("<I", seed & 0xFFFFFFFF) + trace_id) & BUCKET_MASK


def priority_decision(value) -> bool | None:
    """`sampling.priority`: False drops, True keeps, None defers to the hash."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, (int, float)):
        return None
    if value == 0:
        return False
    return True if value > 0 else None


class ProbabilisticSampler:
    """A `Processor`: keeps the spans the Collector's hash_seed sampler would keep."""

    def __init__(self, percent: float, seed: int, table: AttributeTable, counters: Counters | None = None) -> None:
        self.percent = percent
        self.seed = seed
        self.rate = scaled_rate(percent)
        self.table = table
        self.counters = counters or Counters()
        self.counters.declare("sampled_out_spans")
        self._prefix = struct.pack("<I", seed & 0xFFFFFFFF)
        self._priority_ids: dict[int, bool | None] = {}
        self._scanned = 0
        self._storage: object = None

    def keep_trace(self, trace_id: bytes) -> bool:
        if self.rate == 0 or not any(trace_id):
            return False
        if self.rate >= NUM_HASH_BUCKETS:
            return True
        return fnv1a32(self._prefix + trace_id) & BUCKET_MASK < self.rate

    def process(self, batch: TraceBatch) -> TraceBatch | None:
        spans = batch.spans
        decisions: dict[bytes, bool] = {}
        keep = []
        priority_ids = self._scan_priority_ids()
        raws = split_spans(batch.raw) if b"ot=" in batch.raw else None  # split spans only when a tracestate may matter
        for index, (trace_id, attribute_ids) in enumerate(zip(spans.trace_id, spans.attribute_ids)):
            if priority_ids and not priority_ids.keys().isdisjoint(attribute_ids):
                forced = self._priority(attribute_ids)
                if forced is not None:
                    keep.append(forced)
                    continue
            decision = decisions.get(trace_id)
            if decision is None:
                decision = decisions[trace_id] = self.keep_trace(trace_id)
            if decision and raws is not None and b"ot=" in raws[index] and _sampling_in_tracestate(raws[index]):
                decision = False
            keep.append(decision)
        dropped = keep.count(False)
        if not dropped:
            return batch
        self.counters.add("sampled_out_spans", dropped)
        if dropped == len(keep):
            return None
        return select_spans(batch, keep)

    def _scan_priority_ids(self) -> dict[int, bool | None]:
        """Ids of interned `sampling.priority` attributes, updated as the table grows."""
        attributes = self.table.attributes
        if attributes is not self._storage:  # another generation of the table (compacted): other ids
            self._priority_ids.clear()
            self._scanned = 0
            self._storage = attributes
        for attribute_id in range(self._scanned, len(attributes)):
            attribute = attributes[attribute_id]
            if attribute.key == PRIORITY_KEY:
                self._priority_ids[attribute_id] = priority_decision(attribute.value)
        self._scanned = len(attributes)
        return self._priority_ids

    def _priority(self, attribute_ids: list[int]) -> bool | None:
        """The first `sampling.priority` attribute of a span decides, as in the Collector."""
        for attribute_id in attribute_ids:
            if attribute_id in self._priority_ids:
                return self._priority_ids[attribute_id]
        return None


def _sampling_in_tracestate(raw: bytes) -> bool:
    """True when the span's tracestate has an OpenTelemetry `rv` or `th` value."""
    state = WireSpan.FromString(raw).trace_state
    for member in state.split(","):
        key, _, value = member.strip().partition("=")
        if key == "ot":
            fields = [part.partition(":")[0] for part in value.split(";")]
            if "rv" in fields or "th" in fields:
                return True
    return False
