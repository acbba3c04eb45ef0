"""Finding the parts of a metrics query in its text: where the metrics function's `|` is, where a
parenthesis or brace closes, where a field ends. Strings and braces are skipped, so a `|` or `)`
inside `{ name = "a|b" }` is never taken for syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kubespan.metrics.ast import FUNCTIONS
from kubespan.query.errors import QuerySyntaxError

_FUNCTION_AFTER_PIPE = re.compile(r"\s*(" + "|".join(FUNCTIONS) + r")\s*\(")
_HINTS = re.compile(r"\bwith\s*\(")


def _outside_strings(text: str, i: int, hi: int, clamp: bool = True) -> Iterator[tuple[int, str, int]]:
    """(offset, character, braces open after it) along text[i:hi], strings inside braces skipped.

    A `}` with no brace open leaves the count at 0 with `clamp`, else takes it below 0."""
    braces = 0
    while i < hi:
        ch = text[i]
        if ch in "\"`'" and braces:
            i = _skip_string(text, i, hi)
            continue
        if ch == "{":
            braces += 1
        elif ch == "}":
            braces = max(0, braces - 1) if clamp else braces - 1
        yield i, ch, braces
        i += 1


def find_metrics_pipe(text: str, lo: int, hi: int, any_depth: bool = False) -> int | None:
    """Offset of the `|` before a metrics function in text[lo:hi], at parenthesis depth 0 (or any)."""
    depth = 0
    second_bar = -1  # the second `|` of `||`
    for i, ch, braces in _outside_strings(text, lo, hi):
        if braces or i == second_bar:
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and (depth == 0 or any_depth):
            if text.startswith("||", i):
                second_bar = i + 1
            elif _FUNCTION_AFTER_PIPE.match(text, i + 1, hi):
                return i
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
    depth = 0
    for at, ch, braces in _outside_strings(text, i, hi):
        if braces:
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return at
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
    for _, ch, braces in _outside_strings(text, 0, stop, clamp=False):
        if not braces:
            depth += (ch == "(") - (ch == ")")
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
    """Offset of the `}` closing the `{` at `i`, skipping strings."""
    for at, ch, braces in _outside_strings(text, i, hi, clamp=False):
        if ch == "}" and braces == 0:
            return at
    raise QuerySyntaxError("missing '}'", max(i, hi) + 1)
