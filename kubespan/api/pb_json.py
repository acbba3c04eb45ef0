"""Protobuf JSON (as the HTTP API writes it) into a protobuf message, fast.

`google.protobuf.json_format.Parse` checks every field generically and takes ~80 ms for a 150 kB search
answer; the gRPC API converts every HTTP answer, so this does the same conversion with the field table
of each message type worked out once. It accepts what protobuf's JSON mapping writes (lowerCamel or
original field names, 64-bit integers as strings, bytes in base64, enums by name or number, `NaN` and
`Infinity` as strings) and ignores unknown fields; tests/api/test_pb_json.py checks it against
`json_format.Parse` on every golden answer.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache
from typing import Any, Callable, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

M = TypeVar("M", bound=Message)
_FLOATS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_INTS = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
         FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
         FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED32,
         FieldDescriptor.TYPE_SFIXED64}


def parse(body: bytes | str, message_type: Callable[[], M]) -> M:
    """`body` (protobuf JSON) as a new `message_type` message."""
    message = message_type()
    fill(message, json.loads(body))
    return message


def fill(message: Message, obj: dict[str, Any]) -> None:
    """Set `message`'s fields from a protobuf JSON object."""
    fields = _fields(message.DESCRIPTOR)
    for key, value in obj.items():
        field = fields.get(key)
        if field is None or value is None:
            continue
        name, kind, convert, entry_value = field
        if kind == "map":
            target = getattr(message, name)
            for map_key, item in value.items():
                if entry_value is None:
                    target[map_key] = convert(item)
                else:
                    fill(target[map_key], item)
        elif kind == "repeated_message":
            target = getattr(message, name)
            for item in value:
                fill(target.add(), item)
        elif kind == "repeated":
            getattr(message, name).extend(convert(item) for item in value)
        elif kind == "message":
            child = getattr(message, name)
            child.SetInParent()
            fill(child, value)
        else:
            setattr(message, name, convert(value))


@lru_cache(maxsize=None)
def _fields(descriptor: Descriptor) -> dict[str, tuple[str, str, Callable[[Any], Any], Any]]:
    """Per JSON key (json name and field name): (field name, kind, scalar converter, map value message)."""
    table: dict[str, tuple[str, str, Callable[[Any], Any], Any]] = {}
    for field in descriptor.fields:
        message_type = field.message_type
        if message_type is not None and message_type.GetOptions().map_entry:
            value_field = message_type.fields_by_name["value"]
            is_message = value_field.message_type is not None
            entry = (field.name, "map", _converter(value_field), value_field.message_type if is_message else None)
        elif message_type is not None:
            kind = "repeated_message" if _repeated(field) else "message"
            entry = (field.name, kind, _identity, None)
        else:
            entry = (field.name, "repeated" if _repeated(field) else "scalar", _converter(field), None)
        table[field.json_name] = entry
        table[field.name] = entry
    return table


def _repeated(field: FieldDescriptor) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 5.29 (`label` is gone in 7)
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)  # type: ignore[attr-defined]


def _identity(value: Any) -> Any:
    return value


def _converter(field: FieldDescriptor) -> Callable[[Any], Any]:
    if field.type in _INTS:
        return int
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return lambda value: _FLOATS[value] if isinstance(value, str) and value in _FLOATS else float(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return lambda value: base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value
                                              or "_" in value else None)
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        assert enum is not None
        return lambda value: enum.values_by_name[value].number if isinstance(value, str) else int(value)
    return _identity
