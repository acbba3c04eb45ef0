"""One table of characters that act on a terminal, and every writer escapes exactly it."""

from __future__ import annotations

import json

from kubespan.encode.debugtext.blocks import inert as print_text
from kubespan.encode.inert import TERMINAL_ACTIVE, escape, excerpt, quoted
from kubespan.encode.otlp_json import json_string
from kubespan.tui.text import sanitize

TABLE = {code for low, high in TERMINAL_ACTIVE for code in range(low, high + 1)}
BMP = [code for code in range(0x10000) if not 0xD800 <= code <= 0xDFFF] + [0x1F600, 0xE0001, 0x10FFFF]


def test_the_table_holds_what_acts_on_a_terminal() -> None:
    for char in "\x1b\x07\r\n\t\x7f\x9b\x9d\u061c\u200b\u200e\u2028\u2029\u202e\u2066\ufeff\ufff9\ufffb":
        assert ord(char) in TABLE
    for char in "a é\u00a0\u2027\u202f\ufffc\ufffd😀":
        assert ord(char) not in TABLE


def test_escape_and_the_tui_escape_exactly_the_table() -> None:
    for code in BMP:
        char = chr(code)
        escaped = escape(char)
        assert (escaped != char) == (code in TABLE), hex(code)
        assert sanitize(char) == escaped, hex(code)
        assert escaped.isascii() or code not in TABLE


def test_print_keeps_tab_and_newline_and_escapes_the_rest_of_the_table() -> None:
    for code in TABLE:
        char = chr(code)
        assert (print_text(char) == char) == (char in "\t\n"), hex(code)
        assert sanitize(char, multiline=True) == print_text(char), hex(code)


def test_json_escapes_the_table_and_nothing_else_beyond_json() -> None:
    for code in BMP:
        char = chr(code)
        written = json_string(char)
        assert json.loads(written) == char
        raw = written[1:-1] == char
        json_itself = code < 0x20 or char in '"\\'
        assert raw == (code not in TABLE and not json_itself), hex(code)


def test_excerpts_are_cut_and_escaped() -> None:
    assert excerpt("a" * 70) == "a" * 64 + "…"
    assert excerpt("\x1b[2J") == "\\x1b[2J"
    assert quoted("span\u202e") == "'span\\u202e'"
