"""Tests for kubespan.otlp.jsoncodec: OTLP/JSON decoding, Collector-style encoding, JSONL dumps."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status, TracesData

from kubespan.encode.message_json import encode_message_json
from kubespan.encode.otlp_json import encode_request_json
from kubespan.encode.span_lines import encode_span_lines
from kubespan.otlp.jsoncodec import (
    MAX_VALUE_NESTING,
    JsonDecodeError,
    decode_traces_json,
)

GOLDEN = Path(__file__).parent.parent / "golden" / "jsonl"
UPDATE_GOLDEN = os.environ.get("KUBESPAN_UPDATE_GOLDEN") == "1"

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")
PARENT_ID = bytes.fromhex("eee19b7ec3c1b173")


# --------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------


def _kv(key: str, value: object) -> KeyValue:
    """A KeyValue from a Python value (str, bool, int, float, bytes, list, dict)."""
    kv = KeyValue(key=key)
    _set_any(kv.value, value)
    return kv


def _set_any(av: AnyValue, value: object) -> None:
    if isinstance(value, str):
        av.string_value = value
    elif isinstance(value, bool):
        av.bool_value = value
    elif isinstance(value, int):
        av.int_value = value
    elif isinstance(value, float):
        av.double_value = value
    elif isinstance(value, bytes):
        av.bytes_value = value
    elif isinstance(value, list):
        av.array_value.SetInParent()
        for item in value:
            _set_any(av.array_value.values.add(), item)
    elif isinstance(value, dict):
        av.kvlist_value.SetInParent()
        for k, v in value.items():
            av.kvlist_value.values.append(_kv(k, v))
    elif value is None:
        av.SetInParent()
    else:
        raise TypeError(value)


def full_request() -> ExportTraceServiceRequest:
    """A request that sets every field the codec knows about."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add(schema_url="https://opentelemetry.io/schemas/1.24.0")
    rs.resource.attributes.extend([_kv("service.name", "kubelet"), _kv("host.name", "node-1")])
    rs.resource.dropped_attributes_count = 2
    ref = rs.resource.entity_refs.add(schema_url="s", type="k8s.pod")
    ref.id_keys.extend(["k8s.pod.uid"])
    ref.description_keys.extend(["k8s.pod.name", "k8s.namespace.name"])
    ss = rs.scope_spans.add(schema_url="https://opentelemetry.io/schemas/1.21.0")
    ss.scope.name = "k8s.io/kubernetes/pkg/kubelet"
    ss.scope.version = "v1.30.2"
    ss.scope.attributes.append(_kv("scope.attr", True))
    ss.scope.dropped_attributes_count = 1
    sp = ss.spans.add(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        trace_state="rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        parent_span_id=PARENT_ID,
        flags=0x301,
        name="syncPod \"quoted\" \\ ünïcödé \n\t\x01",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=1544712660000000000,
        end_time_unix_nano=2**64 - 1,
        dropped_attributes_count=3,
        dropped_events_count=4,
        dropped_links_count=5,
    )
    sp.attributes.extend(
        [
            _kv("str", "v"),
            _kv("empty.str", ""),
            _kv("bool.true", True),
            _kv("bool.false", False),
            _kv("int.zero", 0),
            _kv("int.neg", -42),
            _kv("int.min", -(2**63)),
            _kv("int.max", 2**63 - 1),
            _kv("double", 1.5),
            _kv("double.neg", -2.25e-10),
            _kv("double.big", 1e300),
            _kv("double.int", 100.0),
            _kv("double.negzero", -0.0),
            _kv("double.nan", math.nan),
            _kv("double.inf", math.inf),
            _kv("double.ninf", -math.inf),
            _kv("bytes", b"\x00\xff\x10binary"),
            _kv("bytes.empty", b""),
            _kv("array", ["a", 1, 2.5, True, b"\x01", [], {}, ["nested", ["deeper"]]]),
            _kv("array.empty", []),
            _kv("kvlist", {"a": "x", "b": {"c": [1, 2]}, "empty": {}}),
            _kv("kvlist.empty", {}),
            _kv("empty.value", None),
            _kv("", "empty key"),
        ]
    )
    for code in (Status.STATUS_CODE_ERROR,):
        sp.status.code = code
    sp.status.message = "boom"
    ev = sp.events.add(time_unix_nano=1544712660500000000, name="event", dropped_attributes_count=6)
    ev.attributes.append(_kv("exception.message", "oops"))
    sp.events.add(name="bare event")
    ln = sp.links.add(
        trace_id=bytes(range(16)),
        span_id=bytes(range(8)),
        trace_state="k=v",
        dropped_attributes_count=7,
        flags=1,
    )
    ln.attributes.append(_kv("link.attr", 7))
    sp.links.add()
    for kind in range(6):
        other = ss.spans.add(name=f"kind {kind}", kind=kind)
        other.status.SetInParent()
        if kind:
            other.status.code = kind % 3
    # A second resource/scope pair with empty resource and scope.
    rs2 = req.resource_spans.add()
    rs2.resource.SetInParent()
    ss2 = rs2.scope_spans.add()
    ss2.scope.SetInParent()
    ss2.spans.add(name="minimal").status.SetInParent()
    rs3 = req.resource_spans.add()  # resource without scope spans
    rs3.resource.SetInParent()
    return req


