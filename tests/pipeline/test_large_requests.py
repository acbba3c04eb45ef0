"""Large requests are decoded a slice at a time: the same spans and answers as whole, refused whole, little memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import UndecodableRequest
from kubespan.pipeline import Backpressure, Pipeline
from kubespan.store import SpanStore
from tests.support.spanfactory import S, request

ROOT = Path(__file__).resolve().parents[2]


def _spans() -> list[S]:
    return [S(trace=i // 5 + 1, span=i + 1, name=f"op{i % 7}", service=f"svc{i // 300}",
              attrs={"request.id": f"r-{i}", "size": i}, resource={"host.name": f"node{i // 600}"})
            for i in range(1_500)]


def _raw(bad_ids: bool = False) -> bytes:
    built = request(_spans())
    if bad_ids:  # two spans the decoder rejects one by one
        built.resource_spans[1].scope_spans[0].spans[3].trace_id = b"short"
        built.resource_spans[4].scope_spans[0].spans[0].span_id = b""
    return built.SerializeToString()


def _stored(slice_bytes: int | None, raw: bytes) -> tuple[list, Pipeline, object]:
    table = new_attribute_table()
    pipeline = Pipeline(table)
    if slice_bytes is not None:
        pipeline.slice_bytes = slice_bytes
    store = SpanStore(table)
    pipeline.add_consumer(store)
    result = pipeline.export_traces(raw)
    rows = [(r.trace_id, r.span_id, r.name, r.service, r.attributes, r.resource_attributes)
            for r in store.span_rows(range(len(store)))]
    return rows, pipeline, result


def test_a_sliced_request_stores_and_answers_what_a_whole_one_does():
    raw = _raw(bad_ids=True)
    whole, whole_pipeline, whole_result = _stored(None, raw)
    sliced, sliced_pipeline, sliced_result = _stored(4_096, raw)
    assert len(whole) == 1_498 and sliced == whole
    assert (sliced_result.rejected_spans, sliced_result.error_message) == (2, whole_result.error_message)
    for name in ("received_requests", "received_spans", "rejected_spans"):
        assert sliced_pipeline.counters.get(name) == whole_pipeline.counters.get(name), name


def test_a_request_bad_in_its_last_slice_is_refused_whole():
    built = request(_spans())
    built.resource_spans[-1].scope_spans[0].spans[-1].name = "last"
    raw = built.SerializeToString().replace(b"last", b"\xff\xfest")  # invalid UTF-8 in the last span's name
    table = new_attribute_table()
    pipeline = Pipeline(table)
    pipeline.slice_bytes = 4_096
    store = SpanStore(table)
    pipeline.add_consumer(store)
    with pytest.raises(UndecodableRequest):
        pipeline.export_traces(raw)
    assert len(store) == 0 and pipeline.counters.get("received_requests") == 0


class _Full:
    def __init__(self) -> None:
        self.batches = 0

    def has_room(self, spans: int, size: int = 0) -> bool:
        return False

    def consume_traces(self, batch) -> None:
        self.batches += 1


def test_a_consumer_without_room_refuses_a_sliced_request_whole():
    pipeline = Pipeline(new_attribute_table())
    pipeline.slice_bytes = 4_096
    full = _Full()
    pipeline.add_consumer(full)
    with pytest.raises(Backpressure):
        pipeline.export_traces(_raw())
    assert full.batches == 0 and pipeline.counters.get("refused_spans") == 1_500


FLOOD = """
import json, sys, threading, time
from kubespan.otlp.attributes import new_attribute_table
from kubespan.pipeline import Pipeline
from kubespan.stats import rss_bytes
from kubespan.store import SpanStore
spans = int(sys.argv[1])
body = bytearray()
for i in range(spans):
    body += b"\\x12\\x1c\\x0a\\x10" + (i + 1).to_bytes(16, "big") + b"\\x12\\x08" + (i + 1).to_bytes(8, "big")
def delimited(tag, payload):
    length = bytearray()
    n = len(payload)
    while n >= 0x80:
        length.append(n & 0x7F | 0x80)
        n >>= 7
    length.append(n)
    return bytes([tag]) + bytes(length) + bytes(payload)
raw = delimited(0x0A, delimited(0x12, body))
del body
table = new_attribute_table()
pipeline = Pipeline(table)
pipeline.slice_bytes = int(sys.argv[2])
store = SpanStore(table, max_spans=10_000)
pipeline.add_consumer(store)
base = peak = rss_bytes()
done = threading.Event()
def sample():
    global peak
    while not done.is_set():
        peak = max(peak, rss_bytes())
        time.sleep(0.001)
sampler = threading.Thread(target=sample)
sampler.start()
pipeline.export_traces(raw)
done.set()
sampler.join()
peak = max(peak, rss_bytes())
print(json.dumps({"grown": peak - base, "stored": len(store), "received": pipeline.counters.get("received_spans")}))
"""


def _flood_growth(spans: int, slice_bytes: int) -> dict:
    done = subprocess.run([sys.executable, "-c", FLOOD, str(spans), str(slice_bytes)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_decoding_a_flood_of_minimal_spans_holds_memory_for_a_slice_only():
    """300,000 spans of 30 bytes (9 MiB): decoded whole, the parse and the columns take ~90 MiB more
    (RSS sampled every millisecond); a slice at a time, a small part of that."""
    sliced = _flood_growth(300_000, 256 << 10)
    assert sliced["received"] == 300_000 and sliced["stored"] == 10_000
    assert sliced["grown"] < 32 << 20, sliced
    whole = _flood_growth(300_000, 1 << 30)  # the same request decoded whole: what the bound is worth
    assert whole["grown"] > 2 * sliced["grown"], (whole, sliced)
