"""The compiled walk of the edge decoder (kubespan/otlp/csrc/) against protobuf's accessors.

The walk reads the common case only and answers None for anything else, leaving it to
the accessor path; these tests pin both halves: equal columns where it reads, None
where it must not decide. tests/fuzz runs the same comparison on hostile inputs.
"""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.k8s.demo import load_batch
from kubespan.model import AttributeTable
from kubespan.otlp import decode
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from tests.fuzz.targets import check_compiled_agrees
from tests.support.requests import k8s_request, reference_span_lines, request_with_ids

span_columns = decode.compiled_span_columns


def test_the_extension_is_built():
    assert span_columns is not None, "kubespan/otlp/csrc/ was not compiled: pip install -e . needs a C compiler"


def walk(raw: bytes, table: AttributeTable | None = None):
    table = new_attribute_table() if table is None else table
    return span_columns(raw, table.decoder_cache)


def agrees(raw: bytes) -> None:
    batch, rejections = decode_request(raw, new_attribute_table())
    check_compiled_agrees(raw, batch, rejections)


def test_k8s_like_requests_decode_the_same_both_ways():
    for raw in load_batch(2_000, seed=3, batch_size=250):
        assert walk(raw) is not None
        agrees(raw)


def test_columns_and_attribute_ids():
    table = new_attribute_table()
    columns = walk(k8s_request(spans=3).SerializeToString(), table)
    trace, span, parent, name, kind, start, end, status, scope, attribute_ids, events = columns
    assert trace == [bytes(range(1, 17))] * 3
    assert span == [i.to_bytes(8, "big") for i in (1, 2, 3)]
    assert parent == [b"", (1).to_bytes(8, "big"), (1).to_bytes(8, "big")]
    assert name == ["syncPod"] * 3 and kind == [1] * 3 and status == [0] * 3 and scope == [0] * 3
    assert end[0] - start[0] == 1_000_000
    assert [[table.attributes[i].key for i in ids] for ids in attribute_ids] == [["k8s.pod", "net.peer.port"]] * 3
    assert events == [()] * 3


def test_scopes_are_numbered_across_resources_including_empty_ones():
    request = k8s_request(spans=1)
    request.resource_spans.add().scope_spans.add()  # an empty scope still takes a number
    request.resource_spans.extend(k8s_request(spans=2, service="containerd").resource_spans)
    raw = request.SerializeToString()
    assert walk(raw)[8] == [0, 2, 2]
    agrees(raw)


def test_events_status_and_large_values():
    request = k8s_request(spans=1)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.events.add(name="Created", time_unix_nano=5)
    span.events.add()  # no name
    span.status.code = 2
    span.kind = 5
    span.end_time_unix_nano = 2**64 - 1
    raw = request.SerializeToString()
    columns = walk(raw)
    assert columns[10] == [("Created", "")] and columns[7] == [2] and columns[4] == [5]
    assert columns[6] == [2**64 - 1]
    agrees(raw)


def test_repeated_singular_fields_follow_protobuf_merge_rules():
    raw = k8s_request(spans=1).SerializeToString()
    # a second name and a second status appended to the span: last name wins, statuses merge
    tail = b"\x2a\x05later" + b"\x7a\x02\x18\x01" + b"\x7a\x03\x12\x01m"
    raw = _append_to_first_span(raw, tail)
    official = ExportTraceServiceRequest.FromString(raw).resource_spans[0].scope_spans[0].spans[0]
    columns = walk(raw)
    assert columns[3] == [official.name] == ["later"]
    assert columns[7] == [official.status.code] == [1]
    agrees(raw)


@pytest.mark.parametrize("tail", [
    b"\x30",                    # kind (6) with no varint: malformed
    b"\x32\x01\x01",            # kind as length-delimited: protobuf keeps it as an unknown field
    b"\x0b\x0c",                # a group (wire type 3) of field 1
    b"\x39\x01\x02\x03",        # start (7) cut short
])
def test_unusual_wire_contents_are_left_to_protobuf(tail: bytes):
    raw = _append_to_first_span(k8s_request(spans=2).SerializeToString(), tail)
    assert walk(raw) is None
    try:
        agrees(raw)
    except decode.UndecodableRequest:
        pass  # protobuf refuses it: no batch to compare


