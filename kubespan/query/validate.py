"""Tempo's validation (`pkg/traceql/ast_validate.go`): what parses but is still not TraceQL.

Types are checked statically: a literal has its type, an intrinsic its own (`name` is a
string, `status` a status), an attribute is "attribute" (known at run time) and matches
anything. Every refusal carries the column of the operator or stage it is about.
"""

from __future__ import annotations

from kubespan.query.ast import And, Cond, Const, Expr, Field, Literal, Not, Or
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.nodes import INTRINSIC_TYPES, Aggregate, BinOp, Operand, QueryNode, ScalarFilter, UnOp
from kubespan.query.regex import compile_regex
from kubespan.query.values import NUMERIC, matching, types_valid

BOOLEAN_RESULT = ("&&", "||", "=", "!=", "=~", "!~", "<", "<=", ">", ">=")


def implied_type(node: Operand | Expr | None) -> str:
    if isinstance(node, Literal):
        return node.type
    if isinstance(node, Field):
        return "attribute" if node.kind == "attr" else INTRINSIC_TYPES.get(node.kind, "attribute")
    if isinstance(node, BinOp):
        if node.op in BOOLEAN_RESULT:
            return "bool"
        left = implied_type(node.left)
        return left if left != "attribute" else implied_type(node.right)
    if isinstance(node, UnOp):
        return "bool" if node.op in ("exists", "not_exists", "!") else implied_type(node.inner)
    if isinstance(node, Aggregate):
        return "int" if node.op == "count" else implied_type(node.expr)
    if isinstance(node, (Cond, And, Or, Not, Const)):
        return "bool"
    return "attribute"


def references_span(node: Operand | Expr) -> bool:
    if isinstance(node, Field):
        return True
    if isinstance(node, BinOp):
        return references_span(node.left) or references_span(node.right)
    if isinstance(node, UnOp):
        return references_span(node.inner)
    return isinstance(node, (Cond, And, Or, Not))


def show(node: QueryNode) -> str:
    from kubespan.query.stringer import to_traceql

    return to_traceql(node)


def check_binary(node: BinOp, column: int, value_column: int) -> None:
    left, right = implied_type(node.left), implied_type(node.right)
    if not matching(left, right):
        raise QuerySyntaxError(f"binary operations must operate on the same type: {show(node)}", column)
    if not types_valid(node.op, left, right):
        raise QuerySyntaxError(f"illegal operation for the given types: {show(node)}", column)
    if node.op in ("=~", "!~"):
        if not isinstance(node.right, Literal) or node.right.type != "str":
            raise QuerySyntaxError(f"invalid type for =~ or !~: {show(node.right)} (a regex is a string)", column)
        compile_regex(node.right.value, value_column)


def check_unary(node: UnOp, column: int) -> None:
    inner = node.inner
    if node.op == "not_exists" and isinstance(inner, Field):
        if inner.kind != "attr":
            raise QuerySyntaxError(f"{show(inner)}=nil is not valid because intrinsics cannot be nil", column)
        if inner.scope == "resource" and inner.key == "service.name":
            raise QuerySyntaxError("resource.service.name=nil is not valid because resource.service.name "
                                   "cannot be nil", column)
    type_ = implied_type(inner)
    if type_ == "attribute" or node.op in ("exists", "not_exists"):
        return
    if (node.op == "-" and type_ not in NUMERIC) or (node.op == "!" and type_ != "bool"):
        raise QuerySyntaxError(f"illegal operation for the given type: {show(node)}", column)


def check_filter(expr: Operand, column: int) -> None:
    if implied_type(expr) not in ("attribute", "bool"):
        raise QuerySyntaxError(f"span filter field expressions must resolve to a boolean: {{ {show(expr)} }}",
                               column)


def check_group(expr: Operand, column: int) -> None:
    if not references_span(expr):
        raise QuerySyntaxError(f"grouping field expressions must reference the span: by({show(expr)})", column)


def check_aggregate(node: Aggregate, column: int) -> None:
    if node.expr is None:
        return
    type_ = implied_type(node.expr)
    if type_ != "attribute" and type_ not in NUMERIC:
        raise QuerySyntaxError(f"aggregate field expressions must resolve to a number type: {show(node)}", column)
    if not references_span(node.expr):
        raise QuerySyntaxError(f"aggregate field expressions must reference the span: {show(node)}", column)


def check_scalar_filter(op: str, left: Operand, right: Operand, column: int) -> ScalarFilter:
    """`left op right` as a scalar filter (`aggregate OP number`), or the error Tempo gives."""
    from kubespan.query.stringer import scalar_filter

    for side in (left, right):
        if isinstance(side, Aggregate):
            check_aggregate(side, column)
    left_type, right_type = implied_type(left), implied_type(right)
    if not matching(left_type, right_type):
        raise QuerySyntaxError("binary operations must operate on the same type: "
                               f"{scalar_filter(op, left, right)}", column)
    if not types_valid(op, left_type, right_type):
        raise QuerySyntaxError(f"illegal operation for the given types: {scalar_filter(op, left, right)}", column)
    if not isinstance(left, Aggregate):
        raise QuerySyntaxError(f"scalar filter lhs of type ({show(left)}) not yet supported: write "
                               "aggregate OP number", column)
    if not isinstance(right, Literal):
        raise QuerySyntaxError(f"scalar filter rhs of type ({show(right)}) not yet supported: write "
                               "aggregate OP number", column)
    return ScalarFilter(op, left, right)