def spec_example_request() -> ExportTraceServiceRequest:
    """The values of the OTLP spec's reference trace example (docs/specification.md, examples/trace.json)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.append(_kv("service.name", "my.service"))
    ss = rs.scope_spans.add()
    ss.scope.name = "my.library"
    ss.scope.version = "1.0.0"
    ss.scope.attributes.append(_kv("my.scope.attribute", "some scope attribute"))
    sp = ss.spans.add(
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        parent_span_id=PARENT_ID,
        name="I'm a server span",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=1544712660000000000,
        end_time_unix_nano=1544712661000000000,
    )
    sp.attributes.append(_kv("my.span.attr", "some value"))
    sp.status.SetInParent()
    return req


def kubelet_request() -> ExportTraceServiceRequest:
    """A syncPod trace slice: kubelet syncPod + CRI client span, and containerd's server span."""
    trace_id = bytes.fromhex("2fb1aa0e3d5c4f6a8b9c0d1e2f3a4b5c")
    req = ExportTraceServiceRequest()
    kubelet = req.resource_spans.add()
    kubelet.resource.attributes.extend(
        [_kv("service.name", "kubelet"), _kv("host.name", "k3d-tracingcluster-server-0")]
    )
    pods = kubelet.scope_spans.add()
    pods.scope.name = "k8s.io/kubernetes/pkg/kubelet"
    sync = pods.spans.add(
        trace_id=trace_id,
        span_id=bytes.fromhex("0102030405060708"),
        flags=0x101,
        name="syncPod",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=1684842401975000000,
        end_time_unix_nano=1684842403305000000,
    )
    sync.attributes.extend(
        [
            _kv("k8s.pod", "default/echo-command"),
            _kv("k8s.pod.uid", "8d5f3a0e-6a53-4b93-9f3c-2b8d6f1e4a21"),
            _kv("k8s.pod.name", "echo-command"),
            _kv("k8s.namespace.name", "default"),
            _kv("k8s.pod.update_type", "create"),
        ]
    )
    sync.status.SetInParent()
    grpc = kubelet.scope_spans.add()
    grpc.scope.name = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
    grpc.scope.version = "0.35.0"
    pull = grpc.spans.add(
        trace_id=trace_id,
        span_id=bytes.fromhex("1112131415161718"),
        parent_span_id=sync.span_id,
        flags=0x101,
        name="runtime.v1.ImageService/PullImage",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=1684842401990000000,
        end_time_unix_nano=1684842403100000000,
    )
    pull.attributes.extend(
        [
            _kv("rpc.system", "grpc"),
            _kv("rpc.service", "runtime.v1.ImageService"),
            _kv("rpc.method", "PullImage"),
            _kv("net.peer.name", "/run/k3s/containerd/containerd.sock"),
            _kv("rpc.grpc.status_code", 0),
        ]
    )
    pull.status.SetInParent()
    containerd = req.resource_spans.add(schema_url="https://opentelemetry.io/schemas/1.21.0")
    containerd.resource.attributes.extend(
        [
            _kv("service.name", "containerd"),
            _kv("telemetry.sdk.language", "go"),
            _kv("telemetry.sdk.name", "opentelemetry"),
            _kv("telemetry.sdk.version", "1.21.0"),
        ]
    )
    cri = containerd.scope_spans.add()
    cri.scope.SetInParent()
    server = cri.spans.add(
        trace_id=trace_id,
        span_id=bytes.fromhex("2122232425262728"),
        parent_span_id=pull.span_id,
        flags=0x301,
        name="runtime.v1.ImageService/PullImage",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=1684842401991000000,
        end_time_unix_nano=1684842403099000000,
    )
    server.attributes.extend([_kv("rpc.grpc.status_code", 0), _kv("net.peer.port", "")])
    server.events.add(time_unix_nano=1684842402000000000, name="PullImage").attributes.append(
        _kv("image", "docker.io/library/alpine:latest")
    )
    server.status.code = Status.STATUS_CODE_OK
    return req