def test_spans_to_reject_are_left_to_protobuf():
    raw = request_with_ids([(16, 8), (15, 8), (16, 0)]).SerializeToString()
    assert walk(raw) is None
    batch, rejections = decode_request(raw, new_attribute_table())
    assert (batch.span_count, rejections.count) == (1, 2)
    agrees(raw)


def test_an_invalid_attribute_is_left_to_protobuf():
    request = k8s_request(spans=2)
    request.resource_spans[0].scope_spans[0].spans[1].attributes.add(key="bad").value.string_value = "XXXX"
    raw = request.SerializeToString().replace(b"XXXX", b"\xff\xfe\xfd\xfc")
    batch, rejections = decode_request(raw, new_attribute_table())
    assert (batch.span_count, rejections.count) == (1, 1)
    agrees(raw)


def test_unknown_fields_are_skipped():
    raw = _append_to_first_span(k8s_request(spans=1).SerializeToString(), b"\xa8\x06\x07" + b"\xb2\x06\x02hi")
    assert walk(raw) is not None
    agrees(raw)


def test_empty_request():
    assert walk(b"") == tuple([] for _ in range(11))


def _append_to_first_span(raw: bytes, tail: bytes) -> bytes:
    """`raw` with `tail` appended inside its first span, every enclosing length grown to match."""
    request = ExportTraceServiceRequest.FromString(raw)
    resource_spans = request.resource_spans[0]
    scope_spans = resource_spans.scope_spans[0]
    span = scope_spans.spans[0].SerializeToString() + tail
    rest_spans = b"".join(_field(2, s.SerializeToString()) for s in scope_spans.spans[1:])
    scope_fields = _field(1, scope_spans.scope.SerializeToString()) + _field(2, span) + rest_spans
    resource_fields = _field(1, resource_spans.resource.SerializeToString()) + _field(2, scope_fields)
    return _field(1, resource_fields)


def _field(number: int, payload: bytes) -> bytes:
    length, out = len(payload), bytearray([number << 3 | 2])
    while length >= 0x80:
        out.append(length & 0x7F | 0x80)
        length >>= 7
    out.append(length)
    return bytes(out) + payload


# ---------------------------------------------------------------- count_messages


from hypothesis import given, settings
from hypothesis import strategies as st

from kubespan.otlp import wire
from tests.fuzz.strategies import PROTO_INPUTS

WIRE_PIECES = st.lists(st.sampled_from([
    b"\x0a", b"\x12", b"\x1a", b"\x08", b"\x09", b"\x0d", b"\x0b", b"\x00", b"\x02", b"\x05", b"\x7f",
    b"\x80", b"\xff" * 9 + b"\x01", b"\xff" * 10, b"\x8a" + b"\xff" * 8 + b"\x7f", b"\x12\x00",
]), max_size=40).map(b"".join)


def test_count_messages_is_the_python_walk_in_c():
    assert wire.count_messages is not wire.python_count_messages
    for raw in load_batch(2_000, seed=5, batch_size=400):
        for stop in (10**9, 100, 0):
            assert wire.count_messages(raw, stop) == wire.python_count_messages(raw, stop)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.one_of(PROTO_INPUTS, WIRE_PIECES), st.sampled_from([10**9, 3, 1, 0]))
def test_count_messages_agrees_on_any_bytes(raw: bytes, stop: int):
    assert wire.count_messages(raw, stop) == wire.python_count_messages(raw, stop)


# ---------------------------------------------------------------- span_json_lines


from kubespan.encode.inert import TERMINAL_ACTIVE
from kubespan.encode.span_lines import (
    RawAttributeJson,
    _compiled_lines,
    encode_raw_span_lines,
    raw_span_json_lines,
)

TABLE_EDGES = sorted({chr(code) for low, high in TERMINAL_ACTIVE for code in (low - 1, low, high, high + 1) if code >= 0x7F})
"""Each end of every range of the inert table, and its neighbours outside it."""
TERMINAL_TEXT = st.text(st.one_of(
    st.characters(max_codepoint=0x7F),
    st.sampled_from(TABLE_EDGES),
    st.characters(min_codepoint=0x80),
), max_size=24)


