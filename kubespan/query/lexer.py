"""TraceQL's lexer, token for token like Tempo's (`pkg/traceql/lexer.go`).

Go's `text/scanner` rules for strings (`"…"` with Go escapes, raw `` `…` ``), numbers and
identifiers; `//` and `/* */` comments are skipped; multi-character operators are found
by growing the token while the longer text is still a known token; a number directly
followed by duration units is a duration (`1h30m`, `1.5s`, `1d`). After `.`, `span.`,
`resource.`, `event.`, `link.`, `instrumentation.` or `parent.` the lexer reads an
attribute name: every rune up to whitespace or one of `{}()=~!<>&|^,`, with `"…"`
quoted parts (escapes `\\"` and `\\\\` only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kubespan.query.errors import QuerySyntaxError
from kubespan.query.literals import parse_duration

KEYWORDS = {
    "true", "false", "nil", "ok", "error", "unset", "unspecified", "internal", "server", "client", "producer",
    "consumer", "duration", "childCount", "name", "status", "statusMessage", "kind", "rootName",
    "rootServiceName", "rootService", "traceDuration", "nestedSetLeft", "nestedSetRight", "nestedSetParent", "id",
    "traceID", "spanID", "parentID", "timeSinceStart", "version", "parent", "count", "avg", "max", "min", "sum",
    "by", "coalesce", "select", "rate", "count_over_time", "min_over_time", "max_over_time", "avg_over_time",
    "sum_over_time", "quantile_over_time", "histogram_over_time", "compare", "topk", "bottomk", "with",
}
OPERATORS = {",", ".", "{", "}", "(", ")", "=", "!=", "=~", "!~", ">", ">=", "<", "<=", "+", "-", "/", "%", "*",
             "^", "&&", "||", "!", "|", ">>", "<<", "~", "!>", "!<", "!>>", "!<<", "&~", "&>", "&<", "&>>", "&<<"}
SCOPE_DOTS = {"span.", "resource.", "event.", "link.", "instrumentation.", "parent."}
SCOPE_COLONS = {"span:", "trace:", "event:", "link:", "instrumentation:"}
_NOT_ATTRIBUTE = set("{}()=~!<>&|^,")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
_DURATION_RUNES = set("nsumhµdwy")
_DIGITS = set("0123456789")


@dataclass(slots=True)
class Token:
    kind: str  # an operator or keyword text, "scope." / "scope:", or str int float duration ident attr eof
    column: int
    value: Any = None
    end: int = 0  # column just past the token


def is_attribute_rune(ch: str) -> bool:
    return not ch.isspace() and ch not in _NOT_ATTRIBUTE


def lex(text: str) -> list[Token]:
    """All tokens of `text` (an `eof` token last); `QuerySyntaxError` at the faulty column."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise QuerySyntaxError("comment not terminated", i + 1)
            i = end + 2
            continue
        start = i
        if ch == '"' or ch == "`":
            value, i = _string(text, i)
            tokens.append(Token("str", start + 1, value, i + 1))
        elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS and not _after_scope(tokens)):
            i = _number(text, i, tokens)
        elif ch.isalpha() or ch == "_":
            i = _ident_end(text, i)
            word = text[start:i]
            if i < n and word + text[i] in SCOPE_DOTS | SCOPE_COLONS:
                kind = word + text[i]
                tokens.append(Token(kind, start + 1, None, i + 2))
                i += 1
                if kind in SCOPE_DOTS:
                    i = _attribute(text, i, tokens, kind)
            else:
                tokens.append(Token(word if word in KEYWORDS else "ident", start + 1, word, i + 1))
        elif ch == ".":
            tokens.append(Token(".", start + 1, None, start + 2))
            i = _attribute(text, i + 1, tokens, ".")
        else:
            op = ch if ch in OPERATORS or ch == "&" else None
            if op is None:
                raise QuerySyntaxError(f"unexpected character {ch!r}", start + 1)
            while i + len(op) < n and op + text[i + len(op)] in OPERATORS:
                op += text[i + len(op)]
            if op == "&":
                raise QuerySyntaxError("unexpected character '&' (did you mean &&?)", start + 1)
            tokens.append(Token(op, start + 1, None, start + len(op) + 1))
            i += len(op)
    tokens.append(Token("eof", n + 1, None, n + 1))
    return tokens


def _ident_end(text: str, i: int) -> int:
    """Go's identifier runes: letters, `_`, then also decimal digits (not `²`)."""
    i += 1
    while i < len(text) and (text[i].isalpha() or text[i] == "_" or text[i].isdecimal()):
        i += 1
    return i