def merge_lines(reqs: list[ExportTraceServiceRequest]) -> ExportTraceServiceRequest:
    """Merge one-span requests back, grouping consecutive equal resources and scopes."""
    out = ExportTraceServiceRequest()
    for req in reqs:
        assert len(req.resource_spans) == 1
        rs = req.resource_spans[0]
        assert len(rs.scope_spans) == 1
        ss = rs.scope_spans[0]
        assert len(ss.spans) == 1
        last_rs = out.resource_spans[-1] if out.resource_spans else None
        if last_rs is None or (last_rs.resource, last_rs.schema_url) != (rs.resource, rs.schema_url):
            last_rs = out.resource_spans.add(resource=rs.resource, schema_url=rs.schema_url)
        last_ss = last_rs.scope_spans[-1] if last_rs.scope_spans else None
        if last_ss is None or (last_ss.scope, last_ss.schema_url) != (ss.scope, ss.schema_url):
            last_ss = last_rs.scope_spans.add(scope=ss.scope, schema_url=ss.schema_url)
        last_ss.spans.append(ss.spans[0])
    return out


def without_empty_groups(req: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
    """``req`` without ScopeSpans that have no spans and ResourceSpans left with none."""
    out = ExportTraceServiceRequest()
    for rs in req.resource_spans:
        kept = [ss for ss in rs.scope_spans if ss.spans]
        if kept:
            new = out.resource_spans.add(resource=rs.resource, schema_url=rs.schema_url)
            new.scope_spans.extend(kept)
    return out


def decode_error(data: object, **kw: object) -> JsonDecodeError:
    with pytest.raises(JsonDecodeError) as info:
        decode_traces_json(data if isinstance(data, (str, bytes)) else json.dumps(data), **kw)
    return info.value


def one_span_doc(span: dict) -> dict:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


def test_round_trip_full_request() -> None:
    req = full_request()
    text = encode_request_json(req)
    assert decode_traces_json(text) == req
    assert decode_traces_json(text.encode()) == req
    assert decode_traces_json(text).SerializeToString(deterministic=True) == req.SerializeToString(
        deterministic=True
    )


def test_encode_full_request_shapes() -> None:
    text = encode_request_json(full_request())
    doc = json.loads(text)
    rs = doc["resourceSpans"][0]
    sp = rs["scopeSpans"][0]["spans"][0]
    assert list(sp) == [
        "traceId", "spanId", "traceState", "parentSpanId", "flags", "name", "kind",
        "startTimeUnixNano", "endTimeUnixNano", "attributes", "droppedAttributesCount",
        "events", "droppedEventsCount", "links", "droppedLinksCount", "status",
    ]  # fmt: skip
    assert sp["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert sp["flags"] == 0x301 and sp["kind"] == 2
    assert sp["startTimeUnixNano"] == "1544712660000000000"
    assert sp["endTimeUnixNano"] == str(2**64 - 1)
    assert sp["status"] == {"message": "boom", "code": 2}
    attrs = {a.get("key", ""): a["value"] for a in sp["attributes"]}
    assert attrs["int.min"] == {"intValue": str(-(2**63))}
    assert attrs["double.nan"] == {"doubleValue": "NaN"}
    assert attrs["double.inf"] == {"doubleValue": "Infinity"}
    assert attrs["double.ninf"] == {"doubleValue": "-Infinity"}
    assert attrs["bytes"] == {"bytesValue": "AP8QYmluYXJ5"}
    assert attrs["bytes.empty"] == {"bytesValue": ""}
    assert attrs["empty.str"] == {"stringValue": ""}
    assert attrs["empty.value"] == {}
    assert attrs["array.empty"] == {"arrayValue": {}}
    assert attrs["kvlist.empty"] == {"kvlistValue": {}}
    assert attrs[""] == {"stringValue": "empty key"}
    assert sp["links"][1] == {} and sp["events"][1] == {"name": "bare event"}
    assert rs["resource"]["entityRefs"][0] == {
        "schemaUrl": "s",
        "type": "k8s.pod",
        "idKeys": ["k8s.pod.uid"],
        "descriptionKeys": ["k8s.pod.name", "k8s.namespace.name"],
    }
    assert doc["resourceSpans"][1] == {
        "resource": {},
        "scopeSpans": [{"scope": {}, "spans": [{"name": "minimal", "status": {}}]}],
    }
    assert doc["resourceSpans"][2] == {"resource": {}}
    assert ": " not in text and "\n" not in text  # compact, one line


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (100.0, "100"),
        (0.0, "0"),
        (-0.0, "-0.0"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-6, "0.000001"),
        (1.5e-7, "1.5e-7"),
        (1e-10, "1e-10"),
        (123456.789, "123456.789"),
    ],
)
def test_double_format_like_go(value: float, text: str) -> None:
    req = ExportTraceServiceRequest()
    req.resource_spans.add().scope_spans.add().spans.add().attributes.append(_kv("d", value))
    assert f'{{"doubleValue":{text}}}' in encode_request_json(req)
    back = decode_traces_json(encode_request_json(req))
    got = back.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.double_value
    assert got == value and math.copysign(1, got) == math.copysign(1, value)


