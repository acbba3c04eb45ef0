"""The hostile-input corpus: one line per request, with the answer kubespan must give.

Transports: "grpc" (raw message to TraceService/Export), "http" (protobuf POST) and
"json" (OTLP/JSON POST). `accepted` spans reach the consumers, `rejected` ones are
reported in `partial_success`. Answers follow the Collector's OTLP receiver, except
where proto_notes/receivers.md and proto_notes/security-hostile.md say otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tests.hostile import payloads as p

PROTO = ("grpc", "http")
HTTP = ("http",)
JSON = ("json",)
PROTOBUF_TYPE = {"Content-Type": "application/x-protobuf"}
JSON_TYPE = {"Content-Type": "application/json"}
LIMIT = 64 * p.MIB
"""The receivers' default `max_recv_mib`."""


@dataclass(frozen=True)
class Expect:
    grpc: str
    http: int
    accepted: int = 0
    rejected: int = 0
    invalid: int | None = None
    """`invalid_requests` counted; by default 1 for INTERNAL, 400 and 413, else 0."""

    def invalid_count(self, transport: str) -> int:
        if self.invalid is not None:
            return self.invalid
        if transport == "grpc":
            return int(self.grpc == "INTERNAL")  # over the limit never reaches kubespan
        return int(self.http in (400, 413))


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    transports: tuple[str, ...]
    expect: Expect
    headers: dict[str, str] | None = None
    """HTTP headers sent instead of the transport's usual Content-Type."""
    gzip: bool = False
    """Compressed by the client: gRPC message compression, or gzip with `Content-Encoding`."""
    method: str = "POST"
    big: bool = field(default=False, compare=False)
    """Also replayed against a `kubespan serve` process to bound its memory."""
    new_attributes: int = field(default=0, compare=False)
    """Distinct attributes the request brings, which the store keeps once accepted (the memory test allows for them)."""


def ok(accepted: int, rejected: int = 0) -> Expect:
    return Expect("OK", 200, accepted, rejected)


BAD = Expect("INTERNAL", 400)
"""Undecodable: grpc-go answers INTERNAL, the Collector's HTTP handler 400."""
TOO_LARGE = Expect("RESOURCE_EXHAUSTED", 413)
WRONG_TYPE = Expect("-", 415)
NOT_POST = Expect("-", 405)

BAD_UTF8 = b"bad \xff\xfe utf-8 \xc3"
ESCAPES = "\x1b[2J\x1b]8;;http://evil.example\x07click\x1b]8;;\x07\x07\x9b31m\r\u202eevil[bold red]x[/]"

