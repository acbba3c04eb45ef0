"""Hostile OTLP payloads, built in code: protobuf wire bytes and OTLP/JSON texts.

Everything is generated on demand (nothing large is committed). Protobuf payloads
are assembled from wire primitives so they can hold what the official messages
refuse to serialise: invalid UTF-8, wrong wire types, unterminated fields.
"""

from __future__ import annotations

import gzip
import hashlib
import json

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from kubespan.encode.otlp_json import encode_request_json
from kubespan.otlp.protowire import length_delimited, varint
from tests.support.requests import START_NS, k8s_request

TRACE_ID = bytes(range(1, 17))
MIB = 1024 * 1024


# ----------------------------------------------------------------------------- wire primitives


field = length_delimited
"""A length-delimited field (wire type 2)."""


def int_field(number: int, value: int) -> bytes:
    """A varint field (wire type 0)."""
    return varint(number << 3) + varint(value)


def span(index: int = 1, name: str = "hostile", **fields) -> bytes:
    """A valid span's wire bytes (official message), with optional field overrides."""
    values = dict(trace_id=TRACE_ID, span_id=index.to_bytes(8, "big"), name=name, kind=2,
                  start_time_unix_nano=START_NS, end_time_unix_nano=START_NS + 1_000_000)
    values.update(fields)
    return Span(**values).SerializeToString()


def request(*spans: bytes, resource: bytes = b"", scope_extra: bytes = b"") -> bytes:
    """An ExportTraceServiceRequest holding `spans` (raw span bytes) in one scope."""
    scope_spans = field(1, b"") + scope_extra + b"".join(field(2, s) for s in spans)
    return field(1, field(1, resource) + field(2, scope_spans))


def attribute(key: bytes, value: bytes) -> bytes:
    """A KeyValue from raw key bytes and raw AnyValue bytes."""
    return field(1, key) + field(2, value)


def string_value(raw: bytes) -> bytes:
    return field(1, raw)


def nested_value(levels: int, kind: str) -> bytes:
    """An AnyValue nested `levels` arrays (`array`) or maps (`kvlist`) deep."""
    value = string_value(b"bottom")
    for _ in range(levels):
        if kind == "array":
            value = field(5, field(1, value))  # AnyValue.array_value{values}
        else:
            value = field(6, field(1, attribute(b"k", value)))  # kvlist_value{values{key, value}}
    return value


def with_attributes(*attributes: bytes, name: str = "hostile") -> bytes:
    """A one-span request whose span carries the raw `attributes` (field 9)."""
    return request(span(1, name) + b"".join(field(9, a) for a in attributes))


def valid(spans: int = 2) -> bytes:
    return k8s_request(spans=spans).SerializeToString()


def noise(size: int) -> bytes:
    """Deterministic pseudo-random bytes."""
    block = b"".join(hashlib.sha256(bytes([i])).digest() for i in range(64))
    return (block * (size // len(block) + 1))[:size]


def empty_spans(count: int) -> bytes:
    """One scope holding `count` empty spans (2 bytes each)."""
    return field(1, field(2, b"\x12\x00" * count))


def empty_scopes(count: int) -> bytes:
    """One resource holding `count` empty ScopeSpans."""
    return field(1, b"\x12\x00" * count)


def empty_resources(count: int) -> bytes:
    return b"\x0a\x00" * count


def gzipped(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=1, mtime=0)


def zeros(size: int) -> bytes:
    return bytes(size)


# ----------------------------------------------------------------------------- OTLP/JSON


def json_request(span_fields: dict | None = None, *, spans: list | None = None) -> bytes:
    """A one-scope OTLP/JSON request; `span_fields` override a valid span's fields."""
    base = {"traceId": TRACE_ID.hex(), "spanId": "0102030405060708", "name": "hostile",
            "kind": 2, "startTimeUnixNano": str(START_NS), "endTimeUnixNano": str(START_NS + 1000)}
    base.update(span_fields or {})
    scope_spans = {"scope": {}, "spans": spans if spans is not None else [base]}
    document = {"resourceSpans": [{"resource": {}, "scopeSpans": [scope_spans]}]}
    return json.dumps(document).encode()


def json_valid() -> bytes:
    return encode_request_json(k8s_request(spans=2)).encode()


def json_nested(levels: int, kind: str) -> bytes:
    """A span attribute nested `levels` deep, written as text (json.dumps would recurse)."""
    if kind == "array":
        opening, closing = '{"arrayValue":{"values":[' * levels, "]}}" * levels
    else:
        opening, closing = '{"kvlistValue":{"values":[{"key":"k","value":' * levels, "}]}}" * levels
    value = opening + '{"stringValue":"bottom"}' + closing
    text = json_request({"attributes": [{"key": "deep", "value": "@@"}]}).decode()
    return text.replace('"@@"', value).encode()


def json_many_attributes(count: int) -> bytes:
    attributes = [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(count)]
    return json_request({"attributes": attributes})


def json_empty_spans(count: int) -> bytes:
    text = json_request(spans=[]).decode()
    return text.replace('"spans": []', '"spans": [' + ",".join(["{}"] * count) + "]").encode()