def test_empty_request() -> None:
    assert encode_request_json(ExportTraceServiceRequest()) == "{}"
    assert encode_span_lines(ExportTraceServiceRequest()) == []
    assert decode_traces_json("{}") == ExportTraceServiceRequest()


def test_span_lines_round_trip() -> None:
    req = full_request()
    lines = encode_span_lines(req)
    assert len(lines) == sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
    assert all("\n" not in line for line in lines)
    decoded = [decode_traces_json(line) for line in lines]
    assert merge_lines(decoded) == without_empty_groups(req)
    for line in lines:  # each line is a plain request with one span
        doc = json.loads(line)
        assert list(doc) == ["resourceSpans"]
        assert len(doc["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 1


def test_span_lines_keep_schema_urls() -> None:
    lines = encode_span_lines(full_request())
    doc = json.loads(lines[0])["resourceSpans"][0]
    assert list(doc) == ["resource", "scopeSpans", "schemaUrl"]
    assert doc["schemaUrl"] == "https://opentelemetry.io/schemas/1.24.0"
    assert list(doc["scopeSpans"][0]) == ["scope", "spans", "schemaUrl"]
    assert doc["scopeSpans"][0]["schemaUrl"] == "https://opentelemetry.io/schemas/1.21.0"


def test_span_lines_match_request_encoding() -> None:
    """A one-span request encodes to exactly its span line."""
    for line in encode_span_lines(kubelet_request()):
        assert encode_request_json(decode_traces_json(line)) == line


def test_traces_data_encodes_like_request() -> None:
    req = kubelet_request()
    td = TracesData()
    td.ParseFromString(req.SerializeToString())
    assert encode_request_json(td) == encode_request_json(req)
    assert encode_span_lines(td) == encode_span_lines(req)
    assert encode_message_json(td) == encode_request_json(req)


# --------------------------------------------------------------------------
# Golden files
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "build"),
    [("spec_example.jsonl", spec_example_request), ("kubelet_syncpod.jsonl", kubelet_request)],
)
def test_golden_span_lines(name: str, build: object) -> None:
    req = build()
    text = "\n".join(encode_span_lines(req)) + "\n"
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
    assert merge_lines([decode_traces_json(x) for x in text.splitlines()]) == req


def test_golden_spec_example_exact() -> None:
    """The line pdata's writer produces for the spec example, spelled out."""
    expected = (
        '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},'
        '"scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0","attributes":[{"key":"my.scope.attribute",'
        '"value":{"stringValue":"some scope attribute"}}]},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",'
        '"spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"I\'m a server span","kind":2,'
        '"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",'
        '"attributes":[{"key":"my.span.attr","value":{"stringValue":"some value"}}],"status":{}}]}]}]}'
    )
    assert encode_span_lines(spec_example_request()) == [expected]


def test_spec_example_as_written_decodes() -> None:
    """The spec example's own spelling: uppercase hex ids, times as numbers, no status."""
    text = """{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",
      "value": {"stringValue": "my.service"}}]},
      "scopeSpans": [{"scope": {"name": "my.library", "version": "1.0.0", "attributes": [
        {"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
        "spans": [{"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
          "parentSpanId": "EEE19B7EC3C1B173", "name": "I'm a server span",
          "startTimeUnixNano": 1544712660000000000, "endTimeUnixNano": "1544712661000000000",
          "kind": 2, "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}]}]}]}]}"""
    assert decode_traces_json(text) == spec_example_request()


# --------------------------------------------------------------------------
# Decoder leniency
# --------------------------------------------------------------------------


