"""Client text made inert for terminals and error messages.

Span names, attribute keys and values and HTTP headers come from the network. Where
kubespan writes them to a terminal (`--print`) or quotes them in an error, the
characters that could act on a terminal or hide what is shown are replaced by a
visible escape: C0 and C1 controls (ESC, BEL, CR, LF, CSI, ...), DEL, bidi overrides
and isolates, zero-width characters and line separators, the same set the TUI
escapes. Everything else, Rich-style markup included, is plain text to a terminal.
"""

from __future__ import annotations

_RANGES = (
    (0x00, 0x1F), (0x7F, 0x9F),  # C0, DEL, C1
    (0x061C, 0x061C), (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x206F),  # bidi, invisible
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB),
)
_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_TABLE = {
    code: _SHORT.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for low, high in _RANGES
    for code in range(low, high + 1)
}
_TABLE_KEEP_LINES = {code: text for code, text in _TABLE.items() if code not in (0x09, 0x0A)}
EXCERPT_LIMIT = 64
"""Characters of client text an error message quotes."""


def escape(text: str, *, keep_lines: bool = False) -> str:
    """`text` with every unsafe character replaced by its visible escape (`\\x1b`, `\\u202e`).

    With `keep_lines`, tab and line feed stay as they are (multi-line values).
    """
    if text.isprintable():
        return text
    return text.translate(_TABLE_KEEP_LINES if keep_lines else _TABLE)


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """At most `limit` characters of `text`, escaped, with `…` when cut."""
    if len(text) <= limit:
        return escape(text)
    return escape(text[:limit]) + "…"


def escape_keeping_lines(text: str) -> str:
    """`escape` for multi-line output (`--print`): tab and line feed stay as they are."""
    return escape(text, keep_lines=True)
