"""The compiled JSON-lines writer (kubespan/otlp/csrc/json_lines.c) writes what the Python writer and the
reference write."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.encode.inert import TERMINAL_ACTIVE
from kubespan.encode.span_lines import (
    RawAttributeJson,
    _compiled_lines,
    encode_raw_span_lines,
    raw_span_json_lines,
)
from kubespan.k8s.demo import load_batch
from tests.support.compiled_only import compiled_only
from tests.support.requests import append_to_first_span, k8s_request, reference_span_lines

pytestmark = compiled_only

TABLE_EDGES = sorted({chr(code) for low, high in TERMINAL_ACTIVE
                      for code in (low - 1, low, high, high + 1) if code >= 0x7F})
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


SCALARS = st.one_of(
    TERMINAL_TEXT.map(lambda text: AnyValue(string_value=text)),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: AnyValue(int_value=n)),
    st.booleans().map(lambda b: AnyValue(bool_value=b)),
    st.floats(allow_nan=False).map(lambda x: AnyValue(double_value=x)),
    st.just(AnyValue()),
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(TERMINAL_TEXT, SCALARS), max_size=6), st.sampled_from([b"", b"\x12\x02\x08\x01\x0a\x01k",
                                                                             b"\x0a\x01k\x0a\x01j"]))
def test_scalar_attributes_written_in_c_read_as_the_python_encoder_writes_them(pairs, odd: bytes):
    """Strings, ints and bools are written by the compiled writer itself, the rest come from the cache;
    `odd`: a KeyValue of unusual bytes (value first; two keys) as a last attribute."""
    request = k8s_request(spans=1)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    del span.attributes[:]
    span.attributes.extend(KeyValue(key=key, value=value) for key, value in pairs)
    raw = request.SerializeToString()
    if odd:
        raw = append_to_first_span(raw, b"\x4a" + bytes([len(odd)]) + odd)
    assert _compiled_lines(raw, RawAttributeJson()) is not None
    _lines_agree(raw)


def test_blob_and_ends():
    raw = k8s_request(spans=3).SerializeToString()
    blob, ends = raw_span_json_lines(raw, RawAttributeJson())
    lines = encode_raw_span_lines(raw, RawAttributeJson(), compiled=False)
    assert blob == "".join(line + "\n" for line in lines).encode()
    assert ends == [len("".join(line + "\n" for line in lines[: i + 1]).encode()) for i in range(3)]


def test_unusual_spans_are_written_by_the_python_encoder():
    raw = append_to_first_span(k8s_request(spans=2).SerializeToString(), b"\x32\x01\x01")  # kind as bytes
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