def test_snake_case_keys_and_enum_names() -> None:
    doc = {
        "resource_spans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "svc"}}],
                             "dropped_attributes_count": "1"},
                "scope_spans": [
                    {
                        "scope": {"name": "lib", "dropped_attributes_count": 2},
                        "schema_url": "u",
                        "spans": [
                            {
                                "trace_id": TRACE_ID.hex(),
                                "span_id": SPAN_ID.hex(),
                                "parent_span_id": PARENT_ID.hex(),
                                "trace_state": "a=b",
                                "kind": "SPAN_KIND_SERVER",
                                "start_time_unix_nano": 1544712660000000000,
                                "end_time_unix_nano": "1544712661000000000",
                                "dropped_attributes_count": 1,
                                "dropped_events_count": "2",
                                "dropped_links_count": 3,
                                "attributes": [
                                    {"key": "i", "value": {"int_value": 5}},
                                    {"key": "d", "value": {"double_value": "2.5"}},
                                    {"key": "b", "value": {"bool_value": True}},
                                    {"key": "x", "value": {"bytes_value": "AAE="}},
                                    {"key": "a", "value": {"array_value": {"values": [{"int_value": "-1"}]}}},
                                    {"key": "k", "value": {"kvlist_value": {"values": [{"key": "z", "value": {}}]}}},
                                ],
                                "events": [{"time_unix_nano": 7, "name": "e", "dropped_attributes_count": 1}],
                                "links": [{"trace_id": TRACE_ID.hex(), "span_id": SPAN_ID.hex(),
                                           "trace_state": "t", "dropped_attributes_count": 1, "flags": 1}],
                                "status": {"code": "STATUS_CODE_ERROR", "message": "m"},
                            }
                        ],
                    }
                ],
                "schema_url": "r",
            }
        ]
    }
    req = decode_traces_json(json.dumps(doc))
    camel = decode_traces_json(encode_request_json(req))
    assert camel == req
    sp = req.resource_spans[0].scope_spans[0].spans[0]
    assert sp.kind == Span.SPAN_KIND_SERVER and sp.status.code == Status.STATUS_CODE_ERROR
    assert sp.start_time_unix_nano == 1544712660000000000
    assert [a.value.WhichOneof("value") for a in sp.attributes] == [
        "int_value", "double_value", "bool_value", "bytes_value", "array_value", "kvlist_value",
    ]  # fmt: skip
    assert sp.attributes[3].value.bytes_value == b"\x00\x01"
    assert sp.attributes[4].value.array_value.values[0].int_value == -1
    assert sp.links[0].flags == 1 and sp.events[0].time_unix_nano == 7
    assert req.resource_spans[0].schema_url == "r"
    assert req.resource_spans[0].scope_spans[0].schema_url == "u"
    assert req.resource_spans[0].resource.dropped_attributes_count == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NaN", math.nan),
        ("Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("+Inf", math.inf),
        ("-Inf", -math.inf),
        ("1e3", 1000.0),
        ("-0.5", -0.5),
        (3, 3.0),
        (2.5, 2.5),
    ],
)
def test_double_spellings(raw: object, expected: float) -> None:
    req = decode_traces_json(json.dumps(one_span_doc({"attributes": [{"key": "d", "value": {"doubleValue": raw}}]})))
    got = req.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.double_value
    assert got == expected or (math.isnan(got) and math.isnan(expected))


def test_int64_as_number_or_string() -> None:
    for raw in (1544712660000000000, "1544712660000000000", 1.5447126600000000e18):
        req = decode_traces_json(json.dumps(one_span_doc({"startTimeUnixNano": raw})))
        assert req.resource_spans[0].scope_spans[0].spans[0].start_time_unix_nano == 1544712660000000000
    for raw in (-(2**63), str(-(2**63)), 2**63 - 1, "+12"):
        attrs = [{"key": "i", "value": {"intValue": raw}}]
        req = decode_traces_json(json.dumps(one_span_doc({"attributes": attrs})))
        assert req.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.int_value == int(raw)


def test_hex_ids_any_case_and_empty() -> None:
    upper = decode_traces_json(
        json.dumps(one_span_doc({"traceId": TRACE_ID.hex().upper(), "spanId": "EeE19b7Ec3C1b174"})))
    sp = upper.resource_spans[0].scope_spans[0].spans[0]
    assert sp.trace_id == TRACE_ID and sp.span_id == SPAN_ID
    empty = decode_traces_json(json.dumps(one_span_doc({"traceId": "", "spanId": "", "parentSpanId": ""})))
    sp = empty.resource_spans[0].scope_spans[0].spans[0]
    assert sp.trace_id == b"" and sp.span_id == b"" and sp.parent_span_id == b""


def test_wrong_length_ids_kept_unless_strict() -> None:
    doc = one_span_doc({"traceId": "0102030405", "spanId": "01", "links": [{"traceId": "aa"}]})
    req = decode_traces_json(json.dumps(doc))
    sp = req.resource_spans[0].scope_spans[0].spans[0]
    assert sp.trace_id == bytes.fromhex("0102030405") and sp.span_id == b"\x01"
    assert sp.links[0].trace_id == b"\xaa"
    assert encode_request_json(req).count('"traceId":"0102030405"') == 1
    err = decode_error(doc, strict_ids=True)
    assert str(err) == "resourceSpans[0].scopeSpans[0].spans[0].traceId: length mismatch: want 16 bytes, got 5"
    err = decode_error(one_span_doc({"spanId": "01"}), strict_ids=True)
    assert str(err).endswith("spans[0].spanId: length mismatch: want 8 bytes, got 1")
    err = decode_error(one_span_doc({"links": [{"traceId": "aa"}]}), strict_ids=True)
    assert str(err).endswith("spans[0].links[0].traceId: length mismatch: want 16 bytes, got 1")


