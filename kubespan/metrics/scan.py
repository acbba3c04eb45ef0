"""Finding the parts of a metrics query in its text: where the metrics function's `|` is, where a
parenthesis or brace closes, where a field ends. Strings and braces are skipped, so a `|` or `)`
inside `{ name = "a|b" }` is never taken for syntax.
"""

from __future__ import annotations

import re

from kubespan.metrics.ast import FUNCTIONS
from kubespan.query.errors import QuerySyntaxError

_FUNCTION_AFTER_PIPE = re.compile(r"\s*(" + "|".join(FUNCTIONS) + r")\s*\(")
_HINTS = re.compile(r"\bwith\s*\(")


def find_metrics_pipe(text: str, lo: int, hi: int, any_depth: bool = False) -> int | None:
    """Offset of the `|` before a metrics function in text[lo:hi], at parenthesis depth 0 (or any)."""
    depth = braces = 0
    i = lo
    while i < hi:
        ch = text[i]
        if ch in "\"`'" and braces:
            i = _skip_string(text, i, hi)
            continue
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces = max(0, braces - 1)
        elif braces == 0 and ch == "(":
            depth += 1
        elif braces == 0 and ch == ")":
            depth -= 1
        elif braces == 0 and ch == "|" and (depth == 0 or any_depth):
            if text.startswith("||", i):
                i += 2
                continue
            if _FUNCTION_AFTER_PIPE.match(text, i + 1, hi):
                return i
        i += 1
    return None


def _skip_string(text: str, i: int, hi: int) -> int:
    quote = text[i]
    i += 1
    while i < hi:
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return hi


def matching_paren(text: str, i: int, hi: int) -> int:
    """Offset of the `)` closing the `(` at `i`, skipping braces and strings; -1 if none."""
    depth = braces = 0
    while i < hi:
        ch = text[i]
        if ch in "\"`'" and braces:
            i = _skip_string(text, i, hi)
            continue
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces = max(0, braces - 1)
        elif braces == 0 and ch == "(":
            depth += 1
        elif braces == 0 and ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def hints_start(text: str) -> int | None:
    """Offset of a trailing `with (…)` outside braces and parentheses, if any."""
    for match in _HINTS.finditer(text):
        close = matching_paren(text, match.end() - 1, len(text))
        if close == len(text.rstrip()) - 1 and _depth_at(text, match.start()) == 0:
            return match.start()
    return None


def _depth_at(text: str, stop: int) -> int:
    """Parentheses and braces open at `stop` (strings inside braces skipped)."""
    depth = braces = 0
    i = 0
    while i < stop:
        ch = text[i]
        if ch in "\"`'" and braces:
            i = _skip_string(text, i, stop)
            continue
        braces += (ch == "{") - (ch == "}")
        if not braces:
            depth += (ch == "(") - (ch == ")")
        i += 1
    return depth + braces


def field_end(text: str, i: int, hi: int) -> int:
    """End of a field starting at `i`: the next `,` or `)` outside quotes."""
    while i < hi:
        ch = text[i]
        if ch == '"':
            i = _skip_string(text, i, hi)
            continue
        if ch in ",)":
            break
        i += 1
    while i > 0 and text[i - 1].isspace():
        i -= 1
    return i


def matching_brace(text: str, i: int, hi: int) -> int:
    braces = 0
    while i < hi:
        ch = text[i]
        if ch in "\"`'" and braces:
            i = _skip_string(text, i, hi)
            continue
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
            if braces == 0:
                return i
        i += 1
    raise QuerySyntaxError("missing '}'", i + 1)
