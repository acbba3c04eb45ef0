"""Regression tests for decoder findings of the fuzz campaign, with their minimal inputs."""

from __future__ import annotations

import base64

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import UndecodableRequest, decode_request
from kubespan.otlp.jsoncodec import MAX_VALUE_NESTING, JsonDecodeError, decode_traces_json
from tests.fuzz.targets import check_json, check_proto
from tests.fuzz.wirebuild import ld, nested_value

SPAN = ld(1, b"\1" * 16) + ld(2, b"\1" * 8) + ld(5, b"n")


def _kv(depth: int, kvlist: bool) -> bytes:
    return ld(1, b"k") + ld(2, nested_value(depth, kvlist))


def test_duplicate_resource_fields_are_merged_like_protobuf() -> None:
    """Found as: a corrupt first `resource` followed by an empty one was accepted, though the
    official parser (which merges both occurrences) refuses the request."""
    minimal = ld(1, ld(1, b"\0") + ld(1, b""))
    with pytest.raises(UndecodableRequest):
        decode_request(minimal, new_attribute_table())
    assert check_proto(minimal) == "undecodable"


def test_attributes_of_every_resource_and_scope_occurrence_are_kept() -> None:
    resource = ld(1, ld(1, ld(1, b"service.name") + ld(2, ld(1, b"api")))) + ld(1, ld(1, ld(1, b"x") + ld(2, b"")))
    scope = ld(1, ld(1, b"lib")) + ld(1, ld(2, b"1.0"))
    raw = ld(1, resource + ld(2, scope + ld(2, SPAN) + ld(2, ld(1, b"short"))))
    table = new_attribute_table()
    batch, rejections = decode_request(raw, table)
    assert rejections.count == 1 and batch.span_count == 1
    assert [table.attributes[a].key for a in batch.resources[0].attribute_ids] == ["service.name", "x"]
    assert (batch.resources[0].service, batch.scopes[0].name, batch.scopes[0].version) == ("api", "lib", "1.0")
    rebuilt = batch.request.resource_spans[0]  # the request without the rejected span keeps both halves
    assert [kv.key for kv in rebuilt.resource.attributes] == ["service.name", "x"]
    assert (rebuilt.scope_spans[0].scope.name, rebuilt.scope_spans[0].scope.version) == ("lib", "1.0")
    assert check_proto(raw) == "partial"


DEEPEST_ARRAYS = 47
"""Arrays a span attribute can nest while the whole request stays within protobuf's 100 levels."""


@pytest.mark.parametrize("depth", [DEEPEST_ARRAYS + 1, DEEPEST_ARRAYS + 2, 99])
def test_span_attribute_nested_past_the_limit_is_rejected(depth: int) -> None:
    """Found as: 48 nested arrays in a span attribute were accepted, but the official parse of
    the request (what every writer does) failed with "Exceeded upb_DecodeOptions_MaxDepth"."""
    raw = ld(1, ld(2, ld(2, SPAN + ld(9, _kv(depth, False)))))
    batch, rejections = decode_request(raw, new_attribute_table())
    assert batch.span_count == 0 and rejections.count == 1
    assert "Exceeded upb_DecodeOptions_MaxDepth" in rejections.message
    assert check_proto(raw) == "partial"
    assert check_proto(ld(1, ld(2, ld(2, SPAN + ld(9, _kv(DEEPEST_ARRAYS, False)))))) == "decoded"


