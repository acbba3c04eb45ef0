"""The fuzz targets: one check per input, shared by the test suite and scripts/fuzz_campaign.py.

Each check returns a short outcome label ("decoded", "rejected", …) and raises
AssertionError (or any unexpected exception) when kubespan misbehaves.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Callable
from unittest.mock import patch

import numpy as np
from google.protobuf.message import DecodeError
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.encode.otlp_json import encode_request_json
from kubespan.encode.span_lines import RawAttributeJson, encode_raw_span_lines
from kubespan.model import SPAN_COLUMNS, AttributeTable, TraceBatch
from kubespan.otlp import compiled
from kubespan.otlp.attributes import any_value_to_python, new_attribute_table
from kubespan.otlp.decode import UndecodableRequest, decode_request
from kubespan.otlp.jsoncodec import JsonDecodeError, decode_traces_json
from kubespan.otlp.slices import request_slices, slice_request
from kubespan.query import Query, QuerySyntaxError, compile_query
from kubespan.store import SpanStore
from tests.fuzz.strategies import JSON_INPUTS, PROTO_INPUTS, QUERIES
from tests.support.spanfactory import S, batch

# ----------------------------------------------------------------- protobuf → decode → store


def comparable(value: Any) -> Any:
    """A value with floats as their bit patterns, so NaN equals NaN."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, list):
        return [comparable(item) for item in value]
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    return value


def _official(raw: bytes) -> ExportTraceServiceRequest | None:
    try:
        return ExportTraceServiceRequest.FromString(raw)
    except DecodeError:
        return None


def _pairs(attributes) -> list:
    return [(kv.key, comparable(any_value_to_python(kv.value)[0])) for kv in attributes]


def _stored_pairs(table: AttributeTable, ids: list[int]) -> list:
    return [(table.attributes[a].key, comparable(table.attributes[a].value)) for a in ids]


def _official_spans(request: ExportTraceServiceRequest):
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield resource_spans, scope_spans, span


def _int64(value: int) -> int:
    return value - (1 << 64) if value >= (1 << 63) else value


def _batch_fields(batch_: TraceBatch, table: AttributeTable) -> tuple:
    spans = batch_.spans
    def pairs(ids: list[int]) -> list:
        return [(a.key, comparable(a.value), a.type) for a in map(table.attributes.__getitem__, ids)]

    attributes = list(map(pairs, spans.attribute_ids))
    columns = [getattr(spans, name) for name in SPAN_COLUMNS if name != "attribute_ids"]
    resources = [(r.service, pairs(r.attribute_ids), r.raw, r.schema_url)
                 for r in batch_.resources]
    scopes = [(s.resource, s.name, s.version, s.raw, s.schema_url) for s in batch_.scopes]
    return batch_.raw, batch_.resource_spans_count, columns, attributes, resources, scopes


def check_compiled_agrees(raw: bytes, batch_: TraceBatch, rejections) -> None:
    """The compiled walk and protobuf's accessors decode `raw` to the very same batch, and the
    compiled JSON-lines writer and the view encoder write the very same lines of it."""
    table = new_attribute_table()
    pure, pure_rejections = decode_request(raw, table, compiled=False)
    assert (rejections.count, rejections.reasons) == (pure_rejections.count, pure_rejections.reasons)
    compiled_table = new_attribute_table()
    again, _ = decode_request(raw, compiled_table)
    assert _batch_fields(again, compiled_table) == _batch_fields(pure, table)
    lines = encode_raw_span_lines(pure.raw, RawAttributeJson())  # the compiled writer where it can
    assert lines == encode_raw_span_lines(pure.raw, RawAttributeJson(), compiled=False)


def check_batch_agrees(batch_: TraceBatch, table: AttributeTable) -> ExportTraceServiceRequest:
    """The batch's columns say what the official parse of its bytes says, span by span."""
    official = batch_.request  # what every writer parses: it must parse
    spans = batch_.spans
    rows = list(_official_spans(official))
    assert len(rows) == len(spans)
    for i, (resource_spans, scope_spans, span) in enumerate(rows):
        assert (spans.trace_id[i], spans.span_id[i], spans.parent_id[i]) == (
            span.trace_id, span.span_id, span.parent_span_id)
        assert (spans.name[i], spans.kind[i], spans.status[i]) == (span.name, span.kind, span.status.code)
        assert (spans.start[i], spans.end[i]) == (span.start_time_unix_nano, span.end_time_unix_nano)
        assert _stored_pairs(table, spans.attribute_ids[i]) == _pairs(span.attributes)
        assert spans.event_names[i] == tuple(event.name for event in span.events)
        scope = batch_.scopes[spans.scope[i]]
        assert (scope.name, scope.version) == (scope_spans.scope.name, scope_spans.scope.version)
        resource = batch_.resources[scope.resource]
        assert _stored_pairs(table, resource.attribute_ids) == _pairs(resource_spans.resource.attributes)
    return official


def check_store_agrees(batch_: TraceBatch, table: AttributeTable, official: ExportTraceServiceRequest) -> None:
    """A store fed the batch hands out the same spans, and answers a few queries without error."""
    store = SpanStore(table)
    store.consume_traces(batch_)
    assert len(store) == batch_.span_count
    for ordinal, (_, _, span) in enumerate(_official_spans(official)):
        row = store.span_row(ordinal)
        parent = span.parent_span_id if any(span.parent_span_id) else b""  # all-zero: a root, as in pdata
        assert (row.trace_id, row.span_id, row.parent_id, row.name) == (span.trace_id, span.span_id, parent, span.name)
        assert (row.start, row.end) == (_int64(span.start_time_unix_nano), _int64(span.end_time_unix_nano))
        assert [(k, comparable(v)) for k, v in row.attributes] == _pairs(span.attributes)
        detail = store.span_detail(ordinal)
        assert detail.span.SerializeToString(deterministic=True) == span.SerializeToString(deterministic=True)
    for text in STORE_QUERIES:
        store.search(compile_query(text))
    store.search_traces(None)


