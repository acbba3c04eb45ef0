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
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

Scalar = str | int | float | bool | bytes | None

MAX_VALUE_NESTING = 30
"""Deepest array/kvlist nesting accepted in an attribute value, as in the OTLP/JSON decoder.

Deeper values pass protobuf's recursion limit (100 messages) on their own but not inside a
whole request, which every writer parses with the official message.
"""


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


def nesting(value: Any) -> int:
    """How many lists/dicts nest in a python attribute value (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (list, dict)):
            level += 1
            stack.extend((item, level) for item in (value.values() if isinstance(value, dict) else value))
        deepest = max(deepest, level)
    return deepest


def checked_value(value: AnyValue) -> tuple[Any, str]:
    """`any_value_to_python`, raising `InvalidAttribute` beyond `MAX_VALUE_NESTING` levels."""
    python, kind = any_value_to_python(value)
    if nesting(python) > MAX_VALUE_NESTING:
        raise InvalidAttribute(f"value nesting deeper than {MAX_VALUE_NESTING} levels")
    return python, kind


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


def decode_key_value(raw: bytes) -> Attribute:
    """Decode one `KeyValue` from its wire bytes, raising `InvalidAttribute` if invalid."""
    try:
        kv = KeyValue.FromString(raw)
        value, kind = checked_value(kv.value)
    except (DecodeError, RecursionError) as exc:
        raise InvalidAttribute(f"undecodable attribute: {exc}") from None
    return Attribute(kv.key, value, kind)
