"""Tests for kubespan.encode.debugtext (the ``--print`` output, Collector debug-exporter text).

Set KUBESPAN_UPDATE_GOLDEN=1 to rewrite the kubespan-made golden files (never two_spans.out,
which is the Collector's own fixture).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from kubespan.encode.debugtext import (
    format_double,
    format_double_legacy,
    format_id,
    format_timestamp,
    render_detailed,
    render_traces,
    summary_line,
    value_as_string,
    value_to_string,
)

GOLDEN = Path(__file__).parent.parent / "golden" / "debugtext"
I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1


# --------------------------------------------------------------------------- builders


def put(v: AnyValue, raw: Any) -> AnyValue:
    """Fill an AnyValue from a Python value (dict -> kvlist, list -> array, None -> empty)."""
    if raw is None:
        v.Clear()
    elif isinstance(raw, bool):
        v.bool_value = raw
    elif isinstance(raw, int):
        v.int_value = raw
    elif isinstance(raw, float):
        v.double_value = raw
    elif isinstance(raw, str):
        v.string_value = raw
    elif isinstance(raw, bytes):
        v.bytes_value = raw
    elif isinstance(raw, dict):
        v.kvlist_value.SetInParent()
        for k, x in raw.items():
            kv = v.kvlist_value.values.add()
            kv.key = k
            put(kv.value, x)
    elif isinstance(raw, list):
        v.array_value.SetInParent()
        for x in raw:
            put(v.array_value.values.add(), x)
    else:  # pragma: no cover
        raise TypeError(raw)
    return v


def val(raw: Any) -> AnyValue:
    return put(AnyValue(), raw)


def attrs(target, items) -> None:
    for k, x in items:
        kv = target.add()
        kv.key = k
        put(kv.value, x)


def ns(y: int, mo: int, d: int, h: int, mi: int, s: int, nanos: int) -> int:
    return calendar.timegm((y, mo, d, h, mi, s)) * 1_000_000_000 + nanos


def two_spans_request() -> ExportTraceServiceRequest:
    """Same data as the Collector's pdata testdata.GenerateTraces(2)."""
    start, event = ns(2020, 2, 11, 20, 26, 12, 321), ns(2020, 2, 11, 20, 26, 13, 123)
    end = ns(2020, 2, 11, 20, 26, 13, 789)
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attrs(rs.resource.attributes, [("resource-attr", "resource-attr-val-1")])
    spans = rs.scope_spans.add().spans
    a = spans.add(name="operationA", start_time_unix_nano=start, end_time_unix_nano=end,
                  dropped_attributes_count=1, trace_state="ot=th:0",
                  trace_id=bytes(range(0x01, 0x11)), span_id=bytes(range(0x11, 0x19)),
                  dropped_events_count=1)
    e0 = a.events.add(time_unix_nano=event, name="event-with-attr", dropped_attributes_count=2)
    attrs(e0.attributes, [("span-event-attr", "span-event-attr-val")])
    a.events.add(time_unix_nano=event, name="event", dropped_attributes_count=2)
    a.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    a.status.message = "status-cancelled"
    b = spans.add(name="operationB", start_time_unix_nano=start, end_time_unix_nano=end, dropped_links_count=3)
    l0 = b.links.add(dropped_attributes_count=4)
    attrs(l0.attributes, [("span-link-attr", "span-link-attr-val")])
    b.links.add(dropped_attributes_count=4)
    return req