def _after_scope(tokens: list[Token]) -> bool:
    return bool(tokens) and tokens[-1].kind in SCOPE_DOTS


def _attribute(text: str, i: int, tokens: list[Token], scope: str) -> int:
    """The attribute name after a scope (`parent.` may be followed by `span.`/`resource.`)."""
    if scope == "parent.":
        for inner in ("span.", "resource."):
            if text.startswith(inner, i):
                tokens.append(Token(inner, i + 1, None, i + len(inner) + 1))
                i += len(inner)
                break
    start = i
    parts: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == '"':
            value, i = _quoted_attribute(text, i)
            parts.append(value)
        elif is_attribute_rune(ch):
            parts.append(ch)
            i += 1
        else:
            break
    if i == start:
        raise QuerySyntaxError("expected an attribute name", start + 1)
    tokens.append(Token("attr", start + 1, "".join(parts), i + 1))
    return i


def _quoted_attribute(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 < len(text) and text[i + 1] in '\\"':
                out.append(text[i + 1])
                i += 2
                continue
            raise QuerySyntaxError("invalid escape sequence in a quoted attribute name (only \\\" and \\\\)", i + 1)
        out.append(ch)
        i += 1
    raise QuerySyntaxError('unexpected end of query, expecting " to close the attribute name', start + 1)


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    i = start + 1
    if quote == "`":
        end = text.find("`", i)
        if end < 0:
            raise QuerySyntaxError("raw string literal not terminated", start + 1)
        return text[i:end].replace("\r", ""), end + 1
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        value, i = _escape(text, i)
        out.append(value)
    raise QuerySyntaxError("string literal not terminated", start + 1)


def _escape(text: str, i: int) -> tuple[str, int]:
    """One Go escape sequence at `text[i] == '\\'`."""
    if i + 1 >= len(text):
        raise QuerySyntaxError("escape sequence not terminated", i + 1)
    kind = text[i + 1]
    if kind in _GO_ESCAPES:
        return _GO_ESCAPES[kind], i + 2
    sizes = {"x": (2, 16), "u": (4, 16), "U": (8, 16)}
    if kind in sizes or kind in "01234567":
        size, base = sizes.get(kind, (3, 8))
        begin = i + 2 if kind in sizes else i + 1
        digits = text[begin:begin + size]
        try:
            if len(digits) != size:
                raise ValueError
            code = int(digits, base)
            if code > 0x10FFFF or (0xD800 <= code <= 0xDFFF and kind != "x") or (kind in "01234567" and code > 255):
                raise ValueError
        except ValueError:
            raise QuerySyntaxError("invalid escape sequence in string", i + 1) from None
        return chr(code), begin + size
    raise QuerySyntaxError(f"unknown escape sequence \\{kind} in string", i + 1)


def _number(text: str, i: int, tokens: list[Token]) -> int:
    start = i
    found = _NUMBER.match(text, i)
    assert found is not None  # called at a digit, or at '.' before a digit: the pattern matches either
    word = found.group()
    i += len(word)
    j = i
    while j < len(text) and not text[j].isspace() and (text[j] in _DIGITS or text[j] in _DURATION_RUNES
                                                        or text[j] == "."):
        j += 1
    if j > i:
        nanos = parse_duration(text[start:j])
        if nanos is not None and not word.lower().startswith("0x"):
            if abs(nanos) >= 1 << 63:
                raise QuerySyntaxError(f"duration {_clip(text[start:j])} out of range", start + 1)
            tokens.append(Token("dur", start + 1, nanos, j + 1))
            return j
    clean = word.replace("_", "")
    try:
        if clean.lower().startswith("0x"):
            value: int | float = int(clean, 16)
        elif any(c in clean for c in ".eE"):
            value = float(clean)
        else:
            value = int(clean)
    except ValueError:
        raise QuerySyntaxError(f"invalid number {_clip(word)}", start + 1) from None
    if isinstance(value, int):
        if value >= 1 << 63:
            raise QuerySyntaxError(f"number {_clip(word)} out of range", start + 1)
        tokens.append(Token("int", start + 1, value, i + 1))
    else:
        if value == float("inf"):
            raise QuerySyntaxError(f"number {_clip(word)} out of range", start + 1)
        tokens.append(Token("float", start + 1, value, i + 1))
    return i


def _clip(word: str) -> str:
    return repr(word if len(word) <= 24 else word[:20] + "…")