def test_unknown_fields_ignored_everywhere() -> None:
    doc = json.loads(encode_request_json(full_request()))

    def sprinkle(node: object) -> None:
        if isinstance(node, dict):
            for value in list(node.values()):
                sprinkle(value)
            if not node.keys() & {"stringValue", "intValue", "boolValue", "doubleValue", "bytesValue",
                                  "arrayValue", "kvlistValue"}:
                node["unknownField"] = {"nested": [1, "two", None, {"deep": True}]}
                node["zzz_extra"] = None
        elif isinstance(node, list):
            for value in node:
                sprinkle(value)

    sprinkle(doc)
    doc["extraTopLevel"] = 1
    assert decode_traces_json(json.dumps(doc)) == full_request()


def test_unknown_fields_in_any_value_ignored() -> None:
    attrs = [{"key": "k", "value": {"stringValueX": 1, "stringValue": "v", "keyStrindex": 3}}]
    req = decode_traces_json(json.dumps(one_span_doc({"attributes": attrs})))
    assert req.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.string_value == "v"


def test_traces_data_shape_and_nulls() -> None:
    req = kubelet_request()
    td = TracesData()
    td.ParseFromString(req.SerializeToString())
    assert decode_traces_json(json.dumps(json.loads(encode_request_json(td)))) == req
    doc = {"resourceSpans": [{"resource": None, "scopeSpans": [{"scope": None, "spans": [
        {"name": None, "traceId": None, "attributes": [{"key": "k", "value": None}], "status": None}]}]}]}
    got = decode_traces_json(json.dumps(doc))
    expected = ExportTraceServiceRequest()
    rs = expected.resource_spans.add()
    rs.resource.SetInParent()
    ss = rs.scope_spans.add()
    ss.scope.SetInParent()
    sp = ss.spans.add()
    sp.status.SetInParent()
    sp.attributes.add(key="k").value.SetInParent()
    assert got == expected
    assert decode_traces_json('{"resourceSpans": null}') == ExportTraceServiceRequest()


def test_decoded_request_is_canonical() -> None:
    """Resource, scope, status and KeyValue.value are always set, as pdata writes them."""
    req = decode_traces_json(json.dumps(one_span_doc({"attributes": [{"key": "k"}]})))
    rs = req.resource_spans[0]
    sp = rs.scope_spans[0].spans[0]
    assert rs.HasField("resource") and rs.scope_spans[0].HasField("scope")
    assert sp.HasField("status") and sp.attributes[0].HasField("value")


def test_nesting_limit_boundary() -> None:
    def nested(levels: int, kind: str) -> dict:
        value: dict = {"stringValue": "leaf"}
        for _ in range(levels):
            if kind == "array":
                value = {"arrayValue": {"values": [value]}}
            else:
                value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
        return value

    for kind in ("array", "kvlist"):
        ok = {"events": [{"attributes": [{"key": "deep", "value": nested(MAX_VALUE_NESTING, kind)}]}]}
        req = decode_traces_json(json.dumps(one_span_doc(ok)))
        # The deepest accepted value still fits protobuf's recursion limit in binary form.
        assert ExportTraceServiceRequest.FromString(req.SerializeToString()) == req
        assert decode_traces_json(encode_request_json(req)) == req
        bad = {"attributes": [{"key": "deep", "value": nested(MAX_VALUE_NESTING + 1, kind)}]}
        err = decode_error(one_span_doc(bad))
        assert f"value nesting deeper than {MAX_VALUE_NESTING} levels" in str(err)
        assert str(err).startswith("resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.")


# --------------------------------------------------------------------------
# Decoder errors
# --------------------------------------------------------------------------

