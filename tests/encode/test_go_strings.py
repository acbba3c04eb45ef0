"""Go-style double-quoted strings (`kubespan.encode.go_strings`): Go's rules, and the places that write them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubespan.api.gotext import GoSyntaxError, parse_uint
from kubespan.encode.go_strings import quote, quote_proto_text, quote_traceql
from kubespan.metrics.params import ParamError, parse_step
from kubespan.metrics.series import Series, sort_key
from kubespan.query import compile_query
from kubespan.query.lexer import lex

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
"""Any text a request can carry (UTF-8 has no lone surrogates)."""


# ---------------------------------------------------------------- the rules, one character at a time


def _strconv_rule(char: str) -> str:
    """`quote` for one character, spelled out."""
    code = ord(char)
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
             "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}
    if char in short:
        return short[char]
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if char.isprintable():
        return char
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_quote_escapes_each_character_by_go_rules(text: str) -> None:
    assert quote(text) == '"' + "".join(_strconv_rule(c) for c in text) + '"'


@pytest.mark.parametrize(("text", "quoted"), [
    ("", '""'),
    ("abc", '"abc"'),
    ('say "hi"\\', '"say \\"hi\\"\\\\"'),
    ("a\nb\tc\rd", '"a\\nb\\tc\\rd"'),
    ("\x00\x01\x1b\x7f", '"\\x00\\x01\\x1b\\x7f"'),
    ("\a\b\f\v", '"\\a\\b\\f\\v"'),
    ("café ünïcode 日本", '"café ünïcode 日本"'),
    ("\u2028\u200b\ufeff", '"\\u2028\\u200b\\ufeff"'),
    ("\U000e0001", '"\\U000e0001"'),
])
def test_quote_as_strconv_quote(text: str, quoted: str) -> None:
    assert quote(text) == quoted


@pytest.mark.parametrize(("text", "quoted"), [
    ('a"b\\c', '"a\\"b\\\\c"'),
    ("\n\t\r", '"\\n\\t\\r"'),
    ("\x01\x1b\x7f", '"\\u0001\\u001b\\u007f"'),
    ("\ud800", '"\\ud800"'),
    ("café \u2028 \U0001f600", '"café \u2028 \U0001f600"'),
])
def test_quote_traceql(text: str, quoted: str) -> None:
    assert quote_traceql(text) == quoted


@settings(max_examples=300)
@given(TEXT)
def test_the_traceql_lexer_reads_quote_traceql_back(text: str) -> None:
    token = lex(quote_traceql(text))[0]
    assert (token.kind, token.value) == ("str", text)


@pytest.mark.parametrize(("text", "quoted"), [
    ("kubelet", '"kubelet"'),
    ('a"b\\c\n\r\t', '"a\\"b\\\\c\\n\\r\\t"'),
    ("\x00\x1f\x7f", '"\\000\\037\\177"'),
    ("café", '"caf\\303\\251"'),
    ("\U0001f600", '"\\360\\237\\230\\200"'),
])
def test_quote_proto_text_escapes_utf8_bytes_in_octal(text: str, quoted: str) -> None:
    assert quote_proto_text(text) == quoted


@settings(max_examples=300)
@given(TEXT)
def test_proto_text_is_printable_ascii_that_decodes_back(text: str) -> None:
    quoted = quote_proto_text(text)
    assert all(0x20 <= ord(c) < 0x7F for c in quoted)
    assert quoted[0] == quoted[-1] == '"'
    assert quoted[1:-1].encode("ascii").decode("unicode_escape").encode("latin-1").decode("utf-8") == text


# ---------------------------------------------------------------- the places that write them


def test_go_number_errors_quote_the_value_as_go_does() -> None:
    with pytest.raises(GoSyntaxError) as err:
        parse_uint("1\x01é\n")
    assert str(err.value) == 'strconv.ParseUint: parsing "1\\x01é\\n": invalid syntax'


def test_metrics_step_errors_quote_the_value_as_go_does() -> None:
    with pytest.raises(ParamError) as err:
        parse_step('5"\n')
    assert str(err.value) == 'cannot parse "5\\"\\n" to a valid duration'


def test_the_stringer_writes_string_literals_the_lexer_reads() -> None:
    query = compile_query('{ name = "a\\u0001\\"b\\\\" }')
    assert query.to_traceql() == '{ name = "a\\u0001\\"b\\\\" }'


def test_metrics_series_sort_by_the_protobuf_text_of_their_values() -> None:
    values = np.zeros(1)
    names = ["é", "z", "a\n", 'a"']
    series = [Series((("name", ("string", name)),), values) for name in names]
    ordered = [s.labels[0][1][1] for s in sorted(series, key=sort_key)]
    assert ordered == ["é", 'a"', "a\n", "z"]  # by `\303\251`, `a\"`, `a\n`, `z`