def kubernetes_api_request() -> ExportTraceServiceRequest:
    """The k3s v1.27 apiserver span from the seed walkthrough (collector v0.54 sample)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attrs(rs.resource.attributes, [("service.name", "apiserver"),
                                   ("service.instance.id", "apiserver-ttvzbyvkxx2hwlx4d3zqs4tcwu")])
    ss = rs.scope_spans.add()
    ss.scope.name = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
    ss.scope.version = "semver:0.35.0"
    sp = ss.spans.add(
        trace_id=bytes.fromhex("03a7bf9008d54f02bcd4f14aa5438202"),
        span_id=bytes.fromhex("d7a10873192f7066"),
        name="KubernetesAPI",
        kind=trace_pb2.Span.SPAN_KIND_SERVER,
        start_time_unix_nano=ns(2023, 5, 18, 1, 51, 44, 954563708),
        end_time_unix_nano=ns(2023, 5, 18, 1, 51, 44, 957555323),
    )
    attrs(sp.attributes, [
        ("net.transport", "ip_tcp"),
        ("net.peer.ip", "127.0.0.1"),
        ("net.peer.port", 54678),
        ("net.host.ip", "127.0.0.1"),
        ("net.host.port", 6443),
        ("http.target", "/api/v1/namespaces/kube-system/pods/helm-install-traefik-crd-8w4wd"),
        ("http.server_name", "KubernetesAPI"),
        ("http.user_agent", "k3s/v1.27.1+k3s1 (linux/amd64) kubernetes/bc5b42c"),
        ("http.scheme", "https"),
        ("http.host", "127.0.0.1:6443"),
        ("http.flavor", "2"),
        ("http.method", "GET"),
        ("http.wrote_bytes", 4724),
        ("http.status_code", 200),
    ])
    return req


def rich_request() -> ExportTraceServiceRequest:
    """A kubelet span exercising every value type, events and a link."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add(schema_url="https://opentelemetry.io/schemas/1.12.0")
    attrs(rs.resource.attributes, [("service.name", "kubelet"), ("host.name", "k3d-tracingcluster-server-0")])
    ss = rs.scope_spans.add()
    ss.scope.name = "k8s.io/kubernetes/pkg/kubelet"
    attrs(ss.scope.attributes, [("scope.flag", True)])
    sp = ss.spans.add(
        trace_id=bytes.fromhex("2fb1aa0c5e15982f00000000000000aa"),
        span_id=bytes.fromhex("00000000000000ff"),
        parent_span_id=bytes.fromhex("0102030405060708"),
        name="syncPod",
        kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
        trace_state="ot=rv:abc;th:8",
        start_time_unix_nano=ns(2023, 5, 23, 11, 46, 41, 975000000),
        end_time_unix_nano=ns(2023, 5, 23, 11, 46, 43, 305000000),
        dropped_attributes_count=2,
    )
    sp.status.code = trace_pb2.Status.STATUS_CODE_OK
    attrs(sp.attributes, [
        ("k8s.pod", "default/echo-command"),
        ("k8s.pod.uid", "9a1c7c52-0d3f-4b59-a3a8-2d7e1b3f0c11"),
        ("k8s.pod.update_type", "create"),
        ("ratio", 0.25),
        ("tiny", 1e-7),
        ("huge", 1e21),
        ("whole", 3.0),
        ("ok", False),
        ("blob", b"\x00\x01\xfe\xff"),
        ("nothing", None),
        ("labels", {"tier": "<web>&", "app": "echo", "replicas": 2, "weights": [1.5, None, b"", "a\nb"]}),
        ("ports", [80, "443", [True, {"z": 1, "a": 2}], b"ok"]),
        ("empty.map", {}),
        ("empty.list", []),
        ("multi\nline", "first\nsecond"),
    ])
    ev = sp.events.add(name="About to write a response", time_unix_nano=ns(2023, 5, 23, 11, 46, 42, 0))
    attrs(ev.attributes, [("count", 3), ("nested", {"k": [1, 2]})])
    ln = sp.links.add(trace_id=bytes.fromhex("03a7bf9008d54f02bcd4f14aa5438202"),
                      span_id=bytes.fromhex("d7a10873192f7066"), trace_state="k=v")
    attrs(ln.attributes, [("link.kind", "caller")])
    return req


def check_golden(name: str, got: str) -> None:
    path = GOLDEN / name
    if os.environ.get("KUBESPAN_UPDATE_GOLDEN") and name != "two_spans.out":
        path.write_bytes(got.encode("utf-8"))
    assert got == path.read_bytes().decode("utf-8")


# --------------------------------------------------------------------------- golden