STORE_QUERIES = ["a", "service=kubelet", "{ .a = 1 }", "{ } >> { }", "k8s.pod=~.*"]


def check_proto(raw: bytes) -> str:
    """Decode or `UndecodableRequest`, nothing else; what is kept agrees with the official parse."""
    check_cut_agrees(raw)
    table = new_attribute_table()
    try:
        batch_, rejections = decode_request(raw, table)
    except UndecodableRequest as exc:
        # kubespan limits every attribute's nesting as deep as span attributes sit: resource ones
        # may hit it a level before the official parser does.
        assert _official(raw) is None or "MaxDepth" in str(exc), f"the official parser accepts it: {exc}"
        return "undecodable"
    check_compiled_agrees(raw, batch_, rejections)
    original = _official(raw)
    if original is not None:
        total = sum(1 for _ in _official_spans(original))
        assert batch_.span_count + rejections.count == total
    official = check_batch_agrees(batch_, table)
    check_store_agrees(batch_, table, official)
    check_compaction_agrees(batch_, table)
    return "partial" if rejections.count else "decoded"


def check_cut_agrees(raw: bytes) -> None:
    """The compiled request slicer cuts `raw` into the slices the Python one makes (small limits: it cuts)."""
    if compiled.cut_children is None:
        return
    for limit in (1, 200):
        cuts = request_slices(raw, limit)
        with patch.object(compiled, "cut_children", None), patch.object(compiled, "cut_header", None):
            python = request_slices(raw, limit)
        assert (cuts is None) == (python is None)
        if cuts is not None and python is not None:
            assert [slice_request(raw, cut) for cut in cuts] == [slice_request(raw, cut) for cut in python]


def check_compaction_agrees(batch_: TraceBatch, table: AttributeTable) -> None:
    """After the table keeps every other id only, the batch moved into the new generation reads the same."""
    table.compact(np.arange(0, len(table), 2, dtype=np.int64))
    check_batch_agrees(table.rebase(batch_), table)


# ----------------------------------------------------------------- OTLP/JSON


def _wire(request: ExportTraceServiceRequest) -> bytes:
    return request.SerializeToString(deterministic=True)


def check_json(data: bytes) -> str:
    """Decode or `JsonDecodeError`; a decoded request re-encodes to itself and passes `check_proto`."""
    try:
        request = decode_traces_json(data)
    except JsonDecodeError:
        return "rejected"
    assert _wire(decode_traces_json(encode_request_json(request))) == _wire(request)
    check_proto(request.SerializeToString())
    return "decoded"


# ----------------------------------------------------------------- queries


def _fixture_spans() -> list[S]:
    return [
        S(1, 1, name="syncPod", service="kubelet", kind=2, attrs={"a": 1, "k8s.pod": "default/echo"}),
        S(1, 2, 1, name="PullImage", service="containerd", status=2, attrs={"a": "x", "tags": ["a", "200"]},
          events=("message",)),
        S(1, 3, 2, name="GET /api", attrs={"a": 1.5, "flag": True, "raw": b"\x01"}, duration=3_000_000_000),
        S(2, 4, 9, name="orphan", attrs={"a": math.nan, "http.status_code": 500}, resource={"a": "res"}),
        S(3, 5, 5, name="loop", kind=3, attrs={"tags": [1, 2.5, True]}),
        S(4, 6, name="a" * 40 + "!", attrs={"a": "a" * 40 + "!", "b": "x" * 40}, events=("a" * 40 + "!",)),
    ]


@dataclass
class QueryFixture:
    """A small store and the same spans as one batch, for the differential check."""

    table: AttributeTable
    store: SpanStore
    batch: TraceBatch

    @classmethod
    def build(cls) -> "QueryFixture":
        table = new_attribute_table()
        spans = _fixture_spans()
        store = SpanStore(table)
        store.consume_traces(batch(spans[:2], table))
        store.consume_traces(batch(spans[2:], table))
        return cls(table, store, batch(spans, table))


_FIXTURE: list[QueryFixture] = []


def _fixture() -> QueryFixture:
    if not _FIXTURE:
        _FIXTURE.append(QueryFixture.build())
    return _FIXTURE[0]


def check_query(text: str) -> str:
    """Parse or `QuerySyntaxError` (with a column inside the text); the store agrees with naive.py."""
    try:
        query = compile_query(text)
    except QuerySyntaxError as err:
        assert 1 <= err.column <= len(text) + 1, (err.column, len(text))
        assert err.caret(text).endswith("^")
        return "rejected"
    fixture = _fixture()
    check_query_evaluates(query, fixture)
    return query.syntax


def check_query_evaluates(query: Query, fixture: QueryFixture) -> None:
    naive = [i for i, hit in enumerate(query.match_batch(fixture.batch, fixture.table)) if hit]
    assert fixture.store.search(query).tolist() == naive
    fixture.store.search_traces(query)


# ----------------------------------------------------------------- registry


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy
    check: Callable[[Any], str]


TARGETS = {
    "json": Target("json", JSON_INPUTS, check_json),
    "proto": Target("proto", PROTO_INPUTS, check_proto),
    "query": Target("query", QUERIES, check_query),
}
"""Every fuzz target by name: what to generate and what must hold."""
