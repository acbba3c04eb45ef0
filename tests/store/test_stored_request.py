"""A stored span's attributes are kept once, in the attribute table; its bytes read back whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.api.source import stored_spans
from kubespan.otlp import compiled
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.otlp.protowire import length_delimited
from kubespan.otlp.wire import split_spans
from kubespan.store import SpanStore
from kubespan.store import writer as writer_module
from kubespan.store.chunk import stored_request

needs_compiled = pytest.mark.skipif(compiled.strip_attributes is None, reason="the compiled decoder is not built")

scalars = st.one_of(
    st.text(max_size=40).map(lambda t: AnyValue(string_value=t)),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: AnyValue(int_value=n)),
    st.floats(allow_nan=False).map(lambda x: AnyValue(double_value=x)),
    st.booleans().map(lambda b: AnyValue(bool_value=b)),
    st.binary(max_size=8).map(lambda b: AnyValue(bytes_value=b)),
    st.just(AnyValue()),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3).map(lambda items: AnyValue(array_value={"values": items})))
attributes = st.lists(st.builds(KeyValue, key=st.sampled_from(["a", "b", "k8s.pod", "http.url", "ü"]), value=values),
                      max_size=8)


def make_span(n: int, attrs: list[KeyValue], with_event: bool) -> Span:
    start = 1_700_000_000_000_000_000 + n
    span = Span(trace_id=(n // 3 + 1).to_bytes(16, "big"), span_id=(n + 1).to_bytes(8, "big"), name=f"op{n % 4}",
                kind=2, start_time_unix_nano=start, end_time_unix_nano=start + 1000,
                attributes=attrs, dropped_attributes_count=n % 2, trace_state="k=v" if n % 5 == 0 else "")
    if with_event:
        event = span.events.add(name="retry", time_unix_nano=span.start_time_unix_nano)
        event.attributes.add(key="attempt").value.int_value = n
        link = span.links.add(trace_id=bytes(15) + b"\x07", span_id=bytes(7) + b"\x09")
        link.attributes.add(key="l").value.bool_value = True
        span.status.code = 2
        span.status.message = "boom"
    return span


def request_of(spans: list[Span], services: int = 2) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for s in range(services):
        rs = req.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = f"svc{s}"
        rs.scope_spans.add().scope.name = "lib"
        rs.scope_spans.add().spans.extend(spans[s::services])
    return req


def stored_order(req: ExportTraceServiceRequest) -> list[Span]:
    return [span for rs in req.resource_spans for ss in rs.scope_spans for span in ss.spans]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(attributes, min_size=1, max_size=12), st.booleans())
def test_every_stored_span_reads_back_as_the_message_received(attribute_lists, with_event):
    spans = [make_span(n, attrs, with_event) for n, attrs in enumerate(attribute_lists)]
    req = request_of(spans)
    table = new_attribute_table()
    store = SpanStore(table, max_spans=1000)
    store.consume_traces(decode_request(req.SerializeToString(), table)[0])
    reader = store.reader()
    expected = stored_order(req)
    assert len(store) == len(expected)
    assert [reader.span_detail(o).span for o in range(len(expected))] == expected
    chunk = store.writer.chunks()[0]
    assert chunk.raw_whole.tolist() == [compiled.strip_attributes is None]  # kept once, in the table
    assert [Span.FromString(raw).name for raw in chunk.part_spans(0)] == [s.name for s in expected]


@needs_compiled
def test_the_request_is_kept_without_attributes_and_smaller():
    spans = [make_span(n, [KeyValue(key="container.id", value=AnyValue(string_value=f"{n:032x}"))] * 3, n % 2 == 0)
             for n in range(50)]
    raw = request_of(spans).SerializeToString()
    table = new_attribute_table()
    batch, _ = decode_request(raw, table)
    kept, whole = stored_request(raw, batch.spans.packed(), table.storage)
    assert not whole and len(kept) < len(raw) - 50 * 3 * 40
    assert all(not Span.FromString(span).attributes for span in split_spans(kept))
    events = [s.events for s in stored_order(request_of(spans))]
    assert [Span.FromString(span).events for span in split_spans(kept)] == events


@needs_compiled
def test_a_request_whose_attributes_do_not_match_the_ids_is_kept_whole():
    spans = [make_span(n, [KeyValue(key="a", value=AnyValue(int_value=n))], False) for n in range(6)]
    raw = request_of(spans).SerializeToString()
    table = new_attribute_table()
    packed = decode_request(raw, table)[0].spans.packed()
    assert stored_request(raw, packed, table.storage)[1] is False
    shuffled = packed.attribute_ids[::-1].copy()
    assert compiled.strip_attributes(raw, table.storage, shuffled, packed.attribute_offsets) is None
    short = np.ascontiguousarray(packed.attribute_offsets[:-1], np.int32)
    assert compiled.strip_attributes(raw, table.storage, packed.attribute_ids, short) is None
    too_many = np.array([0, 2, 2, 2, 2, 2, 2], np.int32)
    assert compiled.strip_attributes(raw, table.storage, packed.attribute_ids, too_many) is None
    assert compiled.strip_attributes(raw + b"\x0a\x05", table.storage, packed.attribute_ids,
                                     packed.attribute_offsets) is None  # truncated
    unknown = raw + length_delimited(7, b"extra")  # an unknown top-level field is kept as it is
    kept = compiled.strip_attributes(unknown, table.storage, packed.attribute_ids, packed.attribute_offsets)
    assert kept is not None and kept.endswith(length_delimited(7, b"extra"))
    with pytest.raises(IndexError):
        compiled.join_attributes(b"", table.storage, np.array([len(table)], np.int32))


def test_details_stay_right_through_eviction_trims_merges_and_attribute_compaction(monkeypatch):
    monkeypatch.setattr(writer_module, "TRIM_SPANS", 3)
    monkeypatch.setattr(writer_module, "MERGE_TAIL", 3)
    table = new_attribute_table()
    store = SpanStore(table, max_spans=300)
    store.writer.compact_attributes_min = 1
    sent: list[Span] = []
    for b in range(12):
        spans = [make_span(b * 100 + n, [KeyValue(key="u", value=AnyValue(string_value=f"{b}-{n}")),
                                         KeyValue(key="m", value=AnyValue(string_value="GET"))], n % 3 == 0)
                 for n in range(1 + 37 * (b % 4))]
        req = request_of(spans, services=1 + b % 2)
        store.consume_traces(decode_request(req.SerializeToString(), table)[0])
        sent += stored_order(req)
        reader = store.reader()
        live = reader.search().tolist()
        assert [reader.span_detail(o).span for o in live] == sent[live[0]:live[-1] + 1]
        assert [s.span for s in stored_spans(reader, live)] == sent[live[0]:live[-1] + 1]  # the Tempo API's reader
    assert store.evicted_spans and table.generation > 0
    assert any(chunk.raw_skip for chunk in store.writer.chunks())  # a trimmed chunk's first request read mid-way


@needs_compiled
def test_whole_and_stripped_requests_merge_and_read_back(monkeypatch):
    """A request the strip refuses stays whole; blobs of both kinds merge (never concatenated together)."""
    strip = compiled.strip_attributes
    calls = iter(range(10_000))
    monkeypatch.setattr(compiled, "strip_attributes", lambda *args: None if next(calls) % 3 == 0 else strip(*args))
    monkeypatch.setattr(writer_module, "MERGE_TAIL", 4)
    table = new_attribute_table()
    store = SpanStore(table, max_spans=10_000)
    sent: list[Span] = []
    for b in range(20):
        spans = [make_span(b * 10 + n, [KeyValue(key="u", value=AnyValue(string_value=f"{b}-{n}"))], n == 0)
                 for n in range(1 + b % 5)]
        req = request_of(spans, services=1)
        store.consume_traces(decode_request(req.SerializeToString(), table)[0])
        sent += stored_order(req)
    chunks = store.writer.chunks()
    kinds = [bool(whole) for chunk in chunks for whole in chunk.raw_whole]
    assert len(chunks) < 20 and True in kinds and False in kinds
    assert all(len(chunk.raw_parts) == len(chunk.raw_whole) == len(chunk.raw_part_first) - 1 for chunk in chunks)
    reader = store.reader()
    assert [reader.span_detail(o).span for o in range(len(sent))] == sent