def test_two_spans_fixture_byte_exact() -> None:
    check_golden("two_spans.out", render_detailed(two_spans_request()))


def test_two_spans_print_output() -> None:
    blob = (GOLDEN / "two_spans.out").read_bytes().decode("utf-8")
    assert render_traces(two_spans_request()) == 'Traces\t{"resource spans": 1, "spans": 2}\n' + blob + "\n"


def test_two_spans_legacy() -> None:
    check_golden("two_spans.legacy.out", render_traces(two_spans_request(), legacy=True))


def test_kubernetes_api_current() -> None:
    check_golden("kubernetes_api.out", render_traces(kubernetes_api_request()))


def test_kubernetes_api_legacy() -> None:
    got = render_traces(kubernetes_api_request(), legacy=True)
    check_golden("kubernetes_api.legacy.out", got)
    # The seed's sample (trailing spaces stripped by the blog) is a slice of it.
    seed_lines = [
        "    Kind           : SPAN_KIND_SERVER",
        "    Start time     : 2023-05-18 01:51:44.954563708 +0000 UTC",
        "    Status code    : STATUS_CODE_UNSET",
        "     -> net.transport: STRING(ip_tcp)",
        "     -> net.peer.port: INT(54678)",
        "     -> http.flavor: STRING(2)",
        "     -> http.status_code: INT(200)",
    ]
    lines = [line.rstrip(" ") for line in got.split("\n")]
    for line in seed_lines:
        assert line in lines
    assert got.startswith('TracesExporter\t{"#spans": 1}\nResourceSpans #0\n')


def test_rich_span_current_and_legacy() -> None:
    check_golden("rich_span.out", render_traces(rich_request()))
    check_golden("rich_span.legacy.out", render_traces(rich_request(), legacy=True))


def test_entity_refs_block() -> None:
    # Collector fixture traces_with_entity_refs.out, plus the v0.142 Dropped* lines.
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    attrs(rs.resource.attributes, [("service.name", "my-service"), ("service.version", "1.0.0"),
                                   ("host.name", "server-01")])
    rs.resource.entity_refs.add(type="service", schema_url="https://opentelemetry.io/schemas/1.21.0",
                                id_keys=["service.name"], description_keys=["service.version"])
    rs.resource.entity_refs.add(type="host", id_keys=["host.name"])
    ss = rs.scope_spans.add()
    ss.scope.name = "test-scope"
    ss.spans.add(trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)), name="test-span")
    check_golden("entity_refs.out", render_detailed(req))
    assert "Resource entity refs" not in render_detailed(req, legacy=True)


# --------------------------------------------------------------------------- summary / empty


def test_empty_request_prints_nothing() -> None:
    assert render_traces(ExportTraceServiceRequest()) == ""
    req = ExportTraceServiceRequest()
    req.resource_spans.add().scope_spans.add()
    assert render_traces(req) == ""
    assert render_traces(req, legacy=True) == ""


def test_summary_counts_all_resource_spans() -> None:
    req = two_spans_request()
    req.resource_spans.add()  # no spans, still counted as a resource spans
    assert summary_line(req) == 'Traces\t{"resource spans": 2, "spans": 2}\n'
    assert summary_line(req, legacy=True) == 'TracesExporter\t{"#spans": 2}\n'
    assert render_traces(req).endswith("     -> DroppedAttributesCount: 4\nResourceSpans #1\nResource SchemaURL: \n\n")


