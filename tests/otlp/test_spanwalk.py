"""The compiled walk of the edge decoder (kubespan/otlp/csrc/) against protobuf's accessors.

The walk reads the common case only and answers None for anything else, leaving it to
the accessor path; these tests pin both halves: equal columns where it reads, None
where it must not decide. tests/fuzz runs the same comparison on hostile inputs.
"""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.k8s.demo import load_batch
from kubespan.model import AttributeTable, PackedSpans
from kubespan.otlp import compiled, decode
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from tests.fuzz.targets import check_compiled_agrees
from tests.support.compiled_only import compiled_only
from tests.support.requests import append_to_first_span, k8s_request, request_with_ids

pytestmark = compiled_only

span_arrays = compiled.span_arrays


def test_the_extension_is_built():
    assert span_arrays is not None, "kubespan/otlp/csrc/ was not compiled: pip install -e . needs a C compiler"


def walk(raw: bytes, table: AttributeTable | None = None):
    """The compiled walk's columns, as lists in SPAN_COLUMNS order (None: left to protobuf)."""
    table = new_attribute_table() if table is None else table
    found = span_arrays(raw, table.storage)
    return None if found is None else tuple(PackedSpans.from_walk(found).to_lists())


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
    raw = append_to_first_span(raw, tail)
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
    raw = append_to_first_span(k8s_request(spans=2).SerializeToString(), tail)
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
    raw = append_to_first_span(k8s_request(spans=1).SerializeToString(), b"\xa8\x06\x07" + b"\xb2\x06\x02hi")
    assert walk(raw) is not None
    agrees(raw)


def test_empty_request():
    assert walk(b"") == tuple([] for _ in range(11))
