"""Double-quoted strings as Go programs write them, in the three forms kubespan must match byte for byte.

Each form puts the text between `"` and escapes `"`, `\\`, newline, carriage return and tab the
same way (`\\"`, `\\\\`, `\\n`, `\\r`, `\\t`); they differ in what else they escape and how:

- `quote`: Go's `strconv.Quote`, in Tempo's and Go's error messages: BEL, BS, FF and VT as
  `\\a \\b \\f \\v`, other ASCII controls as `\\xHH`, other characters Go does not print as
  `\\uHHHH`/`\\UHHHHHHHH` (Python's `isprintable` goes by the categories Go's `unicode.IsPrint` does).
- `quote_traceql`: a TraceQL string literal as the query stringer writes it (the TraceQL lexer
  reads it back): other controls, DEL and lone surrogates as `\\uHHHH`, everything else as is.
- `quote_proto_text`: a string field in gogo-protobuf's text format (Tempo sorts metrics series
  by it): the UTF-8 bytes, every one outside printable ASCII as a three-digit octal escape.

A leaf module: it imports nothing of kubespan's, so the query engine, the API and metrics share it.
"""

from __future__ import annotations

import re
from typing import Callable

_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
"""The escapes every form writes the same way."""


def _replacer(escape: Callable[[str], str]) -> Callable[[re.Match[str]], str]:
    """For `re.sub`: a matched character's `_SHORT` form, else `escape(char)`."""

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return _SHORT.get(char) or escape(char)

    return replace


_GO_SHORT = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def _strconv_escape(char: str) -> str:
    code = ord(char)
    if char in _GO_SHORT:
        return _GO_SHORT[char]
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if char.isprintable():
        return char
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _unicode_escape(char: str) -> str:
    return f"\\u{ord(char):04x}"  # only controls, DEL and surrogates get here: all below U+10000


def _octal_escape(char: str) -> str:
    return f"\\{ord(char):03o}"  # one byte (the text is UTF-8 read as Latin-1)


_STRCONV = re.compile(r'["\\\x00-\x1f\x7f-\U0010ffff]')
_STRCONV_REPLACE = _replacer(_strconv_escape)
_TRACEQL = re.compile(r'["\\\x00-\x1f\x7f\ud800-\udfff]')
_TRACEQL_REPLACE = _replacer(_unicode_escape)
_PROTO_TEXT = re.compile(r'["\\\x00-\x1f\x7f-\xff]')
_PROTO_TEXT_REPLACE = _replacer(_octal_escape)


def quote(text: str) -> str:
    """Go's `strconv.Quote(text)`, as Go's own messages show a value (`parsing "x": invalid syntax`)."""
    return '"' + _STRCONV.sub(_STRCONV_REPLACE, text) + '"'


def quote_traceql(text: str) -> str:
    """`text` as a TraceQL string literal, as kubespan's query stringer writes it."""
    return '"' + _TRACEQL.sub(_TRACEQL_REPLACE, text) + '"'


def quote_proto_text(text: str) -> str:
    """`text` as gogo-protobuf's text format writes a string field (`"caf\\303\\251"`)."""
    return '"' + _PROTO_TEXT.sub(_PROTO_TEXT_REPLACE, text.encode("utf-8").decode("latin-1")) + '"'