def test_unknown_enums() -> None:
    req = ExportTraceServiceRequest()
    sp = req.resource_spans.add().scope_spans.add().spans.add(kind=7)
    sp.status.code = 9
    cur, old = render_detailed(req), render_detailed(req, legacy=True)
    assert "    Kind           : \n" in cur and "    Status code    : \n" in cur
    assert "    Kind           : 7\n" in old and "    Status code    : 9\n" in old


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(("x", "want"), [
    (1.0, "1"), (0.0, "0"), (-0.0, "-0"), (-2.5, "-2.5"), (0.1, "0.1"), (100.0, "100"),
    (18.6, "18.6"), (1.61803399, "1.61803399"), (1e-6, "0.000001"), (0.000001234, "0.000001234"),
    (1e-7, "1e-7"), (9e-9, "9e-9"), (1.5e-10, "1.5e-10"), (5e-324, "5e-324"), (1e-100, "1e-100"),
    (1e16, "10000000000000000"), (1e20, "100000000000000000000"),
    (123456789012345680000.0, "123456789012345680000"), (1e21, "1e+21"), (-1e21, "-1e+21"),
    (1.5e300, "1.5e+300"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (2.0**53, "9007199254740992"), (2.0**53 + 2, "9007199254740994"), (0.3 - 0.1, "0.19999999999999998"),
    (math.nan, "json: unsupported value: NaN"), (math.inf, "json: unsupported value: +Inf"),
    (-math.inf, "json: unsupported value: -Inf"),
])
def test_format_double(x: float, want: str) -> None:
    assert format_double(x) == want


@pytest.mark.parametrize(("x", "want"), [
    (1.0, "1"), (-0.0, "-0"), (0.1, "0.1"), (1e-7, "0.0000001"), (1e21, "1000000000000000000000"),
    (1.5e-10, "0.00000000015"), (123456789012345680000.0, "123456789012345680000"),
    (math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf"),
])
def test_format_double_legacy(x: float, want: str) -> None:
    assert format_double_legacy(x) == want


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_double_round_trips(x: float) -> None:
    assert float(format_double(x)) == x
    assert float(format_double_legacy(x)) == x


@pytest.mark.parametrize(("stamp", "want"), [
    (0, "1970-01-01 00:00:00 +0000 UTC"),
    (1_500_000_000, "1970-01-01 00:00:01.5 +0000 UTC"),
    (ns(2020, 2, 11, 20, 26, 12, 321), "2020-02-11 20:26:12.000000321 +0000 UTC"),
    (ns(2023, 5, 18, 1, 51, 44, 954563708), "2023-05-18 01:51:44.954563708 +0000 UTC"),
    (ns(2000, 2, 29, 23, 59, 59, 100), "2000-02-29 23:59:59.0000001 +0000 UTC"),
    (I64_MAX, "2262-04-11 23:47:16.854775807 +0000 UTC"),
    (2**63, "1677-09-21 00:12:43.145224192 +0000 UTC"),  # wraps to int64 min
    (U64_MAX, "1969-12-31 23:59:59.999999999 +0000 UTC"),  # wraps to -1ns
    (U64_MAX - 999_999_999, "1969-12-31 23:59:59 +0000 UTC"),
])
def test_format_timestamp(stamp: int, want: str) -> None:
    assert format_timestamp(stamp) == want


@given(st.integers(min_value=0, max_value=U64_MAX))
def test_format_timestamp_matches_datetime(stamp: int) -> None:
    signed = stamp - 2**64 if stamp >= 2**63 else stamp
    sec, frac = divmod(signed, 10**9)
    base = (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=sec)).strftime("%Y-%m-%d %H:%M:%S")
    want = base + (f".{frac:09d}".rstrip("0") if frac else "") + " +0000 UTC"
    assert format_timestamp(stamp) == want


def test_format_id() -> None:
    assert format_id(b"") == ""
    assert format_id(bytes(16)) == ""
    assert format_id(bytes(8)) == ""
    assert format_id(bytes(range(1, 17))) == "0102030405060708090a0b0c0d0e0f10"
    assert format_id(b"\x00\x00\xab") == "0000ab"  # wrong length: hex of what is there
    assert format_id(b"\xff" * 20) == "ff" * 20


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(("raw", "want"), [
    ("plain", "Str(plain)"),
    ("a\nb\x00\t<&>", "Str(a\nb\x00\t<&>)"),
    ("", "Str()"),
    (-(2**63), "Int(-9223372036854775808)"),
    (I64_MAX, "Int(9223372036854775807)"),
    (True, "Bool(true)"),
    (False, "Bool(false)"),
    (2.5, "Double(2.5)"),
    (b"\x01\x02\x03", "Bytes(AQID)"),
    (b"", "Bytes()"),
    (None, "Empty()"),
    ({}, "Map({})"),
    ([], "Slice([])"),
    ({"b": 1, "a": {"z": True, "y": [1, "x", None]}}, 'Map({"a":{"y":[1,"x",null],"z":true},"b":1})'),
    ([1e-7, 1e21, 1.0, -0.0, 2**53], "Slice([1e-7,1e+21,1,-0,9007199254740992])"),
    ({"bin": b"\xff\x00", "none": b""}, 'Map({"bin":"/wA=","none":null})'),
    ({"html": "<a href='x'>&</a>"}, """Map({"html":"<a href='x'>&</a>"})"""),
    ({"ctl": '"\\\x00\x01\x08\x0c\n\r\t\x1f\x7f\u2028\u2029é漢'},
     'Map({"ctl":"\\"\\\\\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\x7f\\u2028\\u2029é漢"})'),
    ({"k\n": 1, "K": 2, "é": 3, "z": 4}, 'Map({"K":2,"k\\n":1,"z":4,"é":3})'),
    ({"nan": [1, math.nan]}, "Map()"),
    ([math.inf], "Slice()"),
])
def test_value_to_string(raw: Any, want: str) -> None:
    assert value_to_string(val(raw)) == want


def test_map_duplicate_keys_last_wins() -> None:
    v = AnyValue()
    v.kvlist_value.values.add(key="a").value.int_value = 1
    v.kvlist_value.values.add(key="a").value.int_value = 2
    assert value_as_string(v) == '{"a":2}'
    assert value_to_string(v, legacy=True) == "MAP({\n     -> a: INT(1)\n     -> a: INT(2)\n})"


def test_kv_without_value_is_empty() -> None:
    req = ExportTraceServiceRequest()
    sp = req.resource_spans.add().scope_spans.add().spans.add()
    sp.attributes.add(key="bare")
    assert "     -> bare: Empty()\n" in render_detailed(req)
    unknown = '     -> bare: EMPTY(<Unknown OpenTelemetry attribute value type "EMPTY">)\n'
    assert unknown in render_detailed(req, legacy=True)


@pytest.mark.parametrize(("raw", "want"), [
    ("x", "STRING(x)"),
    (7, "INT(7)"),
    (1e21, "DOUBLE(1000000000000000000000)"),
    (math.nan, "DOUBLE(NaN)"),
    (True, "BOOL(true)"),
    (b"\x01", 'BYTES(<Unknown OpenTelemetry attribute value type "BYTES">)'),
    (["a", 1, ["x", 2.5], None], 'SLICE([a, 1, [x, 2.5], <Unknown OpenTelemetry attribute value type "EMPTY">])'),
    ([], "SLICE([])"),
    ({}, "MAP({\n})"),
    ({"b": "<x>", "a": {"n": [1, b""]}, "c": b"\x01"},
     'MAP({\n     -> a: MAP({"n":[1,""]})\n     -> b: STRING(<x>)\n     -> c: BYTES(AQ==)\n})'),
    ({"h": {"s": "<&>\x08"}}, 'MAP({\n     -> h: MAP({"s":"\\u003c\\u0026\\u003e\\u0008"})\n})'),
    ([{"k": 1}], "SLICE([{\n     -> k: INT(1)\n}])"),
])
def test_value_to_string_legacy(raw: Any, want: str) -> None:
    assert value_to_string(val(raw), legacy=True) == want


def test_deep_nesting_never_recurses() -> None:
    depth = 20_000
    root = AnyValue()
    cur = root
    for i in range(depth):
        cur = cur.kvlist_value.values.add(key="k").value if i % 2 else cur.array_value.values.add()
    cur.string_value = "leaf"
    half = depth // 2
    assert value_to_string(root) == "Slice(" + '[{"k":' * half + '"leaf"' + "}]" * half + ")"
    inner = '[{"k":' * (half - 1) + '"leaf"' + "}]" * (half - 1)
    assert value_to_string(root, legacy=True) == "SLICE([{\n     -> k: SLICE(" + inner + ")\n}])"
    req = ExportTraceServiceRequest()
    req.resource_spans.add().scope_spans.add().spans.add().attributes.add(key="deep").value.CopyFrom(root)
    assert render_traces(req).endswith("}])\n\n")
    deep_slices = AnyValue()
    cur = deep_slices
    for _ in range(depth):
        cur = cur.array_value.values.add()
    unknown = '<Unknown OpenTelemetry attribute value type "EMPTY">'
    assert value_to_string(deep_slices, legacy=True) == "SLICE(" + "[" * depth + unknown + "]" * depth + ")"


def test_huge_string() -> None:
    big = "x" * 5_000_000
    assert value_to_string(val(big)) == f"Str({big})"
    assert value_as_string(val({"s": big})) == '{"s":"' + big + '"}'


# --------------------------------------------------------------------------- property test

int64s = st.integers(min_value=-(2**63), max_value=I64_MAX)
leaves = st.one_of(st.none(), st.booleans(), int64s, st.floats(), st.text(max_size=20), st.binary(max_size=20))
values = st.recursive(
    leaves,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)),
    max_leaves=25,
)
attr_lists = st.lists(st.tuples(st.text(max_size=12), values), max_size=5)
uint32s = st.integers(min_value=0, max_value=2**32 - 1)
uint64s = st.integers(min_value=0, max_value=U64_MAX)
int32s = st.integers(min_value=-(2**31), max_value=2**31 - 1)

