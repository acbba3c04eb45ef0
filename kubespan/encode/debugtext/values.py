"""Attribute values as the debug exporter prints them after ``key: ``: ``Str(x)``,
``Map({...})`` in the current format, ``STRING(x)``, ``SLICE([a, b])`` in the legacy one."""

from __future__ import annotations

from typing import Iterable

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.encode.debugtext.go_json import go_json
from kubespan.encode.debugtext.nested import Item, Push, push_items, write_nested
from kubespan.encode.debugtext.scalars import base64_text, format_double, format_double_legacy
from kubespan.encode.inert import escape_keeping_lines as inert

# ``WhichOneof("value")`` -> type name.
TYPE_NAMES = {
    "string_value": "Str", "bool_value": "Bool", "int_value": "Int", "double_value": "Double",
    "array_value": "Slice", "kvlist_value": "Map", "bytes_value": "Bytes", None: "Empty",
}
LEGACY_TYPE_NAMES = {
    "string_value": "STRING", "bool_value": "BOOL", "int_value": "INT", "double_value": "DOUBLE",
    "array_value": "SLICE", "kvlist_value": "MAP", "bytes_value": "BYTES", None: "EMPTY",
}


def value_as_string(v: AnyValue, *, legacy: bool = False) -> str:
    """pdata ``Value.AsString()``."""
    w = v.WhichOneof("value")
    if w == "string_value":
        return v.string_value
    if w == "int_value":
        return str(v.int_value)
    if w == "double_value":
        return format_double(v.double_value)
    if w == "bool_value":
        return "true" if v.bool_value else "false"
    if w == "bytes_value":
        return base64_text(v.bytes_value)
    if w is None:
        return ""
    return go_json(v, legacy)


def _legacy_map(values: Iterable[KeyValue]) -> str:
    """v0.54 ``mapToString``: keys sorted (stable), values through ``AsString``."""
    parts = ["{\n"]
    for kv in sorted(values, key=lambda kv: kv.key):
        val = kv.value
        parts.append(f"     -> {inert(kv.key)}: {LEGACY_TYPE_NAMES[val.WhichOneof('value')]}"
                     f"({inert(value_as_string(val, legacy=True))})\n")
    parts.append("}")
    return "".join(parts)


_UNKNOWN = '<Unknown OpenTelemetry attribute value type "{}">'


def _legacy_render(v: AnyValue, push: Push) -> str:
    w = v.WhichOneof("value")
    if w == "string_value":
        return inert(v.string_value)
    if w == "int_value":
        return str(v.int_value)
    if w == "double_value":
        return format_double_legacy(v.double_value)
    if w == "bool_value":
        return "true" if v.bool_value else "false"
    if w == "array_value":
        push_items(push, v.array_value.values, ", ", "]")
        return "["
    if w == "kvlist_value":
        return _legacy_map(v.kvlist_value.values)
    return _UNKNOWN.format(LEGACY_TYPE_NAMES[w])


def _legacy_text(root: AnyValue) -> str:
    """v0.54 ``attributeValueToString`` (iterative over nested slices; anything else directly)."""
    if root.WhichOneof("value") != "array_value":
        return _legacy_render(root, _nothing_follows)
    return write_nested(root, _legacy_render) or ""


def _nothing_follows(item: Item) -> None:
    raise AssertionError("only a slice has items to push")


def value_to_string(v: AnyValue, *, legacy: bool = False) -> str:
    """An attribute value as printed after ``key: ``, e.g. ``Str(x)`` / ``STRING(x)``."""
    w = v.WhichOneof("value")
    if legacy:
        if w == "string_value":
            return "STRING(" + v.string_value + ")"
        return LEGACY_TYPE_NAMES[w] + "(" + _legacy_text(v) + ")"
    if w == "string_value":
        return "Str(" + v.string_value + ")"
    if w == "int_value":
        return f"Int({v.int_value})"
    return TYPE_NAMES[w] + "(" + value_as_string(v) + ")"
