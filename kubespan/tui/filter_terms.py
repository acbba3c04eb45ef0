"""Filter text built from what the user picked: `f` adds an attribute, a pod becomes a filter.

Pure functions: the text is written in the filter's own syntax (shorthand or TraceQL).
"""

from __future__ import annotations

import re
from typing import Any

from kubespan.model import value_text

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/:]*$")


def quote_value(value: str) -> str:
    """A double-quoted string literal, as both the shorthand and TraceQL read it."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def combine_filter(current: str, key: str, value: Any, *, scope: str = "") -> str:
    """The filter `current` AND `key` equals `value`.

    TraceQL filters (starting with `{`) get a typed `&& { .key = value }` spanset,
    anything else a logfmt term `key="value"` (logfmt compares string forms).
    """
    current = current.strip()
    if current.startswith("{"):
        if key == "name":
            left = "name"
        elif key == "service":
            left = "resource.service.name"
        elif key == "kind":
            return _and_spanset(current, f"kind = {value}")
        else:
            prefix = {"resource": "resource.", "span": "span."}.get(scope, ".")
            left = prefix + (key if _BARE_KEY.match(key) else quote_value(key))
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, (int, float)):
            literal = repr(value)
        else:
            literal = quote_value(value_text(value))
        return _and_spanset(current, f"{left} = {literal}")
    term_key = key if _BARE_KEY.match(key) else quote_value(key)
    term = f"{term_key}={quote_value(value_text(value))}"
    return f"{current} {term}" if current else term


def _and_spanset(current: str, condition: str) -> str:
    """Merge into a lone `{ ... }` (same span), else AND another spanset (same trace)."""
    depth = 0
    in_string = None
    escaped = False
    for position, char in enumerate(current):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == in_string:
                in_string = None
        elif char in "\"`":
            in_string = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                if position == len(current) - 1:
                    inner = current[1:-1].strip()
                    return f"{{ {inner} && {condition} }}" if inner else f"{{ {condition} }}"
                break
    return f"{current} && {{ {condition} }}"
