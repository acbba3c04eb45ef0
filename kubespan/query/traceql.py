"""A TraceQL subset (Grafana Tempo), detected by a leading `{`.

Supported: field expressions inside `{}` (`&& || !`, parentheses, `= != =~ !~ > >= < <=`,
`nil`), attributes `span.x`, `resource.x`, `.x`, intrinsics `name status kind duration`,
`span:name|status|kind|duration|id|parentID`, `trace:id`, `event:name`; spanset
`&& ||` and structural `> >> < << ~` between `{}`. Like Tempo, `&&` and `||` share one
precedence level and associate left; structural operators bind tighter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kubespan.query.ast import (
    KINDS, MAX_DEPTH, STATUSES, And, Cond, Const, Expr, Field, Filter, Literal, Not, Or, Spanset, SpansetOp,
    check_depth, fold, too_deep,
)
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.literals import DURATION, compile_regex, parse_duration, parse_hex

_PUNCT = sorted(["{", "}", "(", ")", "&&", "||", "|", "!=", "!~", "!>>", "!>", "!<<", "!<", "!", "=~", "=",
                 ">>", ">=", ">", "<<", "<=", "<", "~", "&>>", "&>", "&<<", "&<", "&~", ","], key=len, reverse=True)
_ATTR_STOP = set(" \t\r\n{}()=~!<>&|^,\"")
_SCOPES = ("span", "resource", "event", "link", "instrumentation", "parent")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COMPARISONS = ("=", "!=", "=~", "!~", ">", ">=", "<", "<=")
STRUCTURAL = (">", ">>", "<", "<<", "~")
UNSUPPORTED_STRUCTURAL = ("!>", "!>>", "!<", "!<<", "!~", "&>", "&>>", "&<", "&<<", "&~")
_LEGACY = {"name": "name", "status": "status", "kind": "kind", "duration": "duration"}
_SCOPED = {("span", "name"): "name", ("span", "status"): "status", ("span", "kind"): "kind",
           ("span", "duration"): "duration", ("span", "id"): "span", ("span", "parentID"): "parent",
           ("trace", "id"): "trace", ("event", "name"): "event"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "0": "\0"}


@dataclass(slots=True)
class Tok:
    kind: str  # punct text, or "str", "num", "dur", "ident", "attr", "intrinsic", "eof"
    column: int
    value: Any = None


def lex(text: str) -> list[Tok]:
    tokens: list[Tok] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        column = i + 1
        if ch in "\"`":
            value, i = _string(text, i)
            tokens.append(Tok("str", column, value))
        elif ch == "." and i + 1 < len(text) and text[i + 1] not in _ATTR_STOP and not text[i + 1].isdigit():
            name, i = _attr_name(text, i + 1)
            tokens.append(Tok("attr", column, ("any", name)))
        elif _NUMBER.match(text, i) and (ch.isdigit() or (ch in "-." and _number_allowed(tokens))):
            i = _number(text, i, tokens)
        elif (match := _IDENT.match(text, i)) is not None:
            i = _ident(text, match, tokens)
        else:
            punct = next((p for p in _PUNCT if text.startswith(p, i)), None)
            if punct is None:
                raise QuerySyntaxError(f"unexpected character {ch!r}", column)
            tokens.append(Tok(punct, column))
            i += len(punct)
    tokens.append(Tok("eof", len(text) + 1))
    return tokens


def _number_allowed(tokens: list[Tok]) -> bool:
    return not tokens or tokens[-1].kind in COMPARISONS or tokens[-1].kind in ("(", "{", "&&", "||", "!")


def _number(text: str, i: int, tokens: list[Tok]) -> int:
    column = i + 1
    duration = re.compile(r"-?" + DURATION.pattern).match(text, i)
    if duration is not None and duration.end() > _NUMBER.match(text, i).end():
        word = duration.group()
        nanos = parse_duration(word.lstrip("-"))
        if nanos is None:
            raise QuerySyntaxError(f"duration {_clip(word)} out of range", column)
        tokens.append(Tok("dur", column, -nanos if word.startswith("-") else nanos))
        return duration.end()
    word = _NUMBER.match(text, i).group()
    end = i + len(word)
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        raise QuerySyntaxError(f"invalid number or duration {text[i:end + 1]!r}...", column)
    try:
        value: int | float = float(word) if any(c in word for c in ".eE") else int(word)
    except ValueError:  # more digits than int() takes
        raise QuerySyntaxError(f"number {_clip(word)} out of range", column) from None
    tokens.append(Tok("num", column, value))
    return end


def _clip(word: str) -> str:
    return repr(word if len(word) <= 24 else word[:20] + "…")


def _ident(text: str, match: re.Match, tokens: list[Tok]) -> int:
    word, end, column = match.group(), match.end(), match.start() + 1
    if word in _SCOPES and end < len(text) and text[end] == "." and end + 1 < len(text):
        name, end = _attr_name(text, end + 1)
        tokens.append(Tok("attr", column, (word, name)))
        return end
    if end < len(text) and text[end] == ":" and (sub := _IDENT.match(text, end + 1)) is not None:
        tokens.append(Tok("intrinsic", column, (word, sub.group())))
        return sub.end()
    tokens.append(Tok("ident", column, word))
    return end


def _attr_name(text: str, i: int) -> tuple[str, int]:
    """An attribute name: everything up to whitespace or an operator; "…" segments quote."""
    parts: list[str] = []
    start = i
    while i < len(text):
        if text[i] == '"':
            value, i = _string(text, i)
            parts.append(value)
        elif text[i] in _ATTR_STOP:
            break
        else:
            parts.append(text[i])
            i += 1
    if i == start:
        raise QuerySyntaxError("missing attribute name", start + 1)
    return "".join(parts), i


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\" and quote == '"':
            if i + 1 >= len(text):
                break
            escape = text[i + 1]
            if escape not in _ESCAPES:
                raise QuerySyntaxError(f"unknown escape \\{escape} in string", i + 1)
            out.append(_ESCAPES[escape])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise QuerySyntaxError(f"unterminated string, missing {quote}", start + 1)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = lex(text)
        self.pos = 0
        self.depth = 0

    @property
    def tok(self) -> Tok:
        return self.tokens[self.pos]

    def take(self) -> Tok:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, kind: str, what: str) -> Tok:
        if self.tok.kind != kind:
            raise QuerySyntaxError(f"expected {what}, found {_show(self.tok)}", self.tok.column)
        return self.take()

    def parse(self) -> Spanset:
        spanset = self.spanset()
        if self.tok.kind == "|":
            raise QuerySyntaxError("pipelines (|) are not supported", self.tok.column)
        if self.tok.kind != "eof":
            raise QuerySyntaxError(f"unexpected {_show(self.tok)}", self.tok.column)
        return spanset

    def enter(self) -> None:
        """One more level of `(`, `{` or `!`; too many is a syntax error, not a crash."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise too_deep(self.tok.column)

    def spanset(self) -> Spanset:
        left = self.structural()
        while self.tok.kind in ("&&", "||"):
            op = self.tok.kind
            items = [left]
            while self.tok.kind == op:
                self.take()
                items.append(self.structural())
            left = fold(lambda a, b, op=op: SpansetOp(op, a, b), items)
        return left

    def structural(self) -> Spanset:
        left = self.spanset_primary()
        while self.tok.kind in STRUCTURAL or self.tok.kind in UNSUPPORTED_STRUCTURAL:
            if self.tok.kind not in STRUCTURAL:
                raise QuerySyntaxError(f"structural operator {self.tok.kind} is not supported", self.tok.column)
            op = self.take().kind
            left = SpansetOp(op, left, self.spanset_primary())
        return left

    def spanset_primary(self) -> Spanset:
        if self.tok.kind == "(":
            self.enter()
            self.take()
            inner = self.spanset()
            self.expect(")", "')'")
            self.depth -= 1
            return inner
        self.expect("{", "'{'")
        if self.tok.kind == "}":
            self.take()
            return Filter(Const(True))
        expr = self.expr()
        self.expect("}", "'}' or an operator")
        return Filter(expr)

    def expr(self) -> Expr:
        left = self.unary()
        while self.tok.kind in ("&&", "||"):
            op = self.tok.kind
            items = [left]
            while self.tok.kind == op:
                self.take()
                items.append(self.unary())
            left = fold(And if op == "&&" else Or, items)
        return left

    def unary(self) -> Expr:
        if self.tok.kind == "!":
            self.enter()
            self.take()
            inner = Not(self.unary())
            self.depth -= 1
            return inner
        return self.comparison()

    def comparison(self) -> Expr:
        start = self.tok
        if start.kind == "(":
            self.enter()
            self.take()
            inner = self.expr()
            self.expect(")", "')'")
            self.depth -= 1
            return inner
        left = self.operand()
        if self.tok.kind not in COMPARISONS:
            if isinstance(left, Field) and left.kind == "attr":
                return Cond(left, "=", Literal("bool", True, "true"))
            if isinstance(left, Literal) and left.type == "bool":
                return Const(left.value)
            raise QuerySyntaxError(f"expected a comparison after {_show(start)}", self.tok.column)
        op_tok = self.take()
        right_tok = self.tok
        right = self.operand()
        if isinstance(left, Field) and isinstance(right, Field):
            raise QuerySyntaxError("comparing two fields is not supported", op_tok.column)
        if not isinstance(left, Field) and not isinstance(right, Field):
            raise QuerySyntaxError("a comparison needs a field on one side", start.column)
        op = op_tok.kind
        if isinstance(right, Field):
            left, right = right, left
            op = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op, op)
        value_column = (start if isinstance(left, Literal) else right_tok).column + 1  # past the quote
        return _cond(left, op, right, op_tok, value_column)

    def operand(self) -> Field | Literal:
        token = self.take()
        kind, value = token.kind, token.value
        if kind == "str":
            return Literal("str", value, value)
        if kind == "num":
            return Literal("float" if isinstance(value, float) else "int", value, str(value))
        if kind == "dur":
            return Literal("duration", value, str(value))
        if kind == "attr":
            scope, name = value
            if scope not in ("span", "resource", "any"):
                raise QuerySyntaxError(f"{scope}. attributes are not supported (only span., resource. and .)"
                                       + ("; use event:name" if scope == "event" else ""), token.column)
            return Field("attr", scope, name)
        if kind == "intrinsic":
            mapped = _SCOPED.get(value)
            if mapped is None:
                raise QuerySyntaxError(f"intrinsic {value[0]}:{value[1]} is not supported", token.column)
            return Field(mapped)
        if kind == "ident":
            return _ident_operand(token)
        raise QuerySyntaxError(f"expected a field or a value, found {_show(token)}", token.column)


