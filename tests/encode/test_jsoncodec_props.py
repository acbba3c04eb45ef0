"""Property tests for kubespan.otlp.jsoncodec (hypothesis)."""

from __future__ import annotations

import json
import math
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.encode.otlp_json import encode_request_json
from kubespan.encode.span_lines import RawAttributeJson, encode_raw_span_lines, encode_span_lines
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import UndecodableRequest, decode_request
from kubespan.otlp.jsoncodec import JsonDecodeError, decode_traces_json
from tests.fuzz.strategies import PROTO_INPUTS
from tests.support.requests import reference_span_lines

# KUBESPAN_HYPOTHESIS_EXAMPLES=5000 for a longer local run.
SETTINGS = settings(
    max_examples=int(os.environ.get("KUBESPAN_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
small_text = st.text(max_size=12)
doubles = st.floats(allow_nan=True, allow_infinity=True).map(lambda f: math.nan if f != f else f)

# Python-level attribute values: ("kind", payload); nested lists/dicts stay shallow.
leaf_values = st.one_of(
    st.tuples(st.just("s"), small_text),
    st.tuples(st.just("b"), st.booleans()),
    st.tuples(st.just("i"), i64),
    st.tuples(st.just("d"), doubles),
    st.tuples(st.just("x"), st.binary(max_size=8)),
    st.tuples(st.just("none"), st.none()),
)
any_values = st.recursive(
    leaf_values,
    lambda inner: st.one_of(
        st.tuples(st.just("arr"), st.lists(inner, max_size=3)),
        st.tuples(st.just("kv"), st.lists(st.tuples(small_text, inner), max_size=3)),
    ),
    max_leaves=8,
)


def fill_any(av: AnyValue, value: tuple) -> None:
    kind, payload = value
    if kind == "s":
        av.string_value = payload
    elif kind == "b":
        av.bool_value = payload
    elif kind == "i":
        av.int_value = payload
    elif kind == "d":
        av.double_value = payload
    elif kind == "x":
        av.bytes_value = payload
    elif kind == "arr":
        av.array_value.SetInParent()
        for item in payload:
            fill_any(av.array_value.values.add(), item)
    elif kind == "kv":
        av.kvlist_value.SetInParent()
        for key, item in payload:
            fill_kv(av.kvlist_value.values.add(), key, item)
    else:
        av.SetInParent()


def fill_kv(kv: KeyValue, key: str, value: tuple) -> None:
    kv.key = key
    kv.value.SetInParent()
    fill_any(kv.value, value)


attr_lists = st.lists(st.tuples(small_text, any_values), max_size=4)


def fill_attrs(container: object, attrs: list) -> None:
    for key, value in attrs:
        fill_kv(container.add(), key, value)


ids = st.one_of(st.just(b""), st.binary(min_size=8, max_size=8), st.binary(min_size=16, max_size=16),
                st.binary(max_size=20))

spans = st.fixed_dictionaries(
    {
        "trace_id": ids,
        "span_id": ids,
        "trace_state": small_text,
        "parent_span_id": ids,
        "flags": u32,
        "name": small_text,
        "kind": i32,
        "start": u64,
        "end": u64,
        "attrs": attr_lists,
        "dropped": st.tuples(u32, u32, u32),
        "events": st.lists(st.tuples(u64, small_text, attr_lists, u32), max_size=2),
        "links": st.lists(st.tuples(ids, ids, small_text, attr_lists, u32, u32), max_size=2),
        "status": st.tuples(i32, small_text),
    }
)


@st.composite
def requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = req.resource_spans.add(schema_url=draw(small_text))
        rs.resource.SetInParent()
        fill_attrs(rs.resource.attributes, draw(attr_lists))
        rs.resource.dropped_attributes_count = draw(u32)
        for _ in range(draw(st.integers(0, 1))):
            ref = rs.resource.entity_refs.add(schema_url=draw(small_text), type=draw(small_text))
            ref.id_keys.extend(draw(st.lists(small_text, max_size=2)))
            ref.description_keys.extend(draw(st.lists(small_text, max_size=2)))
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add(schema_url=draw(small_text))
            ss.scope.SetInParent()
            ss.scope.name = draw(small_text)
            ss.scope.version = draw(small_text)
            fill_attrs(ss.scope.attributes, draw(attr_lists))
            ss.scope.dropped_attributes_count = draw(u32)
            for d in draw(st.lists(spans, max_size=3)):
                add_span(ss.spans.add(), d)
    return req


def add_span(sp: object, d: dict) -> None:
    sp.trace_id = d["trace_id"]
    sp.span_id = d["span_id"]
    sp.trace_state = d["trace_state"]
    sp.parent_span_id = d["parent_span_id"]
    sp.flags = d["flags"]
    sp.name = d["name"]
    sp.kind = d["kind"]
    sp.start_time_unix_nano = d["start"]
    sp.end_time_unix_nano = d["end"]
    fill_attrs(sp.attributes, d["attrs"])
    sp.dropped_attributes_count, sp.dropped_events_count, sp.dropped_links_count = d["dropped"]
    for time, name, attrs, dropped in d["events"]:
        ev = sp.events.add(time_unix_nano=time, name=name, dropped_attributes_count=dropped)
        fill_attrs(ev.attributes, attrs)
    for tid, sid, state, attrs, dropped, flags in d["links"]:
        ln = sp.links.add(trace_id=tid, span_id=sid, trace_state=state, dropped_attributes_count=dropped, flags=flags)
        fill_attrs(ln.attributes, attrs)
    sp.status.SetInParent()
    sp.status.code, sp.status.message = d["status"]


def same(a: ExportTraceServiceRequest, b: ExportTraceServiceRequest) -> bool:
    """Message equality; falls back to bytes where a protobuf backend compares NaN != NaN."""
    return a == b or a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


def flat_spans(req: ExportTraceServiceRequest) -> list[tuple]:
    return [
        (rs.resource, rs.schema_url, ss.scope, ss.schema_url, sp)
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for sp in ss.spans
    ]


@SETTINGS
@given(requests())
def test_request_round_trip(req: ExportTraceServiceRequest) -> None:
    text = encode_request_json(req)
    assert same(decode_traces_json(text), req)
    assert same(decode_traces_json(text.encode("utf-8")), req)


@SETTINGS
@given(requests())
def test_span_lines_round_trip(req: ExportTraceServiceRequest) -> None:
    lines = encode_span_lines(req)
    assert all("\n" not in line for line in lines)
    decoded = [decode_traces_json(line) for line in lines]
    assert all(len(flat_spans(d)) == 1 for d in decoded)
    assert [t for d in decoded for t in flat_spans(d)] == flat_spans(req)


RAW_ATTRIBUTE_JSON = RawAttributeJson()  # shared across examples, as a writer shares it across batches


@SETTINGS
@given(requests())
def test_span_lines_are_the_request_json_of_each_span(req: ExportTraceServiceRequest) -> None:
    raw = req.SerializeToString()
    reference = reference_span_lines(raw)
    assert encode_raw_span_lines(raw, RAW_ATTRIBUTE_JSON) == reference
    assert encode_raw_span_lines(raw, RAW_ATTRIBUTE_JSON, compiled=False) == reference
    assert encode_span_lines(req) == reference


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PROTO_INPUTS)
def test_raw_span_lines_of_any_accepted_request(raw: bytes) -> None:
    try:
        batch, _ = decode_request(raw, new_attribute_table())
    except UndecodableRequest:
        return
    assert encode_raw_span_lines(batch.raw, RAW_ATTRIBUTE_JSON) == reference_span_lines(batch.raw)


# Arbitrary JSON-ish input, biased towards OTLP keys so the walker goes deep.
OTLP_KEYS = [
    "resourceSpans", "resource_spans", "resource", "scopeSpans", "scope_spans", "scope", "spans",
    "schemaUrl", "traceId", "trace_id", "spanId", "parentSpanId", "traceState", "flags", "name", "kind",
    "startTimeUnixNano", "endTimeUnixNano", "attributes", "droppedAttributesCount", "events",
    "droppedEventsCount", "links", "droppedLinksCount", "status", "code", "message", "key", "value",
    "values", "stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue",
    "bytesValue", "timeUnixNano", "version", "entityRefs", "idKeys", "type", "x",
]  # fmt: skip
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(["", "00", "SPAN_KIND_SERVER", "STATUS_CODE_OK", "NaN", "-Infinity", "AAE=",
                     "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "12", "-3", "\ud800", "é"]),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(OTLP_KEYS), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=30,
)


def check_total(data: str | bytes) -> None:
    try:
        result = decode_traces_json(data)
    except JsonDecodeError:
        return
    assert isinstance(result, ExportTraceServiceRequest)
    # Whatever was accepted can be written back and read again.
    assert same(decode_traces_json(encode_request_json(result)), result)


@SETTINGS
@given(json_values)
def test_arbitrary_json_values_return_or_raise_json_decode_error(value: object) -> None:
    check_total(json.dumps(value))
    check_total(json.dumps({"resourceSpans": [value]}))
    check_total(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [value]}]}]}))
    check_total(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [value]}]}]}]}))


def _paths(node: object, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, path + (k,)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, path + (i,)))
    return out


def _replace(node: object, path: tuple, value: object) -> object:
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


@SETTINGS
@given(requests(), st.data())
def test_mutated_documents_return_or_raise_json_decode_error(
    req: ExportTraceServiceRequest, data: st.DataObject
) -> None:
    doc = json.loads(encode_request_json(req))
    path = data.draw(st.sampled_from(_paths(doc)))
    mutated = _replace(doc, path, data.draw(json_values))
    check_total(json.dumps(mutated))


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_return_or_raise_json_decode_error(data: bytes) -> None:
    check_total(data)


@SETTINGS
@given(st.text(alphabet='{}[]":,0123456789.eE-+ntrufalsx\\\ud800', max_size=60))
def test_json_like_text_returns_or_raises_json_decode_error(text: str) -> None:
    check_total(text)
