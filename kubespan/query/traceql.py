"""TraceQL's parser: Tempo's search grammar (`pkg/traceql/expr.y`) by recursive descent.

Precedence, lowest first, as in `expr.y`: `|`; `&& ||` (one level, left); comparisons and the
structural operators (left); `+ -`; `!`; `* / %`; `^` (right); unary minus. Field expressions
are built, checked (`validate`) and folded when they reference no span, as Tempo does while
parsing; simple shapes are lowered to the indexed condition nodes. A query is a spanset
expression, a pipeline of stages, or parenthesized pipelines joined by spanset operators,
optionally followed by `with(...)` hints. TraceQL metrics are refused here (search only).
"""

from __future__ import annotations

import enum
from typing import Callable, Final

from kubespan.query.ast import (
    MAX_DEPTH,
    Const,
    Field,
    Filter,
    Literal,
    Spanset,
    SpansetOp,
    fold,
    too_deep,
)
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.lexer import SCOPE_COLONS, Token
from kubespan.query.lower import fold_static, lower_filter
from kubespan.query.nodes import (
    AGGREGATES,
    INTRINSICS,
    SCOPED_INTRINSICS,
    BinOp,
    Coalesce,
    GroupBy,
    Hint,
    Operand,
    Pipeline,
    ScalarFilter,
    Select,
    Stage,
    UnOp,
)
from kubespan.query.parse_stages import STATICS, StageParser, number_literal
from kubespan.query.validate import (
    check_binary,
    check_filter,
    check_unary,
)

SPANSET_LEVEL = {"&&": 1, "||": 1, ">": 2, "<": 2, ">>": 2, "<<": 2, "~": 2, "!>": 2, "!<": 2, "!>>": 2,
                 "!<<": 2, "!~": 2, "&>": 2, "&<": 2, "&>>": 2, "&<<": 2, "&~": 2}
FIELD_LEVEL = {"&&": 1, "||": 1, "=": 2, "!=": 2, "<": 2, "<=": 2, ">": 2, ">=": 2, "=~": 2, "!~": 2,
               "+": 3, "-": 3, "*": 5, "/": 5, "%": 5, "^": 6}
SCALAR_OPS = ("=", "!=", "<", "<=", ">", ">=")
METRICS = ("rate", "count_over_time", "min_over_time", "max_over_time", "avg_over_time", "sum_over_time",
           "quantile_over_time", "histogram_over_time", "compare", "topk", "bottomk")


class _Nil(enum.Enum):
    NIL = "nil"


NIL: Final = _Nil.NIL
"""`nil` while its comparison is being read: only `x = nil`, `x != nil` and their mirrors are TraceQL."""


class ParsedQuery:
    """The parse of one TraceQL query: its root node and its hints."""

    def __init__(self, root: Spanset, hints: tuple[Hint, ...]) -> None:
        self.root = root
        self.hints = hints


