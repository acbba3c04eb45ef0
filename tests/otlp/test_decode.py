"""The edge decoder: columns, interning, per-span rejection, subsets."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import UndecodableRequest, decode_request
from kubespan.otlp.protowire import varint
from kubespan.otlp.select import select_spans
from kubespan.otlp.wire import split_spans
from tests.support.requests import k8s_request, request_with_ids


def decode(request: ExportTraceServiceRequest | bytes):
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    return decode_request(raw, new_attribute_table())


def test_columns_follow_wire_order_and_intern_attributes():
    table = new_attribute_table()
    batch, rejections = decode_request(k8s_request(spans=3).SerializeToString(), table)
    assert rejections.count == 0 and batch.span_count == 3
    assert batch.spans.span_id == [(i + 1).to_bytes(8, "big") for i in range(3)]
    assert batch.spans.parent_id[0] == b"" and batch.spans.parent_id[1] == (1).to_bytes(8, "big")
    assert batch.spans.attribute_ids[0] == batch.spans.attribute_ids[2]  # same pairs, same ids
    pod, port = (table.attributes[i] for i in batch.spans.attribute_ids[0])
    assert (pod.key, pod.value, pod.type) == ("k8s.pod", "default/echo-command", "str")
    assert (port.key, port.value, port.type) == ("net.peer.port", 54678, "int")
    assert batch.resources[0].service == "kubelet"
    assert batch.request == k8s_request(spans=3)


def test_event_names_are_collected():
    request = k8s_request(spans=1)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    span.events.add(name="pulling image").attributes.add(key="image").value.string_value = "alpine"
    span.events.add(name="started")
    batch, _ = decode(request)
    assert batch.spans.event_names == [("pulling image", "started")]


def test_invalid_utf8_attribute_rejects_only_that_span():
    request = k8s_request(spans=3)
    request.resource_spans[0].scope_spans[0].spans[1].attributes.add(key="bad").value.string_value = "XXXX"
    raw = request.SerializeToString().replace(b"XXXX", b"\xff\xfe\xfd\xfc")
    batch, rejections = decode(raw)
    assert rejections.count == 1 and "bad" not in batch.spans.name
    assert "undecodable attribute" in rejections.message
    assert batch.span_count == 2
    assert [s.span_id for s in batch.request.resource_spans[0].scope_spans[0].spans] == batch.spans.span_id


def test_all_rejected_leaves_an_empty_request():
    batch, rejections = decode(request_with_ids([(3, 8), (16, 0)]))
    assert rejections.count == 2 and batch.span_count == 0
    assert batch.request == ExportTraceServiceRequest()


def test_rejection_message_is_bounded():
    _, rejections = decode(request_with_ids([(3, 8)] * 5 + [(16, 2)]))
    assert rejections.count == 6
    assert len(rejections.reasons) == 3
    assert rejections.message.startswith("6 span(s) rejected: invalid trace id")


def test_undecodable_request():
    with pytest.raises(UndecodableRequest):
        decode(b"\x0a\x05\x0a\x03")


def test_invalid_utf8_span_name_is_undecodable():
    raw = k8s_request(spans=1, name="NAME").SerializeToString().replace(b"NAME", b"\xffAME")
    with pytest.raises(UndecodableRequest):
        decode(raw)


def test_select_keeps_order_and_drops_empty_scopes():
    request = k8s_request(spans=2)
    request.resource_spans.extend(k8s_request(spans=2, service="containerd").resource_spans)
    batch, _ = decode(request)
    subset = select_spans(batch, [False, False, True, False])
    assert subset.span_count == 1 and subset.resource_spans_count == 1
    [resource_spans] = subset.request.resource_spans
    assert resource_spans.resource.attributes[0].value.string_value == "containerd"
    assert subset.spans.span_id == [resource_spans.scope_spans[0].spans[0].span_id]
    assert select_spans(batch, [True] * 4) is batch


def test_raw_span_bytes_are_split_on_demand():
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    batch, _ = decode(k8s_request(spans=3))
    spans = [Span.FromString(raw) for raw in split_spans(batch.raw)]
    assert spans == list(k8s_request(spans=3).resource_spans[0].scope_spans[0].spans)
    subset = select_spans(batch, [False, True, False])
    assert [Span.FromString(raw).span_id for raw in split_spans(subset.raw)] == [(2).to_bytes(8, "big")]


def test_parse_errors_name_the_otlp_message_not_an_internal_type():
    with pytest.raises(UndecodableRequest) as caught:
        decode_request(b"\xff\xff", new_attribute_table())
    assert str(caught.value) == "proto: cannot parse ExportTraceServiceRequest: wire format was corrupt"
    assert "kubespan" not in str(caught.value)


def test_count_messages_counts_resources_scopes_and_spans_on_the_wire():
    from kubespan.otlp.wire import count_messages

    request = k8s_request(spans=300)
    request.resource_spans.add().scope_spans.add().spans.add(name="x" * 200)  # a two-byte length
    raw = request.SerializeToString()
    containers = sum(1 + len(rs.scope_spans) for rs in request.resource_spans)
    spans = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    assert count_messages(raw, stop=10**9) == (containers, spans)
    assert count_messages(raw, stop=10)[1] == 11  # stops just past the limit
    truncated = count_messages(raw[: len(raw) // 2], stop=10**9)  # a lower bound, no error
    assert truncated[0] <= containers and truncated[1] <= spans


def _minimal_spans(count: int, *, resource_each: bool = False) -> bytes:
    """`count` spans with nothing but their ids: the smallest a request can carry."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for i in range(1, count + 1):
        if resource_each and i > 1:
            scope = request.resource_spans.add().scope_spans.add()
        scope.spans.add(trace_id=i.to_bytes(16, "big"), span_id=i.to_bytes(8, "big"))
    return request.SerializeToString()


@pytest.mark.parametrize("resource_each", [False, True])
def test_many_minimal_spans_are_not_taken_for_a_message_bomb(resource_each: bool):
    raw = _minimal_spans(5000, resource_each=resource_each)
    assert len(raw) >= 64 * 1024
    batch, rejections = decode_request(raw, new_attribute_table())
    assert (batch.span_count, rejections.count) == (5000, 0)


@pytest.mark.parametrize("inner", [b"\x12\x00" * 200_000, b"\x12\x00\x12\x00" * 100_000])
def test_empty_spans_or_scopes_by_the_hundred_thousand_are_refused(inner: bytes):
    raw = b"\x0a" + varint(len(inner) + 3) + b"\x12" + varint(len(inner)) + inner
    if inner.startswith(b"\x12\x00\x12"):  # empty ScopeSpans directly under one ResourceSpans
        raw = b"\x0a" + varint(len(inner)) + inner
    with pytest.raises(UndecodableRequest, match="at least 30 bytes"):
        decode_request(raw, new_attribute_table())