SPAN_PATH = "resourceSpans[0].scopeSpans[0].spans[0]"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"resourceSpans": [{"scopeSpans": [{"spans": 5}]}]},
         "resourceSpans[0].scopeSpans[0].spans: want an array, got number"),
        ({"resourceSpans": {"a": 1}}, "resourceSpans: want an array, got object"),
        ({"resourceSpans": [7]}, "resourceSpans[0]: want an object, got number"),
        ({"resourceSpans": [{"resource": []}]}, "resourceSpans[0].resource: want an object, got array"),
        (one_span_doc({"name": 7}), f"{SPAN_PATH}.name: want a string, got number"),
        (one_span_doc({"kind": True}), f"{SPAN_PATH}.kind: want an enum number or name, got boolean"),
        (one_span_doc({"kind": "SERVER"}), f"{SPAN_PATH}.kind: unknown enum value 'SERVER'"),
        (one_span_doc({"status": {"code": "STATUS_CODE_FAILED"}}),
         f"{SPAN_PATH}.status.code: unknown enum value 'STATUS_CODE_FAILED'"),
        (one_span_doc({"kind": 2**40}), f"{SPAN_PATH}.kind: enum value 1099511627776 out of int32 range"),
        (one_span_doc({"traceId": "xyz0"}), f"{SPAN_PATH}.traceId: invalid hex id 'xyz0'"),
        (one_span_doc({"traceId": "5b8"}), f"{SPAN_PATH}.traceId: invalid hex id '5b8'"),
        (one_span_doc({"traceId": "W47/95gDgQPSabYzgT/GDA=="}),
         f"{SPAN_PATH}.traceId: invalid hex id 'W47/95gDgQPSabYzgT/GDA=='"),
        (one_span_doc({"spanId": "7uGbfsPBsXQ="}), f"{SPAN_PATH}.spanId: invalid hex id '7uGbfsPBsXQ='"),
        (one_span_doc({"spanId": "ee e1 9b 7e c3 c1 b1 74"}),
         f"{SPAN_PATH}.spanId: invalid hex id 'ee e1 9b 7e c3 c1 b1 74'"),
        (one_span_doc({"parentSpanId": "éé"}), f"{SPAN_PATH}.parentSpanId: invalid hex id 'éé'"),
        (one_span_doc({"traceId": 12}), f"{SPAN_PATH}.traceId: want a hex string, got number"),
        (one_span_doc({"startTimeUnixNano": "12abc"}),
         f"{SPAN_PATH}.startTimeUnixNano: invalid unsigned integer '12abc'"),
        (one_span_doc({"startTimeUnixNano": -1}),
         f"{SPAN_PATH}.startTimeUnixNano: integer -1 out of range [0, 18446744073709551615]"),
        (one_span_doc({"startTimeUnixNano": 1.5}),
         f"{SPAN_PATH}.startTimeUnixNano: want an unsigned integer, got number"),
        (one_span_doc({"flags": 2**32}), f"{SPAN_PATH}.flags: integer 4294967296 out of range [0, 4294967295]"),
        (one_span_doc({"droppedEventsCount": " 1"}), f"{SPAN_PATH}.droppedEventsCount: invalid unsigned integer ' 1'"),
        (one_span_doc({"attributes": {"k": "v"}}), f"{SPAN_PATH}.attributes: want an array, got object"),
        (one_span_doc({"attributes": ["k"]}), f"{SPAN_PATH}.attributes[0]: want an object, got string"),
        (one_span_doc({"attributes": [{"key": "a", "value": {}}, {"key": 5}]}),
         f"{SPAN_PATH}.attributes[1].key: want a string, got number"),
        (one_span_doc({"attributes": [{"key": "a", "value": "v"}]}),
         f"{SPAN_PATH}.attributes[0].value: want an object, got string"),
        (one_span_doc({"attributes": [{"key": "a", "value": {"intValue": "1_000"}}]}),
         f"{SPAN_PATH}.attributes[0].value.intValue: invalid integer '1_000'"),
        (one_span_doc({"attributes": [{"key": "a", "value": {"intValue": 2**63}}]}),
         f"{SPAN_PATH}.attributes[0].value.intValue: integer 9223372036854775808 out of int64 range"),
        (one_span_doc({"attributes": [{"key": "a", "value": {"boolValue": "true"}}]}),
         f"{SPAN_PATH}.attributes[0].value.boolValue: want a boolean, got string"),
        (one_span_doc({"attributes": [{"key": "a", "value": {"doubleValue": "fast"}}]}),
         f"{SPAN_PATH}.attributes[0].value.doubleValue: invalid number 'fast'"),
        (one_span_doc({"attributes": [{"key": "a", "value": {"bytesValue": "!!"}}]}),
         f"{SPAN_PATH}.attributes[0].value.bytesValue: invalid base64 '!!'"),
        (one_span_doc({"attributes": [{"key": "a", "value": {"arrayValue": {"values": [{}, {"intValue": []}]}}}]}),
         f"{SPAN_PATH}.attributes[0].value.arrayValue.values[1].intValue: want an integer, got array"),
        (one_span_doc({"attributes": [
            {"key": "a", "value": {"kvlistValue": {"values": [{"key": "b", "value": {"stringValue": 1}}]}}}]}),
         f"{SPAN_PATH}.attributes[0].value.kvlistValue.values[0].value.stringValue: want a string, got number"),
        (one_span_doc({"attributes": [{"key": "a", "value": {"arrayValue": []}}]}),
         f"{SPAN_PATH}.attributes[0].value.arrayValue: want an object, got array"),
        (one_span_doc({"events": [{"name": "e"}, {"attributes": [{"key": "a", "value": {"stringValue": None}}, 3]}]}),
         f"{SPAN_PATH}.events[1].attributes[1]: want an object, got number"),
        (one_span_doc({"links": [{"traceState": 1}]}), f"{SPAN_PATH}.links[0].traceState: want a string, got number"),
        (one_span_doc({"status": "ok"}), f"{SPAN_PATH}.status: want an object, got string"),
        ({"resourceSpans": [{"scopeSpans": [{"scope": {"version": 1}}]}]},
         "resourceSpans[0].scopeSpans[0].scope.version: want a string, got number"),
        ({"resource_spans": [{"scope_spans": [{"spans": [{"trace_id": "zz"}]}]}]},
         "resource_spans[0].scope_spans[0].spans[0].trace_id: invalid hex id 'zz'"),
    ],
)
def test_decode_errors(doc: dict, message: str) -> None:
    assert str(decode_error(doc)) == message