class _Parser(StageParser):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.wrapped: set[int] = set()  # ids of spanset expressions written in parentheses
        self.heights: dict[int, int] = {}  # expression tree heights by node id (nodes kept alive in `keep`)
        self.keep: list[object] = []
        self.holding: set[int] = set()  # ids of spanset operations with a parenthesized pipeline inside

    # ------------------------------------------------------------ query
    def parse(self) -> ParsedQuery:
        if self.tok.kind == "eof":
            raise QuerySyntaxError("empty query", 1)
        root = self.pipeline_expression()
        hints: tuple[Hint, ...] = ()
        if self.tok.kind == "with":
            hints = self.hints()
        if self.tok.kind != "eof":
            raise self.unexpected("'|', a spanset operator or with(…)" if self.tok.kind not in METRICS else "")
        return ParsedQuery(root, hints)

    def pipeline_expression(self) -> Spanset:
        """A pipeline, or parenthesized pipelines joined by spanset operators (`({…} | count() > 1) && ({…})`)."""
        first = self.stage()
        stages = [first]
        while self.tok.kind == "|":
            if id(first) in self.holding:
                raise QuerySyntaxError("nothing can follow parenthesized pipelines joined by an operator",
                                       self.tok.column)
            self.take()
            if self.tok.kind in METRICS:
                raise QuerySyntaxError(f"TraceQL metrics ({self.tok.kind}) are not supported in search queries",
                                       self.tok.column)
            stages.append(self.stage(after_pipe=True))
        if len(stages) == 1 and not isinstance(first, (ScalarFilter, GroupBy, Select, Coalesce)):
            return first
        return Pipeline(tuple(stages))

    def stage(self, after_pipe: bool = False) -> Stage:
        kind = self.tok.kind
        if kind == "by":
            return self.group_by()
        if kind == "select":
            return self.select()
        if kind == "coalesce":
            if not after_pipe:
                raise self.unexpected("'{', '(' or a pipeline stage (coalesce() only follows '|')")
            self.take()
            self.expect("(")
            self.expect(")")
            return Coalesce()
        if kind in AGGREGATES or (kind in ("int", "float", "dur", "-") and self.scalar_ahead()):
            return self.scalar_filter()
        return self.spanset_expression(1, after_pipe)

    def scalar_ahead(self) -> bool:
        """A number opening a stage is a scalar filter (`3 < count()`); a spanset cannot start so."""
        return True

    # ------------------------------------------------------------ spansets
    def spanset_expression(self, min_level: int, after_pipe: bool = False) -> Spanset:
        left = self.spanset_primary(after_pipe)
        while self.tok.kind in SPANSET_LEVEL and SPANSET_LEVEL[self.tok.kind] >= min_level:
            op = self.tok.kind
            items = [left]
            while self.tok.kind == op:  # a run of one operator; && and || fold into a balanced tree
                op_tok = self.take()
                right = self.spanset_expression(SPANSET_LEVEL[op] + 1, after_pipe)
                if (isinstance(items[-1], Pipeline) or isinstance(right, Pipeline)) and not (
                        self.wrapped_or_pipeline(items[-1]) and self.wrapped_or_pipeline(right)):
                    raise QuerySyntaxError("a parenthesized pipeline can only be joined with other parenthesized "
                                           "pipelines: write ({ … }) on both sides", op_tok.column)
                items.append(right)
                if op not in ("&&", "||"):
                    break
            left = fold(self.spanset_op(op), items) if op in ("&&", "||") else self.spanset_op(op)(*items)
        return left

    def spanset_op(self, op: str) -> Callable[[Spanset, Spanset], SpansetOp]:
        def make(left: Spanset, right: Spanset) -> SpansetOp:
            node = SpansetOp(op, left, right)
            if any(isinstance(side, Pipeline) or id(side) in self.holding for side in (left, right)):
                self.holding.add(id(node))
                self.wrapped.add(id(node))
            height = 1 + max(self.heights.get(id(left), 0), self.heights.get(id(right), 0))
            self.heights[id(node)] = height
            self.keep.append(node)
            if height > MAX_DEPTH:
                raise too_deep(1)
            return node

        return make

    def wrapped_or_pipeline(self, node: Spanset) -> bool:
        return isinstance(node, Pipeline) or id(node) in self.wrapped

    def spanset_primary(self, after_pipe: bool) -> Spanset:
        token = self.tok
        if token.kind == "{":
            return self.spanset_filter()
        if token.kind == "(":
            inner = self.parenthesized(self.pipeline_expression)
            if isinstance(inner, Pipeline) and after_pipe:
                raise QuerySyntaxError("a pipeline in parentheses cannot follow '|'", token.column)
            self.wrapped.add(id(inner))
            return inner
        raise self.unexpected("'{' or '('")

    def spanset_filter(self) -> Filter:
        open_tok = self.take()
        if self.tok.kind == "}":
            self.take()
            return Filter(Const(True))
        expr = self.field_expression(1)
        if self.tok.kind != "}":
            raise self.unexpected("'}' or an operator")
        self.take()
        check_filter(expr, open_tok.column)
        return lower_filter(expr)

    # ------------------------------------------------------------ field expressions
    def field_expression(self, min_level: int) -> Operand:
        """A field expression (`nil` alone refused: it is only a side of `=`/`!=`)."""
        left_tok = self.tok
        left = self.operand_or_nil(min_level)
        if left is NIL:
            raise QuerySyntaxError("nil can only be compared with = or !=", left_tok.column)
        return left

    def operand_or_nil(self, min_level: int) -> Operand | _Nil:
        """A field expression, or `nil` alone (which only the comparison reading it may accept)."""
        left_tok = self.tok
        left = self.field_unary()
        while self.tok.kind in FIELD_LEVEL and FIELD_LEVEL[self.tok.kind] >= min_level:
            op = self.tok
            level = FIELD_LEVEL[op.kind]
            if op.kind in ("&&", "||"):
                left = self.boolean_run(left, left_tok)
                continue
            self.take()
            if op.kind in ("=", "!=") and (self.tok.kind == "nil" or left is NIL):
                left = self.nil_test(left, op, left_tok)
                continue
            right_tok = self.tok
            right = self.operand_or_nil(level if op.kind == "^" else level + 1)
            if left is NIL or right is NIL:
                raise QuerySyntaxError("nil can only be compared with = or !=", op.column)
            node = _normalized(BinOp(op.kind, left, right))
            check_binary(node, op.column, right_tok.column + (1 if right_tok.kind == "str" else 0))
            self.height(node, op.column)
            left = fold_static(node)
        return left

    def boolean_run(self, left: Operand | _Nil, left_tok: Token) -> Operand:
        """`a && b && c …` (one operator repeated): checked term by term, folded into a balanced tree."""
        op = self.tok.kind
        items: list[Operand] = []
        while self.tok.kind == op:
            op_tok = self.take()
            right = self.field_expression(2)
            if left is NIL:
                raise QuerySyntaxError("nil can only be compared with = or !=", op_tok.column)
            items = items or [left]
            items.append(right)
            check_binary(BinOp(op, items[-2] if len(items) == 2 else Literal("bool", True, ""), items[-1]),
                         op_tok.column, op_tok.column)
            if len(items) == 2:
                check_binary(BinOp(op, items[0], items[1]), op_tok.column, op_tok.column)
        node = fold(lambda a, b: fold_static(BinOp(op, a, b)), items)
        self.height(node, left_tok.column)
        return node

    def height(self, node: Operand, column: int) -> None:
        """Refuse expression trees deeper than MAX_DEPTH (they would exhaust the evaluators' stacks)."""
        if isinstance(node, (BinOp, UnOp)):
            children = (node.left, node.right) if isinstance(node, BinOp) else (node.inner,)
            height = 1 + max(self.heights.get(id(child), 0) for child in children)
            self.heights[id(node)] = height
            self.keep.append(node)
            if height > MAX_DEPTH:
                raise too_deep(column)

    def nil_test(self, left: Operand | _Nil, op: Token, left_tok: Token) -> Operand:
        if self.tok.kind == "nil":
            self.take()
            if left is NIL:
                return Literal("bool", False, "false")
            node = UnOp("exists" if op.kind == "!=" else "not_exists", left)
        else:
            right = self.operand_or_nil(3)
            if right is NIL:
                return Literal("bool", False, "false")
            node = UnOp("exists" if op.kind == "!=" else "not_exists", right)
        check_unary(node, left_tok.column)
        return fold_static(node)

    def field_unary(self) -> Operand | _Nil:
        token = self.tok
        if token.kind in ("!", "-"):
            self.enter(token.column)
            self.take()
            inner = self.operand_or_nil(5)
            self.depth -= 1
            if inner is NIL:
                raise QuerySyntaxError("nil can only be compared with = or !=", token.column)
            node = UnOp(token.kind, inner)
            check_unary(node, token.column)
            return fold_static(node)
        if token.kind == "(":
            return self.parenthesized(lambda: self.field_expression(1))
        if token.kind == "nil":
            self.take()
            return NIL
        return self.field_primary()

    def field_primary(self) -> Operand:
        token = self.tok
        kind = token.kind
        if kind == "attr":
            raise self.unexpected("a field or a value")
        if kind in (".", "span.", "resource.", "event.", "link.", "instrumentation."):
            self.take()
            name = self.expect("attr", "an attribute name")
            scope = {".": "any"}.get(kind, kind[:-1])
            return Field("attr", scope, name.value)
        if kind == "parent.":
            raise QuerySyntaxError("parent. attributes are not supported (Tempo: not yet supported)", token.column)
        if kind in SCOPE_COLONS:
            self.take()
            name = self.take()
            mapped = SCOPED_INTRINSICS.get((kind[:-1], name.value or name.kind))
            if mapped is None:
                raise QuerySyntaxError(f"unknown intrinsic {kind}{name.value or name.kind}", name.column)
            return Field(mapped)
        if kind in INTRINSICS:
            self.take()
            if kind == "parent":
                raise QuerySyntaxError("intrinsic parent is not supported (Tempo: not yet supported)", token.column)
            return Field(INTRINSICS[kind])
        return self.static()

    def static(self) -> Literal:
        token = self.take()
        kind = token.kind
        if kind == "str":
            return Literal("str", token.value, token.value)
        if kind in ("int", "float", "dur"):
            return number_literal(token)
        if kind in STATICS:
            typ, value = STATICS[kind]
            return Literal(typ, value, kind)
        if kind == "ident":
            if token.value in ("minInt", "maxInt"):
                return Literal("int", -(2**63) if token.value == "minInt" else 2**63 - 1, token.value)
            raise QuerySyntaxError(f"unknown identifier: {token.value}", token.column)
        self.pos -= 1
        raise self.unexpected("a field or a value")


def _normalized(node: BinOp) -> BinOp:
    """A trace id compared with a string: leading zeros dropped, as Tempo does (its ids print without them)."""
    for field, other in ((node.left, node.right), (node.right, node.left)):
        if isinstance(field, Field) and field.kind == "trace_id" and isinstance(other, Literal) \
                and other.type == "str":
            stripped = Literal("str", other.value.lower().lstrip("0"), other.text)
            return BinOp(node.op, field, stripped) if field is node.left else BinOp(node.op, stripped, field)
    return node


def parse_traceql(text: str) -> ParsedQuery:
    return _Parser(text).parse()