CASES: list[Case] = [
    # --- framing: garbage and truncation
    Case("garbage", lambda: p.noise(4096), PROTO, BAD),
    Case("truncated_request", lambda: p.valid(3)[:-7], PROTO, BAD),
    Case("truncated_varint", lambda: b"\x0a\xff\xff\xff", PROTO, BAD),
    Case("length_overruns_message", lambda: b"\x0a\x10\x12\x00", PROTO, BAD),
    Case("length_claims_exabytes", lambda: b"\x0a" + p.varint(2**62) + b"x", PROTO, BAD),
    Case("unterminated_group", lambda: b"\x0b" + p.valid(1), PROTO, BAD),
    Case("field_number_zero", lambda: b"\x02\x00" + p.valid(1), PROTO, BAD),
    Case("empty_body", lambda: b"", PROTO, ok(0)),
    # --- wrong wire types for known fields
    # (kept as unknown fields, as protobuf parsers do; the Collector's generated code refuses them)
    Case("wire_type_resource_spans_varint", lambda: p.int_field(1, 7) + p.valid(1), PROTO, ok(1)),
    Case("wire_type_span_name_varint", lambda: p.request(p.span() + p.int_field(5, 1)), PROTO, ok(1)),
    Case("wire_type_trace_id_varint", lambda: p.request(p.span() + p.int_field(1, 5)), PROTO, ok(1)),
    # --- invalid UTF-8
    Case("utf8_span_name", lambda: p.request(p.span() + p.field(5, BAD_UTF8)), PROTO, BAD),
    Case("utf8_event_name", lambda: p.request(p.span() + p.field(11, p.field(2, BAD_UTF8))), PROTO, BAD),
    Case("utf8_resource_attribute", lambda: p.request(p.span(), resource=p.field(1, p.attribute(b"k", p.string_value(BAD_UTF8)))), PROTO, BAD),
    Case("utf8_span_attribute_value", lambda: p.request(p.span(1) + p.field(9, p.attribute(b"k", p.string_value(BAD_UTF8))), p.span(2)), PROTO, ok(1, 1)),
    Case("utf8_span_attribute_key", lambda: p.with_attributes(p.attribute(BAD_UTF8, p.string_value(b"v"))), PROTO, ok(0, 1)),
    # --- ids of the wrong length (each span rejected alone, the others kept)
    Case("trace_id_15_bytes", lambda: p.request(p.span(1, trace_id=bytes(range(1, 16))), p.span(2)), PROTO, ok(1, 1)),
    Case("span_id_9_bytes", lambda: p.request(p.span(1, span_id=b"123456789"), p.span(2)), PROTO, ok(1, 1)),
    Case("parent_id_3_bytes", lambda: p.request(p.span(1, parent_span_id=b"abc"), p.span(2)), PROTO, ok(1, 1)),
    Case("all_zero_ids", lambda: p.request(p.span(1, trace_id=bytes(16)), p.span(2, span_id=bytes(8)), p.span(3)), PROTO, ok(1, 2)),
    # --- nesting, size and count bombs
    Case("array_nested_5000", lambda: p.with_attributes(p.attribute(b"deep", p.nested_value(5000, "array"))), PROTO, ok(0, 1)),
    Case("kvlist_nested_5000", lambda: p.with_attributes(p.attribute(b"deep", p.nested_value(5000, "kvlist"))), PROTO, ok(0, 1)),
    Case("array_nested_at_request_limit", lambda: p.with_attributes(p.attribute(b"deep", p.nested_value(48, "array"))), PROTO, ok(0, 1)),
    Case("array_nested_below_limit", lambda: p.with_attributes(p.attribute(b"deep", p.nested_value(40, "array"))), PROTO, ok(1)),
    Case("attributes_100000", lambda: p.with_attributes(*(p.attribute(b"k%d" % i, p.int_field(3, i)) for i in range(100_000))), PROTO, ok(1), big=True,
         new_attributes=100_000),
    Case("span_name_10mb", lambda: p.request(p.span(name="n" * (10 * p.MIB))), PROTO, ok(1), big=True),
    Case("empty_spans_2_million", lambda: p.empty_spans(2_000_000), PROTO, BAD, big=True),
    Case("empty_scopes_2_million", lambda: p.empty_scopes(2_000_000), PROTO, BAD, big=True),
    Case("empty_resources_2_million", lambda: p.empty_resources(2_000_000), PROTO, BAD, big=True),
    Case("empty_spans_beside_a_valid_one", lambda: p.request(*[b""] * 50, p.span(1)), PROTO, ok(1, 50)),
    Case("empty_spans_among_2000_over_scan_size", lambda: p.request(*[p.span(i + 1) for i in range(2000)], *[b""] * 100), PROTO, ok(2000, 100)),
    Case("body_over_limit", lambda: p.zeros(LIMIT + 1), PROTO, TOO_LARGE, big=True),
    Case("gzip_bomb", lambda: p.zeros(LIMIT + p.MIB), PROTO, TOO_LARGE, gzip=True, big=True),
    # --- odd but valid content: accepted as the Collector does
    Case("times_negative_as_int64", lambda: p.request(p.span(start_time_unix_nano=2**64 - 1, end_time_unix_nano=2**63)), PROTO, ok(1)),
    Case("times_reversed", lambda: p.request(p.span(start_time_unix_nano=p.START_NS, end_time_unix_nano=1)), PROTO, ok(1)),
    Case("unknown_fields_everywhere", lambda: p.int_field(99, 1) + p.request(p.span() + p.field(1000, b"future"), resource=p.field(50, b"x"), scope_extra=p.int_field(77, 3)), PROTO, ok(1)),
    Case("duplicate_span_ids", lambda: p.request(p.span(1), p.span(1), p.span(1)), PROTO, ok(3)),
    Case("terminal_escapes_in_text", lambda: p.request(p.span(name=ESCAPES, status={"message": ESCAPES})), PROTO, ok(1)),
    # --- HTTP headers that lie
    Case("gzip_header_plain_body", p.valid, HTTP, BAD, headers={**PROTOBUF_TYPE, "Content-Encoding": "gzip"}),
    Case("gzip_truncated", lambda: p.gzipped(p.valid(50))[:-20], HTTP, BAD, headers={**PROTOBUF_TYPE, "Content-Encoding": "gzip"}),
    Case("gzip_twice_declared_once", lambda: p.gzipped(p.gzipped(p.valid(2))), HTTP, BAD, headers={**PROTOBUF_TYPE, "Content-Encoding": "gzip"}),
    Case("encoding_unknown", p.valid, HTTP, BAD, headers={**PROTOBUF_TYPE, "Content-Encoding": "br"}),
    Case("encoding_8k_header", p.valid, HTTP, BAD, headers={**PROTOBUF_TYPE, "Content-Encoding": "x" * 8000}),
    Case("json_body_as_protobuf", p.json_valid, HTTP, BAD),
    Case("protobuf_body_as_json", p.valid, HTTP, BAD, headers=JSON_TYPE),
    Case("content_type_text_plain", p.valid, HTTP, WRONG_TYPE, headers={"Content-Type": "text/plain"}),
    Case("content_type_missing", p.valid, HTTP, WRONG_TYPE, headers={}),
    Case("content_type_with_parameters", p.valid, HTTP, ok(2), headers={"Content-Type": 'application/x-protobuf; charset=utf-8; q="[bold]"'}),
    Case("content_type_control_char", p.valid, HTTP, Expect("-", 400, invalid=0), headers={"Content-Type": "application/x-protobuf; a=\x7f\x1b"}),
    Case("method_put", p.valid, HTTP, NOT_POST, method="PUT"),
    # --- OTLP/JSON
    Case("json_garbage", lambda: b"{not json at all", JSON, BAD),
    Case("json_truncated", lambda: p.json_valid()[:-9], JSON, BAD),
    Case("json_invalid_utf8", lambda: p.json_request({"name": "@@"}).replace(b"@@", BAD_UTF8), JSON, BAD),
    Case("json_lone_surrogate", lambda: p.json_request({"name": "\ud800"}), JSON, BAD),
    Case("json_top_level_array", lambda: b"[]", JSON, BAD),
    Case("json_spans_not_array", lambda: p.json_request(spans="spans"), JSON, BAD),
    Case("json_name_number", lambda: p.json_request({"name": 5}), JSON, BAD),
    Case("json_time_not_a_number", lambda: p.json_request({"startTimeUnixNano": "soon"}), JSON, BAD),
    Case("json_time_negative", lambda: p.json_request({"startTimeUnixNano": "-5"}), JSON, BAD),
    Case("json_int_4000_digits", lambda: p.json_request({"endTimeUnixNano": 0}).replace(b'"endTimeUnixNano": 0', b'"endTimeUnixNano": ' + b"9" * 4000), JSON, BAD),
    Case("json_nan_constant", lambda: p.json_request({"kind": 0}).replace(b'"kind": 0', b'"kind": NaN'), JSON, BAD),
    Case("json_kind_unknown_name", lambda: p.json_request({"kind": "SPAN_KIND_EVIL"}), JSON, BAD),
    Case("json_attributes_object", lambda: p.json_request({"attributes": {"k": "v"}}), JSON, BAD),
    Case("json_base64_trace_id", lambda: p.json_request({"traceId": "AQIDBAUGBwgJCgsMDQ4PEA=="}), JSON, BAD),
    Case("json_trace_id_15_bytes", lambda: p.json_request({"traceId": "01" * 15}), JSON, ok(0, 1)),
    Case("json_array_nested_5000", lambda: p.json_nested(5000, "array"), JSON, BAD),
    Case("json_kvlist_nested_5000", lambda: p.json_nested(5000, "kvlist"), JSON, BAD),
    Case("json_attributes_100000", lambda: p.json_many_attributes(100_000), JSON, ok(1), big=True,
         new_attributes=100_000),
    Case("json_span_name_10mb", lambda: p.json_request({"name": "n" * (10 * p.MIB)}), JSON, ok(1), big=True),
    Case("json_empty_spans_1_million", lambda: p.json_empty_spans(1_000_000), JSON, BAD, big=True),
    Case("json_unknown_fields", lambda: p.json_request({"futureField": {"x": [1, 2]}, "kind": "SPAN_KIND_SERVER"}), JSON, ok(1)),
    Case("json_times_reversed", lambda: p.json_request({"startTimeUnixNano": "9", "endTimeUnixNano": 1}), JSON, ok(1)),
    Case("json_terminal_escapes", lambda: p.json_request({"name": ESCAPES}), JSON, ok(1)),
]
