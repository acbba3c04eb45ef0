"""Decoding one attribute: a `KeyValue`'s wire bytes to a model `Attribute`.

The model's `AttributeTable` interns attributes by their wire bytes; only a pair never
seen before reaches `decode_key_value`, which decodes it with the official `KeyValue`
message and so also validates it (UTF-8, nesting, wire types).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.model import Attribute, AttributeTable
from kubespan.otlp import compiled


class InvalidAttribute(ValueError):
    """A `KeyValue` on the wire that the official decoder refuses."""


def new_attribute_table() -> AttributeTable:
    """A table whose first sightings are decoded and validated as OTLP `KeyValue`s.

    Where the compiled decoder is built, each generation is an `AttributeStore`: the pairs are
    kept as their wire bytes (about 60 bytes for a distinct pair, against 350 as Python objects),
    the C walk interns straight into it, and `attributes[i]` decodes an `Attribute` when asked.
    """
    store = compiled.AttributeStore
    if store is None:
        return AttributeTable(decode_key_value)
    return AttributeTable(decode_key_value, storage=lambda: store(decode_key_value, Attribute))


def any_value_to_python(value: AnyValue) -> tuple[Any, str]:
    """Convert an `AnyValue` to (python value, type name) without recursion limits of our own."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value, "str"
    if which == "int_value":
        return value.int_value, "int"
    if which == "bool_value":
        return value.bool_value, "bool"
    if which == "double_value":
        return value.double_value, "double"
    if which == "bytes_value":
        return value.bytes_value, "bytes"
    if which == "array_value":
        return [any_value_to_python(v)[0] for v in value.array_value.values], "array"
    if which == "kvlist_value":
        return {kv.key: any_value_to_python(kv.value)[0] for kv in value.kvlist_value.values}, "kvlist"
    return None, "empty"


_scalar_key_value = compiled.scalar_key_value
_SHARED_KEYS: dict[str, str] = {}
SHARED_KEYS = 4096
"""Distinct keys kept as one shared str each (as csrc/key_value.c does); bounded, so that a
request of 100,000 distinct keys does not grow a table that never shrinks."""


def _shared_key(key: str) -> str:
    found = _SHARED_KEYS.get(key)
    if found is None:
        if len(_SHARED_KEYS) < SHARED_KEYS:
            _SHARED_KEYS[key] = key
        return key
    return found
_NESTED = ("array_value", "kvlist_value")
_SPAN_ATTRIBUTE_PATH = (9, 2, 2, 1)
"""Field numbers from a span attribute up to its request: Span.attributes,
ScopeSpans.spans, ResourceSpans.scope_spans, ExportTraceServiceRequest.resource_spans."""


def decode_key_value(raw: bytes) -> Attribute:
    """Decode one `KeyValue` from its wire bytes, raising `InvalidAttribute` if invalid.

    Arrays and maps are parsed again where a span attribute sits in a request, so
    protobuf's nesting limit counts the same levels as for the whole request: whatever
    is accepted here, every writer can parse again as an `ExportTraceServiceRequest`.
    A scalar value (string, int, double, bool) is read by the compiled decoder when it is
    built (`compiled.scalar_key_value`, about 10× cheaper); it answers None for anything
    else, and this official path decides. Keys are shared: one `str` per distinct key (the
first 4,096 distinct keys).
    """
    if _scalar_key_value is not None:
        found = _scalar_key_value(raw)
        if found is not None:
            return Attribute(*found)
    try:
        kv = KeyValue.FromString(raw)
        if kv.value.WhichOneof("value") in _NESTED:
            kv = _parse_at_span_depth(raw)
        value, kind = any_value_to_python(kv.value)
    except (DecodeError, RecursionError) as exc:
        raise InvalidAttribute(f"undecodable attribute: {exc}") from None
    return Attribute(_shared_key(kv.key), value, kind)


def _parse_at_span_depth(raw: bytes) -> KeyValue:
    for number in _SPAN_ATTRIBUTE_PATH:
        raw = _length_delimited(number, raw)
    request = ExportTraceServiceRequest.FromString(raw)
    return request.resource_spans[0].scope_spans[0].spans[0].attributes[0]


def _length_delimited(number: int, payload: bytes) -> bytes:
    """Field `number` (wire type 2) holding `payload`, as protobuf encodes it."""
    out = bytearray([number << 3 | 2])
    length = len(payload)
    while length > 0x7F:
        out.append(length & 0x7F | 0x80)
        length >>= 7
    out.append(length)
    return bytes(out) + payload
