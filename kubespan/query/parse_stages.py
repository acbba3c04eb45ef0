"""TraceQL's pipeline stages: `by()`, `select()`, scalar filters over aggregates, `with(...)` hints.

The base of the parser in `kubespan.query.traceql`: token reading and the stages; the parser
adds spanset and field expressions (`field_expression`, `field_primary` and `static`).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from kubespan.query.ast import MAX_DEPTH, Field, Literal, too_deep
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.lexer import Token, lex
from kubespan.query.lower import fold_static
from kubespan.query.nodes import Aggregate, BinOp, GroupBy, Hint, Operand, ScalarFilter, Select, UnOp
from kubespan.query.validate import check_group, check_scalar_filter

SCALAR_OPS = ("=", "!=", "<", "<=", ">", ">=")
ARITHMETIC_LEVEL = {"+": 3, "-": 3, "*": 5, "/": 5, "%": 5, "^": 6}
AGGREGATE_NAMES = ("count", "avg", "max", "min", "sum")
STATICS = {"true": ("bool", True), "false": ("bool", False), "ok": ("status", "ok"), "error": ("status", "error"),
           "unset": ("status", "unset"), "unspecified": ("kind", "unspecified"), "internal": ("kind", "internal"),
           "server": ("kind", "server"), "client": ("kind", "client"), "producer": ("kind", "producer"),
           "consumer": ("kind", "consumer")}
Parsed = TypeVar("Parsed")


def number_literal(token: Token) -> Literal:
    typ = {"int": "int", "float": "float", "dur": "duration"}[token.kind]
    return Literal(typ, token.value, str(token.value))


def has_aggregate(node: Operand) -> bool:
    if isinstance(node, Aggregate):
        return True
    if isinstance(node, BinOp):
        return has_aggregate(node.left) or has_aggregate(node.right)
    if isinstance(node, UnOp):
        return has_aggregate(node.inner)
    return False


def describe(token: Token) -> str:
    if token.kind == "eof":
        return "end of query"
    if token.kind in ("str", "int", "float", "dur", "ident", "attr"):
        return repr(token.value)
    return repr(token.kind)


class StageParser:
    """Token reading, and the parsing of the stages that follow `|` (and may start a pipeline)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = lex(text)
        self.pos = 0
        self.depth = 0

    # ------------------------------------------------------------ tokens
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, kind: str, what: str | None = None) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected(what or repr(kind))
        return self.take()

    def unexpected(self, expected: str) -> QuerySyntaxError:
        return QuerySyntaxError(f"unexpected {describe(self.tok)}, expecting {expected}", self.tok.column)

    def enter(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise too_deep(column)

    def parenthesized(self, parse: Callable[[], Parsed]) -> Parsed:
        """`( … )` at the current token, read by `parse`; the parentheses count against `MAX_DEPTH`."""
        self.enter(self.tok.column)
        self.take()
        inner = parse()
        self.expect(")", "')'")
        self.depth -= 1
        return inner

    def arguments(self, parse: Callable[[], Parsed]) -> list[Parsed]:
        """`name(item, item, …)` at the current token: the items, each read by `parse`."""
        self.take()
        self.expect("(", "'('")
        items = [parse()]
        while self.tok.kind == ",":
            self.take()
            items.append(parse())
        self.expect(")", "')'")
        return items

    # ------------------------------------------------------------ what the TraceQL parser adds
    def field_expression(self, min_level: int) -> Operand:
        raise NotImplementedError

    def field_primary(self) -> Operand:
        raise NotImplementedError

    def static(self) -> Literal:
        raise NotImplementedError

    # ------------------------------------------------------------ stages

    def group_by(self) -> GroupBy:
        start = self.take()
        self.expect("(", "'('")
        expr = self.field_expression(1)
        self.expect(")", "')'")
        check_group(expr, start.column)
        return GroupBy(expr)

    def select(self) -> Select:
        return Select(tuple(self.arguments(self.attribute)))

    def attribute(self) -> Field:
        token = self.tok
        operand = self.field_primary()
        if not isinstance(operand, Field):
            found = token.value or token.kind
            raise QuerySyntaxError(f"expected an attribute or intrinsic, found {found!r}", token.column)
        return operand

    def scalar_filter(self) -> ScalarFilter:
        start = self.tok
        left = self.scalar_expression(1)
        if self.tok.kind not in SCALAR_OPS:
            raise self.unexpected("a comparison (= != < <= > >=) after the aggregate")
        op = self.take()
        right = self.scalar_expression(1)
        if not has_aggregate(left) and not has_aggregate(right):
            raise QuerySyntaxError("a scalar filter needs an aggregate (count(), avg(…), …) on one side", start.column)
        return check_scalar_filter(op.kind, left, right, start.column)

    def scalar_expression(self, min_level: int) -> Operand:
        left = self.scalar_primary()
        while self.tok.kind in ("+", "-", "*", "/", "%", "^") and ARITHMETIC_LEVEL[self.tok.kind] >= min_level:
            op = self.take()
            level = ARITHMETIC_LEVEL[op.kind]
            right = self.scalar_expression(level if op.kind == "^" else level + 1)
            node = BinOp(op.kind, left, right)
            left = fold_static(node) if not has_aggregate(node) else node
        return left

    def scalar_primary(self) -> Operand:
        token = self.tok
        if token.kind in AGGREGATE_NAMES:
            return self.aggregate()
        if token.kind == "(":
            return self.parenthesized(lambda: self.scalar_expression(1))
        if token.kind == "-":
            self.take()
            inner = self.scalar_primary()
            return fold_static(UnOp("-", inner)) if isinstance(inner, Literal) else UnOp("-", inner)
        if token.kind in ("int", "float", "dur"):
            self.take()
            return number_literal(token)
        raise self.unexpected("an aggregate or a number")

    def aggregate(self) -> Aggregate:
        token = self.take()
        self.expect("(", "'('")
        if token.kind == "count":
            self.expect(")", "')' (count() takes no argument)")
            return Aggregate("count")
        expr = self.field_expression(1)
        self.expect(")", "')'")
        return Aggregate(token.kind, expr)

    def hints(self) -> tuple[Hint, ...]:
        return tuple(self.arguments(self.hint))

    def hint(self) -> Hint:
        name = self.tok
        if name.kind != "ident" and name.kind not in STATICS and name.value is None:
            raise self.unexpected("a hint name")
        self.take()
        self.expect("=", "'='")
        value = self.static()
        return Hint(str(name.value or name.kind), value)

