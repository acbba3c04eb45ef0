"""Compact JSON of an attribute value as Go's ``encoding/json`` writes pdata's
``Value.AsRaw()``: sorted keys, Go's escaping (HTML-escaped in the legacy format), and
``""`` where Go's encoder fails. Iterative, so nesting depth is unbounded."""

from __future__ import annotations

import math

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

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
    out: list[str] = []
    ap = out.append
    stack: list[object] = [root]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if item.__class__ is str:
            ap(item)
            continue
        v: AnyValue = item  # type: ignore[assignment]
        w = v.WhichOneof("value")
        if w == "string_value":
            ap('"' + v.string_value.translate(esc) + '"')
        elif w == "int_value":
            ap(str(v.int_value))
        elif w == "double_value":
            d = v.double_value
            if d != d or d == _INF or d == -_INF:
                return ""
            ap(format_double(d))
        elif w == "bool_value":
            ap("true" if v.bool_value else "false")
        elif w == "bytes_value":
            raw = v.bytes_value
            # pdata copies bytes with append(nil, ...): empty becomes a nil slice.
            ap('"' + base64_text(raw) + '"' if raw or legacy else "null")
        elif w == "array_value":
            vals = v.array_value.values
            n = len(vals)
            if not n:
                ap("[]")
                continue
            ap("[")
            push("]")
            for i in range(n - 1, -1, -1):
                push(vals[i])
                if i:
                    push(",")
        elif w == "kvlist_value":
            entries: dict[str, AnyValue] = {}
            for kv in v.kvlist_value.values:
                entries[kv.key] = kv.value
            if not entries:
                ap("{}")
                continue
            ap("{")
            push("}")
            keys = sorted(entries)
            for i in range(len(keys) - 1, -1, -1):
                k = keys[i]
                push(entries[k])
                push('"' + k.translate(esc) + '":')
                if i:
                    push(",")
        else:
            ap("null")
    return "".join(out)
