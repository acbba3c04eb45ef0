"""Compact JSON of an attribute value as Go's ``encoding/json`` writes pdata's
``Value.AsRaw()``: sorted keys, Go's escaping (HTML-escaped in the legacy format), and
``""`` where Go's encoder fails. Iterative, so nesting depth is unbounded."""

from __future__ import annotations

import math

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from kubespan.encode.debugtext.nested import Push, push_items, write_nested
from kubespan.encode.debugtext.scalars import base64_text, format_double

_INF = math.inf

_JSON_ESC: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_JSON_ESC.update({0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
                  0x2028: "\\u2028", 0x2029: "\\u2029"})
_JSON_ESC_LEGACY = dict(_JSON_ESC)  # Go 1.18: \b and \f as \u00XX, HTML escaped
_JSON_ESC_LEGACY.update({0x3C: "\\u003c", 0x3E: "\\u003e", 0x26: "\\u0026"})
_JSON_ESC.update({0x08: "\\b", 0x0C: "\\f"})  # Go >= 1.22, SetEscapeHTML(false) since v0.152


def go_json(root: AnyValue, legacy: bool) -> str:
    """Compact JSON of ``Value.AsRaw()`` as Go's ``json.Marshal`` writes it.

    Keys sorted, last duplicate wins, Empty -> null. Returns ``""`` when Go's
    encoder would fail (NaN or infinite double anywhere), like pdata does.
    Iterative, so nesting depth is unbounded.
    """
    esc = _JSON_ESC_LEGACY if legacy else _JSON_ESC

    def render(v: AnyValue, push: Push) -> str | None:
        w = v.WhichOneof("value")
        if w == "string_value":
            return '"' + v.string_value.translate(esc) + '"'
        if w == "int_value":
            return str(v.int_value)
        if w == "double_value":
            d = v.double_value
            return None if d != d or d == _INF or d == -_INF else format_double(d)
        if w == "bool_value":
            return "true" if v.bool_value else "false"
        if w == "bytes_value":
            raw = v.bytes_value
            # pdata copies bytes with append(nil, ...): empty becomes a nil slice.
            return '"' + base64_text(raw) + '"' if raw or legacy else "null"
        if w == "array_value":
            values = v.array_value.values
            if not values:
                return "[]"
            push_items(push, values, ",", "]")
            return "["
        if w == "kvlist_value":
            entries = {kv.key: kv.value for kv in v.kvlist_value.values}
            if not entries:
                return "{}"
            keys = sorted(entries)
            push_items(push, [entries[k] for k in keys], ",", "}", ['"' + k.translate(esc) + '":' for k in keys])
            return "{"
        return "null"

    return write_nested(root, render) or ""
