"""Client text made inert: the one table of characters that act on a terminal.

Span names, attribute keys and values and HTTP headers come from the network. Where
kubespan shows them (the TUI, `--print`, error messages) or writes them where a
terminal may read them (`--jsonl`, `kubespan filter`), the characters that could act on
a terminal or hide what is shown are replaced by a visible escape: C0 and C1 controls
(ESC, BEL, CR, LF, CSI, ...), DEL, bidi marks, overrides and isolates, zero-width and
invisible characters, line and paragraph separators, the byte-order mark and the
interlinear annotation characters. Everything else, Rich-style markup included, is
plain text to a terminal.

`TERMINAL_ACTIVE` is the only definition: the escapes for text, the TUI's pattern, the
JSON writers' `\\uXXXX` escapes and the compiled JSON writer's table
(kubespan/otlp/csrc/generated.h, written from this and checked by a test) all come
from it.
"""

from __future__ import annotations

import re

TERMINAL_ACTIVE: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F),  # C0 controls: ESC, BEL, BS, CR, LF, TAB, ...
    (0x007F, 0x009F),  # DEL and C1 controls (CSI, OSC, ST as single code points)
    (0x061C, 0x061C),  # Arabic letter mark
    (0x200B, 0x200F),  # zero-width space, joiners, LRM, RLM
    (0x2028, 0x202E),  # line and paragraph separators, bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated formats
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte-order mark)
    (0xFFF9, 0xFFFB),  # interlinear annotation anchor, separator, terminator
)
"""Inclusive code point ranges of the characters that act on a terminal or hide text."""

LINE_CHARACTERS = "\t\n"
"""Kept as they are where a value may span lines (multi-line values, `--print`)."""

EXCERPT_LIMIT = 64
"""Characters of client text an error message quotes."""

_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape_of(code: int) -> str:
    return _SHORT.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


_ESCAPES = {code: _escape_of(code) for low, high in TERMINAL_ACTIVE for code in range(low, high + 1)}
_ESCAPES_KEEPING_LINES = {code: text for code, text in _ESCAPES.items() if chr(code) not in LINE_CHARACTERS}


def _character_class(codes: set[int]) -> str:
    """A regular-expression class matching exactly `codes`, as ranges."""
    parts: list[list[int]] = []
    for code in sorted(codes):
        if parts and parts[-1][1] == code - 1:
            parts[-1][1] = code
        else:
            parts.append([code, code])
    ranges = (re.escape(chr(low)) + ("-" + re.escape(chr(high)) if high > low else "") for low, high in parts)
    return "[" + "".join(ranges) + "]"


UNSAFE = re.compile(_character_class(set(_ESCAPES)))
"""Any character of the table (for drawing escapes in their own style)."""
UNSAFE_KEEPING_LINES = re.compile(_character_class(set(_ESCAPES_KEEPING_LINES)))
"""Any character of the table but tab and line feed."""
UNSAFE_IN_JSON = re.compile(_character_class({code for code in _ESCAPES if code >= 0x7F}))
"""The characters JSON may carry raw that the JSON writers escape (JSON escapes C0 itself)."""


def escape_char(char: str) -> str:
    """The visible escape for one character of the table: `\\x1b`, `\\t`, `\\u202e`."""
    return _escape_of(ord(char))


def escape(text: str, *, keep_lines: bool = False) -> str:
    """`text` with every character of the table replaced by its visible escape.

    With `keep_lines`, tab and line feed stay as they are (multi-line values).
    """
    if text.isprintable():
        return text
    return text.translate(_ESCAPES_KEEPING_LINES if keep_lines else _ESCAPES)


def escape_keeping_lines(text: str) -> str:
    """`escape` for multi-line output (`--print`): tab and line feed stay as they are."""
    return escape(text, keep_lines=True)


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """At most `limit` characters of `text`, escaped, with `…` when cut."""
    if len(text) <= limit:
        return escape(text)
    return escape(text[:limit]) + "…"


def quoted(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """`excerpt` between single quotes: client text named in an error message."""
    return f"'{excerpt(text, limit)}'"
