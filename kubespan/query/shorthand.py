"""The filter-bar shorthand: `service=kubelet name=syncPod k8s.pod=default/echo-command`.

Terms separated by spaces are ANDed; `and`, `or`, `not` and parentheses combine them
(`not` > `and` > `or`). A term is `key OP value` or a bare word. Values may be quoted
with "…", '…' or `…` (backslash escapes the next character in "…" and '…').
"""

from __future__ import annotations

from dataclasses import dataclass

from kubespan.query.ast import (
    MAX_DEPTH,
    And,
    BareWord,
    Cond,
    Const,
    Expr,
    Field,
    Literal,
    Not,
    Or,
    check_depth,
    fold,
    too_deep,
)
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.literals import parse_duration, parse_hex, parse_kind, parse_status
from kubespan.query.regex import compile_regex

OPERATORS = ("==", "=~", "!~", "!=", ">=", "<=", "=", ">", "<")
"""`==` is accepted as `=`, since people used to other languages type it."""
_KEY_END = set(" \t\r\n()=!<>~\"'`")
INTRINSICS = {"service": "service", "name": "name", "operation": "name", "kind": "kind",
              "status": "status", "duration": "duration", "trace": "trace", "span": "span",
              "parent": "parent", "event": "event"}


@dataclass(slots=True)
class Token:
    kind: str  # "(", ")", "and", "or", "not", "term", "word"
    column: int
    key: str = ""
    op: str = ""
    value: str = ""
    value_column: int = 0


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, i + 1))
            i += 1
        elif ch in "\"'`":
            value, i2 = _quoted(text, i)
            if any(text.startswith(o, i2) for o in OPERATORS):  # a quoted key: "my key"=v
                i = _term(text, i, tokens, quoted_key=(value, i2))
            else:
                tokens.append(Token("word", i + 1, value=value, value_column=i + 1))
                i = i2
        else:
            i = _term(text, i, tokens)
    return tokens


def _term(text: str, start: int, tokens: list[Token], quoted_key: tuple[str, int] | None = None) -> int:
    """A `key OP value` term or a bare word at `start`; `quoted_key` is (text, end) of a quoted key."""
    if quoted_key is None:
        i = start
        while i < len(text) and text[i] not in _KEY_END:
            i += 1
        key = text[start:i]
    else:
        key, i = quoted_key
    op = next((o for o in OPERATORS if text.startswith(o, i)), "")
    if not op:
        if not key:
            raise QuerySyntaxError(f"unexpected {text[i]!r}", i + 1)
        word = key.lower()
        kind = word if word in ("and", "or", "not") else "word"
        tokens.append(Token(kind, start + 1, value=key, value_column=start + 1))
        return i
    if not key:
        raise QuerySyntaxError(f"missing key before {op!r}", i + 1)
    i += len(op)
    op = "=" if op == "==" else op
    value_column = i + 1
    if i < len(text) and text[i] in "\"'`":
        value, i = _quoted(text, i)
    else:
        end = i
        while end < len(text) and not text[end].isspace() and text[end] != ")":
            end += 1
        value, i = text[i:end], end
    tokens.append(Token("term", start + 1, key=key, op=op, value=value, value_column=value_column))
    return i


def _quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "`" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise QuerySyntaxError(f"unterminated {quote} quote", start + 1)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Expr:
        if not self.tokens:
            return Const(True)
        expr = self.or_expr()
        token = self.peek()
        if token is not None:
            raise QuerySyntaxError(f"unexpected {token.kind!r}", token.column)
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.pos += 1
            items.append(self.and_expr())
        return fold(Or, items)

    def and_expr(self) -> Expr:
        items = [self.unary()]
        while (token := self.peek()) is not None and token.kind not in ("or", ")"):
            if token.kind == "and":
                self.pos += 1
            items.append(self.unary())
        return fold(And, items)

    def unary(self) -> Expr:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("expected a term", len(self.text) + 1)
        self.pos += 1
        if token.kind in ("not", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise too_deep(token.column)
            try:
                return self.nested(token)
            finally:
                self.depth -= 1
        return self.term(token)

    def nested(self, token: Token) -> Expr:
        """What follows `not` or `(`."""
        if token.kind == "not":
            return Not(self.unary())
        expr = self.or_expr()
        close = self.peek()
        if close is None or close.kind != ")":
            raise QuerySyntaxError("missing ')'", close.column if close else len(self.text) + 1)
        self.pos += 1
        return expr

    def term(self, token: Token) -> Expr:
        if token.kind == "word":
            return BareWord(token.value)
        if token.kind == "term":
            return term_expr(token)
        raise QuerySyntaxError(f"unexpected {token.kind!r}", token.column)


def term_expr(token: Token) -> Expr:
    """`key OP value` → a condition; `!=` and `!~` are the negation of `=` and `=~`."""
    negate = token.op in ("!=", "!~")
    op = {"!=": "=", "!~": "=~"}.get(token.op, token.op)
    field = _field(token.key)
    literal = _literal(field, op, token)
    cond: Expr = Cond(field, op, literal)
    return Not(cond) if negate else cond


def _field(key: str) -> Field:
    if key in INTRINSICS:
        return Field(INTRINSICS[key])
    for prefix, scope in (("span.", "span"), ("resource.", "resource"), (".", "any")):
        if key.startswith(prefix) and len(key) > len(prefix):
            return Field("attr", scope, key[len(prefix):])
    return Field("attr", "any", key)


def _literal(field: Field, op: str, token: Token) -> Literal:
    value, column = token.value, token.value_column
    kind = field.kind
    if kind in ("kind", "status", "trace", "span", "parent"):
        if op != "=":
            raise QuerySyntaxError(f"{kind} only supports = and !=", token.column + len(token.key))
        parse = {"kind": parse_kind, "status": parse_status}.get(kind, parse_hex)
        parsed = parse(value)
        if parsed is None:
            raise QuerySyntaxError(f"invalid {kind} {value!r}{_expected(kind)}", column)
        return Literal("int" if kind in ("kind", "status") else "str", parsed, value)
    if kind == "duration":
        if op == "=~":
            raise QuerySyntaxError("duration cannot be matched with a regex", token.column + len(token.key))
        nanos = parse_duration(value)
        if nanos is None:
            raise QuerySyntaxError(f"invalid duration {value!r} (examples: 250us, 10ms, 1.5s, 2m)", column)
        return Literal("duration", nanos, value)
    if op == "=~":
        check_regex(value, column)
    return Literal("loose", value, value)


def _expected(kind: str) -> str:
    return {"kind": " (expected server, client, internal, producer, consumer or unspecified)",
            "status": " (expected ok, error or unset)"}.get(kind, " (expected hex digits)")


def check_regex(pattern: str, column: int) -> None:
    compile_regex(pattern, column)


def parse_shorthand(text: str) -> Expr:
    return check_depth(_Parser(text).parse())
