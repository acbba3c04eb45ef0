"""Inert text: everything that came from the network is drawn through here.

Span names, attribute keys and values are attacker-controlled. They are never
parsed as Rich markup (we build `rich.text.Text` from plain strings), and the
characters that could act on the terminal or hide what is shown are replaced by a
visible escape: C0/C1 controls (ESC, BEL, CR, ...), DEL, bidi overrides and
isolates, zero-width characters and line/paragraph separators (the one table of
`kubespan.encode.inert`). A `\\x1b` printed by us is styled differently from the
four characters a sender typed, so the two can be told apart on screen.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from kubespan.encode.inert import UNSAFE, UNSAFE_KEEPING_LINES, escape_char

ESCAPE_STYLE = Style(color="magenta", reverse=False, dim=False, italic=True)
"""How an escaped character is drawn, so it is distinguishable from typed text."""

LIST_LIMIT = 256
"""Characters of a value kept when it is drawn in a one-line cell."""

ELLIPSIS = "…"

def sanitize(value: str, *, multiline: bool = False, limit: int | None = None) -> str:
    """`value` with every unsafe character escaped; truncated to `limit` characters first.

    With `multiline`, tabs and newlines are kept (for full-value views); otherwise they
    are escaped too so one value is always one line.
    """
    if limit is not None and len(value) > limit:
        value = value[:limit] + ELLIPSIS
    pattern = UNSAFE_KEEPING_LINES if multiline else UNSAFE
    if pattern.search(value) is None:
        return value
    return pattern.sub(lambda match: escape_char(match.group()), value)


def inert(value: str, style: Style | str = "", *, limit: int | None = LIST_LIMIT,
          multiline: bool = False) -> Text:
    """A `Text` showing `value` literally: no markup, escapes styled, bounded length."""
    truncated = limit is not None and len(value) > limit
    if truncated:
        value = value[:limit]
    pattern = UNSAFE_KEEPING_LINES if multiline else UNSAFE
    text = Text(style=style, no_wrap=not multiline, end="")
    position = 0
    for match in pattern.finditer(value):
        if match.start() > position:
            text.append(value[position:match.start()])
        text.append(escape_char(match.group()), ESCAPE_STYLE)
        position = match.end()
    if position < len(value):
        text.append(value[position:])
    if truncated:
        text.append(ELLIPSIS, "dim")
    return text


NOTICE_LIMIT = 500
"""Characters of a notification message kept (a 1 MB error message is not a toast)."""


def notice(value: object, *, limit: int = NOTICE_LIMIT) -> str:
    """`value` as the plain, inert text of a notification: shown with markup off, so
    `[bold]` stays literal, and with every control character escaped (newlines kept)."""
    return sanitize(str(value), multiline=True, limit=limit)


def clip(value: str, width: int) -> str:
    """Shorten an already-safe string to `width` characters with an ellipsis."""
    if width <= 0:
        return ""
    if len(value) <= width:
        return value
    return value[: max(0, width - 1)] + ELLIPSIS


def chunk_lines(value: str, width: int = 200) -> list[str]:
    """Split a (sanitized, multiline) value into lines of at most `width` characters."""
    lines: list[str] = []
    for line in value.split("\n"):
        if not line:
            lines.append("")
            continue
        lines.extend(line[i:i + width] for i in range(0, len(line), width))
    return lines