def _ident_operand(token: Tok) -> Field | Literal:
    word = token.value
    if word in _LEGACY:
        return Field(_LEGACY[word])
    if word in ("true", "false"):
        return Literal("bool", word == "true", word)
    if word == "nil":
        return Literal("nil", None, "nil")
    if word in STATUSES:
        return Literal("status", STATUSES[word], word)
    if word in KINDS:
        return Literal("kind", KINDS[word], word)
    if word in ("minInt", "maxInt"):
        return Literal("int", -(2**63) if word == "minInt" else 2**63 - 1, word)
    if word in ("statusMessage", "rootName", "rootServiceName", "traceDuration", "parent"):
        raise QuerySyntaxError(f"intrinsic {word} is not supported", token.column)
    raise QuerySyntaxError(f"unknown identifier {word!r}", token.column)


def _cond(field: Field, op: str, literal: Literal, op_tok: Tok, value_column: int) -> Expr:
    if literal.type == "nil":
        if op not in ("=", "!=") or field.kind != "attr":
            raise QuerySyntaxError("nil can only be compared with = or != to an attribute", op_tok.column)
        return Cond(field, op, literal)
    if field.kind in ("kind", "status"):
        if literal.type == field.kind or literal.type == "int":
            literal = Literal("int", literal.value, literal.text)
        elif literal.type in ("kind", "status"):
            raise QuerySyntaxError(f"{field.kind} compared with a {literal.type} value", op_tok.column + 1)
    if field.kind in ("trace", "span", "parent"):
        hexed = parse_hex(literal.value) if literal.type == "str" else None
        if hexed is None or op not in ("=", "!="):
            raise QuerySyntaxError(f"{field.kind} id takes = or != and a hex string", op_tok.column)
        literal = Literal("str", hexed, literal.text)
    if op in ("=~", "!~"):
        if literal.type != "str":
            raise QuerySyntaxError("a regex must be a string", op_tok.column + len(op) + 1)
        compile_regex(literal.value, value_column)
    return Cond(field, op, literal)


def _show(token: Tok) -> str:
    if token.kind == "eof":
        return "end of query"
    if token.kind in ("str", "num", "dur", "ident"):
        return repr(token.value)
    if token.kind in ("attr", "intrinsic"):
        return "a field"
    return repr(token.kind)


def parse_traceql(text: str) -> Spanset:
    return check_depth(_Parser(text).parse())
