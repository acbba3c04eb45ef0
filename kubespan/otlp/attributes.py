"""Interned attributes: each distinct `KeyValue` is decoded once, then known by a small int.

Kubernetes spans repeat the same (key, value) pairs endlessly: namespaces, pods,
methods, status codes. The edge decoder looks up the raw wire bytes of each
attribute in `AttributeTable`; only a pair never seen before is decoded with the
official `KeyValue` message, which also validates it (UTF-8, nesting, wire types).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.otlp import compiled

Scalar = str | int | float | bool | bytes | None


@dataclass(frozen=True, slots=True)
class Attribute:
    """One decoded (key, value) pair. `value` is a scalar, or JSON-like for arrays and maps."""

    key: str
    value: Any
    type: str  # "str", "int", "double", "bool", "bytes", "array", "kvlist", "empty"

    def text(self) -> str:
        """The value as a user would type it in a filter: no quotes, no type."""
        return value_text(self.value)


class InvalidAttribute(ValueError):
    """A `KeyValue` on the wire that the official decoder refuses."""


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


def value_text(value: Any) -> str:
    """Render a python attribute value as plain text (used by filters and the UI)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, default=lambda b: b.hex() if isinstance(b, bytes) else str(b))
    if value is None:
        return ""
    return str(value)


class AttributeTable:
    """Intern table from raw `KeyValue` bytes to dense ids, with the decoded pair per id.

    Reads are lock-free (a dict lookup under the GIL); only a first sighting takes
    the lock. `max_entries` bounds the table; `clear()` is for owners that hold no ids.
    """

    def __init__(self) -> None:
        self._ids: dict[bytes, int] = {}
        self.attributes: list[Attribute] = []
        self._lock = threading.Lock()
        self.lookup = self._ids.get
        self.compiled_ids = compiled.BytesCache(self.intern) if compiled.BytesCache else None
        """The ids again, for the compiled decoder to look wire slices up in (its misses intern)."""

    def __len__(self) -> int:
        return len(self.attributes)

    def intern(self, raw: bytes) -> int:
        """Return the id of `raw`, decoding and validating it on first sight."""
        found = self._ids.get(raw)
        if found is not None:
            return found
        attribute = decode_key_value(raw)
        with self._lock:
            found = self._ids.get(raw)
            if found is None:
                found = len(self.attributes)
                self.attributes.append(attribute)
                self._ids[raw] = found
            return found

    def intern_all(self, raws) -> list[int]:
        """Ids of a span's attributes; the common case costs one C-level map."""
        ids = list(map(self.lookup, raws))
        if None in ids:
            ids = [self.intern(raw) for raw in raws]
        return ids


_NESTED = ("array_value", "kvlist_value")
_SPAN_ATTRIBUTE_PATH = (9, 2, 2, 1)
"""Field numbers from a span attribute up to its request: Span.attributes,
ScopeSpans.spans, ResourceSpans.scope_spans, ExportTraceServiceRequest.resource_spans."""


def decode_key_value(raw: bytes) -> Attribute:
    """Decode one `KeyValue` from its wire bytes, raising `InvalidAttribute` if invalid.

    Arrays and maps are parsed again where a span attribute sits in a request, so
    protobuf's nesting limit counts the same levels as for the whole request: whatever
    is accepted here, every writer can parse again as an `ExportTraceServiceRequest`.
    """
    try:
        kv = KeyValue.FromString(raw)
        if kv.value.WhichOneof("value") in _NESTED:
            kv = _parse_at_span_depth(raw)
        value, kind = any_value_to_python(kv.value)
    except (DecodeError, RecursionError) as exc:
        raise InvalidAttribute(f"undecodable attribute: {exc}") from None
    return Attribute(kv.key, value, kind)


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