def test_error_position_in_longer_lists() -> None:
    spans = [{"name": f"s{i}"} for i in range(5)]
    spans[3]["traceId"] = "0102030405"
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": []}]}, {"scopeSpans": [{}, {"spans": spans}]}]}
    err = decode_error(doc, strict_ids=True)
    assert str(err) == "resourceSpans[1].scopeSpans[1].spans[3].traceId: length mismatch: want 16 bytes, got 5"
    assert err.path == "resourceSpans[1].scopeSpans[1].spans[3].traceId"
    assert err.reason == "length mismatch: want 16 bytes, got 5"
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("data", "start"),
    [
        ("", "invalid JSON: Expecting value"),
        ("{", "invalid JSON: Expecting property name"),
        ('{"resourceSpans": [}', "invalid JSON"),
        ('{"a": 1} x', "invalid JSON: Extra data"),
        ('{"a": NaN}', "invalid JSON: NaN is not a JSON value"),
        ('{"a": -Infinity}', "invalid JSON: -Infinity is not a JSON value"),
        (b'{"a": "\xff"}', "invalid UTF-8 at byte offset 7"),
        (b"\xef\xbb\xbf{}", "invalid JSON"),
        ("[]", "top-level value must be a JSON object, got array"),
        ("5", "top-level value must be a JSON object, got number"),
        ('"x"', "top-level value must be a JSON object, got string"),
        ("null", "top-level value must be a JSON object, got null"),
        ("[" * 5000 + "]" * 5000, "invalid JSON: nesting too deep"),
        ('{"x": ' + "[" * 100000 + "]" * 100000 + "}", "invalid JSON: nesting too deep"),
        ('{"n": 1' + "0" * 5000 + "}", "invalid JSON"),
    ],
)
def test_decode_invalid_documents(data: str | bytes, start: str) -> None:
    err = decode_error(data)
    assert str(err).startswith(start), str(err)
    assert err.path == ""


def test_deeply_nested_any_value_5000_levels() -> None:
    value = '{"stringValue":"leaf"}'
    for _ in range(5000):
        value = '{"arrayValue":{"values":[' + value + "]}}"
    data = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":' + value + "}]}]}]}]}"
    err = decode_error(data)
    assert "nesting too deep" in str(err) or "nesting deeper" in str(err)


def test_lone_surrogate_is_a_decode_error() -> None:
    err = decode_error('{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"\\ud800"}]}]}]}')
    assert str(err) == f"{SPAN_PATH}.name: string is not valid Unicode (lone surrogate)"
    err = decode_error('{"resourceSpans":[{"resource":{"attributes":[{"key":"\\udfff"}]}}]}')
    assert str(err) == "resourceSpans[0].resource.attributes[0].key: string is not valid Unicode (lone surrogate)"


def test_decode_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        decode_traces_json(5)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Response messages
# --------------------------------------------------------------------------


def test_encode_responses_like_the_collector() -> None:
    assert encode_message_json(ExportTraceServiceResponse()) == '{"partialSuccess":{}}'
    partial = ExportTraceServiceResponse(
        partial_success=ExportTracePartialSuccess(rejected_spans=3, error_message="3 spans had bad ids")
    )
    want = '{"partialSuccess":{"rejectedSpans":"3","errorMessage":"3 spans had bad ids"}}'
    assert encode_message_json(partial) == want
    status = status_pb2.Status(code=3, message='invalid "json"')
    assert encode_message_json(status) == '{"code":3,"message":"invalid \\"json\\""}'
    assert encode_message_json(status_pb2.Status()) == "{}"


def test_encode_status_with_retry_info_detail() -> None:
    from google.protobuf.duration_pb2 import Duration
    from google.rpc import error_details_pb2

    status = status_pb2.Status(code=14, message="busy")
    status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=Duration(seconds=30)))
    doc = json.loads(encode_message_json(status))
    assert doc == {
        "code": 14,
        "message": "busy",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}],
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("AP8Q", b"\x00\xff\x10"), ("AP8", b"\x00\xff"), ("AP8=", b"\x00\xff"), ("_-8", b"\xff\xef"), ("", b"")],
)
def test_bytes_value_base64_variants(raw: str, expected: bytes) -> None:
    attrs = [{"key": "b", "value": {"bytesValue": raw}}]
    req = decode_traces_json(json.dumps(one_span_doc({"attributes": attrs})))
    assert req.resource_spans[0].scope_spans[0].spans[0].attributes[0].value.bytes_value == expected