span_args = st.fixed_dictionaries({
    "name": st.text(max_size=20),
    "trace_id": st.binary(max_size=20),
    "span_id": st.binary(max_size=10),
    "parent_span_id": st.binary(max_size=10),
    "trace_state": st.text(max_size=20),
    "kind": int32s,
    "start_time_unix_nano": uint64s,
    "end_time_unix_nano": uint64s,
    "dropped_attributes_count": uint32s,
    "dropped_events_count": uint32s,
    "dropped_links_count": uint32s,
    "flags": uint32s,
})
span_specs = st.tuples(
    span_args, attr_lists, int32s, st.text(max_size=20),
    st.lists(st.tuples(st.text(max_size=10), uint64s, uint32s, attr_lists), max_size=2),
    st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=10), st.text(max_size=10), attr_lists), max_size=2),
)
requests = st.lists(
    st.tuples(attr_lists, st.text(max_size=10),
              st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10), attr_lists,
                                 st.lists(span_specs, max_size=3)), max_size=2)),
    max_size=2,
)


def build_request(spec) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for res_attrs, schema, scopes in spec:
        rs = req.resource_spans.add(schema_url=schema)
        attrs(rs.resource.attributes, res_attrs)
        for name, version, scope_attrs, spans in scopes:
            ss = rs.scope_spans.add()
            ss.scope.name, ss.scope.version = name, version
            attrs(ss.scope.attributes, scope_attrs)
            for args, span_attrs, code, message, events, links in spans:
                sp = ss.spans.add(**args)
                attrs(sp.attributes, span_attrs)
                sp.status.code, sp.status.message = code, message
                for ev_name, t, dropped, ev_attrs in events:
                    attrs(sp.events.add(name=ev_name, time_unix_nano=t, dropped_attributes_count=dropped).attributes,
                          ev_attrs)
                for tid, sid, state, ln_attrs in links:
                    attrs(sp.links.add(trace_id=tid, span_id=sid, trace_state=state).attributes, ln_attrs)
    return req


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_render_never_raises(spec) -> None:
    req = build_request(spec)
    spans = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
    for legacy in (False, True):
        out = render_traces(req, legacy=legacy)
        assert isinstance(out, str)
        if spans:
            assert out.endswith("\n\n")
            current = f'Traces\t{{"resource spans": {len(req.resource_spans)}, "spans": {spans}}}\n'
            head = f'TracesExporter\t{{"#spans": {spans}}}\n' if legacy else current
            assert out.startswith(head + "ResourceSpans #0\n")
        else:
            assert out == ""