def _lines_agree(raw: bytes) -> list[str]:
    cache = RawAttributeJson()
    compiled = encode_raw_span_lines(raw, cache)
    assert compiled == encode_raw_span_lines(raw, RawAttributeJson(), compiled=False)
    assert compiled == reference_span_lines(raw)
    return compiled


def test_k8s_like_lines_are_written_in_c_and_read_the_same():
    for raw in load_batch(2_000, seed=7, batch_size=250):
        assert _compiled_lines(raw, RawAttributeJson()) is not None
        _lines_agree(raw)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(TERMINAL_TEXT, TERMINAL_TEXT, TERMINAL_TEXT)
def test_strings_are_escaped_as_the_python_encoder_escapes_them(name: str, state: str, message: str):
    request = k8s_request(spans=1)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.name, span.trace_state, span.status.message = name, state, message
    event = span.events.add(name=message, time_unix_nano=1)
    event.attributes.add(key=name).value.string_value = state
    link = span.links.add(trace_id=bytes(range(16)), span_id=bytes(8), trace_state=name, flags=257)
    link.attributes.add(key="k").value.int_value = -1
    span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count = 1, 2, 2**32 - 1
    span.flags, span.kind, span.status.code = 0x301, 3, 2
    raw = request.SerializeToString()
    assert _compiled_lines(raw, RawAttributeJson()) is not None
    _lines_agree(raw)


def test_blob_and_ends():
    raw = k8s_request(spans=3).SerializeToString()
    blob, ends = raw_span_json_lines(raw, RawAttributeJson())
    lines = encode_raw_span_lines(raw, RawAttributeJson(), compiled=False)
    assert blob == "".join(line + "\n" for line in lines).encode()
    assert ends == [len("".join(line + "\n" for line in lines[: i + 1]).encode()) for i in range(3)]


def test_unusual_spans_are_written_by_the_python_encoder():
    raw = _append_to_first_span(k8s_request(spans=2).SerializeToString(), b"\x32\x01\x01")  # kind as bytes
    assert _compiled_lines(raw, RawAttributeJson()) is None
    blob, ends = raw_span_json_lines(raw, RawAttributeJson())
    assert blob.decode().split("\n")[:-1] == reference_span_lines(raw)
    assert len(ends) == 2


def test_a_span_with_more_attributes_than_the_walk_keeps_in_place():
    request = k8s_request(spans=1)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    for index in range(300):
        span.attributes.add(key=f"k{index}").value.int_value = index
    raw = request.SerializeToString()
    assert _compiled_lines(raw, RawAttributeJson()) is None
    assert raw_span_json_lines(raw, RawAttributeJson())[0].count(b"\n") == 1


# ---------------------------------------------------------------- BytesCache


import gc
import weakref

from kubespan.otlp.compiled import BytesCache


def test_bytes_cache_computes_each_value_once():
    calls = []
    cache = BytesCache(lambda raw: calls.append(raw) or raw.upper())
    assert [cache[b"ab"], cache[bytearray(b"ab")], cache[memoryview(b"cd")], cache[b""]] == [b"AB", b"AB", b"CD", b""]
    assert calls == [b"ab", b"cd", b""] and len(cache) == 3
    for index in range(5_000):  # grows past its first capacity, keeps every entry
        cache[b"k%d" % index]
    assert len(cache) == 5_003 and cache[b"k42"] == b"K42" and len(calls) == 5_003


def test_bytes_cache_starts_over_past_its_limit():
    cache = BytesCache(len, limit=3)
    for raw in (b"a", b"bb", b"ccc"):
        cache[raw]
    assert len(cache) == 3
    assert cache[b"dddd"] == 4 and len(cache) == 1


def test_a_miss_that_raises_stores_nothing():
    def refuse(raw: bytes) -> int:
        raise ValueError(raw)

    cache = BytesCache(refuse)
    with pytest.raises(ValueError):
        cache[b"x"]
    assert len(cache) == 0


def test_an_attribute_table_and_its_cache_are_collected_together():
    table = new_attribute_table()
    table.decoder_cache[b"\x0a\x01k"]  # the cache holds table.intern, the table holds the cache
    gone = weakref.ref(table)
    del table
    gc.collect()
    assert gone() is None