@pytest.mark.parametrize("where", ["resource", "scope"])
def test_resource_and_scope_attributes_nested_past_the_limit_are_undecodable(where: str) -> None:
    """Scope attributes sit as deep in a request as span attributes, and were not checked at all."""
    def request(depth: int) -> bytes:
        attribute = ld(1, ld(1, _kv(depth, False))) if where == "resource" else b""
        scope = ld(1, ld(3, _kv(depth, False))) if where == "scope" else b""
        return ld(1, attribute + ld(2, scope + ld(2, SPAN)))

    with pytest.raises(UndecodableRequest, match="MaxDepth"):
        decode_request(request(DEEPEST_ARRAYS + 1), new_attribute_table())
    assert check_proto(request(DEEPEST_ARRAYS + 1)) == "undecodable"
    assert check_proto(request(DEEPEST_ARRAYS)) == "decoded"
    ExportTraceServiceRequest.FromString(request(DEEPEST_ARRAYS))


def _deep_json(levels: int, kvlist: bool) -> bytes:
    """A one-span OTLP/JSON request whose attribute nests `levels` arrays or kvlists (built as text)."""
    if kvlist:
        value = '{"kvlistValue":{"values":[{"key":"k","value":' * levels + '{"stringValue":"x"}' + "}]}}" * levels
    else:
        value = '{"arrayValue":{"values":[' * levels + '{"stringValue":"x"}' + "]}}" * levels
    span = f'{{"traceId":"{"01" * 16}","spanId":"{"01" * 8}","name":"a","attributes":[{{"key":"k","value":{value}}}]}}'
    return ('{"resourceSpans":[{"scopeSpans":[{"spans":[' + span + "]}]}]}").encode()


@pytest.mark.parametrize("levels", [MAX_VALUE_NESTING + 1, 5_000, 100_000])
@pytest.mark.parametrize("kvlist", [False, True], ids=["array", "kvlist"])
def test_json_values_nested_thousands_deep_fail_cleanly(levels: int, kvlist: bool) -> None:
    with pytest.raises(JsonDecodeError, match="nesting"):
        decode_traces_json(_deep_json(levels, kvlist))
    assert check_json(_deep_json(levels, kvlist)) == "rejected"
    assert check_json(_deep_json(MAX_VALUE_NESTING, kvlist)) == "decoded"


def test_an_all_zero_parent_id_is_stored_as_a_root() -> None:
    """Found by the JSON target: the store reports an all-zero parent id as b"" (a root, as pdata does),
    which the check first took for a disagreement."""
    raw = ld(1, ld(2, ld(2, SPAN + ld(4, bytes(8)))))
    assert check_proto(raw) == "decoded"


def test_rejections_in_two_scopes_keep_columns_and_request_aligned() -> None:
    """Found by the `proto` target: a span rejected for its id in one scope, then an invalid attribute
    in a later scope, left a stale row behind, so the store held a span twice."""
    def span(n: int, extra: bytes = b"") -> bytes:
        return ld(1, b"\1" * 16) + ld(2, bytes(7) + bytes([n])) + ld(5, b"op%d" % n) + extra

    bad_id = ld(1, b"\1" * 3) + ld(2, b"\1" * 8)
    bad_attribute = span(3, ld(9, ld(1, b"\xff")))
    raw = ld(1, ld(2, ld(2, bad_id)) + ld(2, ld(2, span(1)) + ld(2, bad_attribute) + ld(2, span(4))))
    batch, rejections = decode_request(raw, new_attribute_table())
    assert rejections.count == 2
    assert batch.spans.name == ["op1", "op4"]
    assert check_proto(raw) == "partial"


def test_a_truncated_resource_occurrence_does_not_swallow_the_next() -> None:
    """Found by atheris: the first `resource` ends in a KeyValue header whose length runs past it.
    Joined with the next occurrence it parsed; the official parser refuses it."""
    minimal = ld(1, ld(1, ld(1, b"") + b"\n\x02") + ld(1, b"\n\x00"))
    with pytest.raises(UndecodableRequest, match="cannot parse Resource"):
        decode_request(minimal, new_attribute_table())
    assert check_proto(minimal) == "undecodable"
    found = base64.b64decode("CgAKIAoKCgIKAAoACgoKAAoACgAKAAoACgoKAgoACgAKAAoA")
    assert check_proto(found) == "undecodable"
