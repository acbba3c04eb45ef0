"""The sanitiser: network text is shown literally and never reaches the terminal raw."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kubespan.tui.text import chunk_lines, clip, escape_char, inert, sanitize

CONTROL = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A)] + [chr(c) for c in range(0x7F, 0xA0)]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028", "\u2029", "\u202a", "\u202b",
             "\u202c", "\u202d", "\u202e", "\u2060", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff", "\u061c"]


def test_escape_sequences_are_escaped():
    assert sanitize("\x1b]52;c;aGVsbG8=\x07") == "\\x1b]52;c;aGVsbG8=\\x07"
    assert sanitize("\x1b[2J") == "\\x1b[2J"
    assert sanitize("a\rb") == "a\\rb"
    assert sanitize("bidi \u202eevil") == "bidi \\u202eevil"
    assert sanitize("zero\u200bwidth") == "zero\\u200bwidth"
    assert sanitize("\x9b31m") == "\\x9b31m"  # 8-bit CSI


def test_newlines_and_tabs_escaped_on_one_line_kept_in_multiline():
    assert sanitize("a\nb\tc") == "a\\nb\\tc"
    assert sanitize("a\nb\tc\x1b", multiline=True) == "a\nb\tc\\x1b"


def test_every_control_and_invisible_character_is_escaped():
    for char in CONTROL + INVISIBLE + ["\n", "\t"]:
        out = sanitize(f"x{char}y")
        assert char not in out, repr(char)
        assert escape_char(char) in out


def test_markup_is_literal():
    text = inert("[bold red]x[/] [link=file:///etc/passwd]y[/link]")
    assert text.plain == "[bold red]x[/] [link=file:///etc/passwd]y[/link]"
    assert not text.spans
    assert all(not span.style for span in text.spans)


def test_inert_styles_escapes_and_truncates():
    text = inert("a\x1bb", limit=None)
    assert text.plain == "a\\x1bb"
    assert len(text.spans) == 1 and text.spans[0].start == 1 and text.spans[0].end == 5
    big = inert("A" * 1_000_000, limit=100)
    assert len(big.plain) == 101 and big.plain.endswith("…")


def test_truncation_never_splits_an_escape_into_raw_bytes():
    out = sanitize("\x1b" * 10, limit=3)
    assert "\x1b" not in out and out.endswith("…")


def test_clip_and_chunk():
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"
    assert chunk_lines("a" * 5 + "\n" + "b" * 3, 2) == ["aa", "aa", "a", "bb", "b"]


@given(st.text())
def test_sanitized_text_has_no_unsafe_characters(value):
    out = sanitize(value)
    assert not any(char in out for char in CONTROL + INVISIBLE + ["\n", "\t"])
    assert inert(value, limit=None).plain == out
