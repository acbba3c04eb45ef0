"""The query syntax tree shared by the shorthand and TraceQL front ends.

Span-level nodes (`And`, `Or`, `Not`, `Cond`, `BareWord`, `Const`) say whether one
span matches. Spanset nodes (`Filter`, `SpansetOp`) combine the spans of one trace,
TraceQL style. Both evaluators (the naive one in `kubespan.query.naive` and the
indexed one in `kubespan.store.engine`) walk these nodes; the value-level
predicates below are shared, so both agree on what "equal" means.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar, Union

from kubespan.query.errors import QuerySyntaxError
from kubespan.query.regex import compile_regex

if TYPE_CHECKING:
    from kubespan.query.nodes import BinOp, Pipeline, UnOp

KINDS = {"unspecified": 0, "internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
STATUSES = {"unset": 0, "ok": 1, "error": 2}

# Field kinds: "attr" (scope "span", "resource" or "any"), "name", "service", "kind",
# "status", "duration", "trace", "span", "parent", "event".


@dataclass(frozen=True, slots=True)
class Field:
    kind: str
    scope: str = ""
    key: str = ""

    def describe(self) -> str:
        if self.kind == "attr":
            return f"{self.scope}.{self.key}" if self.scope != "any" else f".{self.key}"
        return self.kind


@dataclass(frozen=True, slots=True)
class Literal:
    """A typed literal. `type` is str, int, float, bool, duration, nil, status, kind or loose.

    "loose" (the shorthand) keeps the user's text; it is coerced to what it is compared with.
    """

    type: str
    value: Any
    text: str = ""


@dataclass(frozen=True, slots=True)
class Cond:
    field: Field
    op: str  # = != =~ !~ > >= < <=
    literal: Literal
    _pred: Callable[[Any], bool] | None = dataclasses.field(default=None, compare=False, hash=False, repr=False)

    def value_pred(self) -> Callable[[Any], bool]:
        """Predicate over one python value (str, int, float, bool, list...) of the field."""
        pred = self._pred
        if pred is None:
            pred = make_value_pred(self.op, self.literal, attribute=self.field.kind == "attr")
            object.__setattr__(self, "_pred", pred)
        return pred


@dataclass(frozen=True, slots=True)
class BareWord:
    """Case-insensitive substring over service, name, attribute values and event names."""

    text: str

    @property
    def folded(self) -> str:
        return self.text.casefold()


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class And:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Or:
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, slots=True)
class Not:
    inner: "Expr"


Expr = Union[And, Or, Not, Cond, BareWord, Const, "BinOp", "UnOp", Field, Literal]
"""What a span filter holds: the indexed condition nodes, or (where the parser could not lower
it to them) a generic field expression evaluated span by span."""


@dataclass(frozen=True, slots=True)
class Filter:
    """`{ expr }`: the spans matching `expr`."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class SpansetOp:
    """`left OP right` between spansets: && || > >> < << ~ (TraceQL)."""

    op: str
    left: "Spanset"
    right: "Spanset"


Spanset = Union[Filter, SpansetOp, "Pipeline"]
"""A spanset expression; parenthesized pipelines may be joined by spanset operators."""

MAX_DEPTH = 100
"""Deepest query tree accepted: parentheses, braces, `not`/`!` and operators all count.

Both evaluators recurse over the tree, so a deeper query is a syntax error rather
than a crash. Runs of one associative operator (`a or b or c…`) are folded into a
balanced tree (`fold`), so only their logarithm counts.
"""


Node = TypeVar("Node")


def fold(make: Callable[[Node, Node], Node], items: Sequence[Node]) -> Node:
    """Combine `items` (at least one) with the associative `make`, as a balanced tree."""
    if len(items) == 1:
        return items[0]
    middle = len(items) // 2
    return make(fold(make, items[:middle]), fold(make, items[middle:]))


def depth(node: object) -> int:
    """How many operators (`And Or Not SpansetOp`) nest in a query tree, without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(node, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, (And, Or, SpansetOp)):
            stack += [(node.left, level + 1), (node.right, level + 1)]
        elif isinstance(node, Not):
            stack.append((node.inner, level + 1))
        elif isinstance(node, Filter):
            stack.append((node.expr, level))
    return deepest


def too_deep(column: int) -> QuerySyntaxError:
    """The error for a query nested beyond `MAX_DEPTH` levels."""
    return QuerySyntaxError(
        f"query nested too deeply (at most {MAX_DEPTH} levels of parentheses, braces, not/! and operators)",
        column,
    )


def check_depth(root: Node) -> Node:
    """`root` itself, or `too_deep` (column 1) if its tree is deeper than `MAX_DEPTH`."""
    if depth(root) > MAX_DEPTH:
        raise too_deep(1)
    return root


# ---------------------------------------------------------------- value predicates


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_number(value: Any) -> float | int | None:
    """Numbers, and strings that spell a number (for the shorthand's coercion)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
            return None if math.isnan(number) else number
    return None


def text_of(value: Any) -> str:
    from kubespan.model import value_text

    return value_text(value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def make_value_pred(op: str, literal: Literal, attribute: bool = False) -> Callable[[Any], bool]:
    """Build the predicate for one value; arrays match if any element does.

    Also for `!=` and `!~`: Tempo returns an array whose elements are not all equal to (or all
    matching) the value, i.e. any element that differs (checked against a real Tempo).
    """
    if literal.type == "loose":
        scalar = _loose_pred(op, literal)
    else:
        scalar = _strict_pred(op, literal, attribute)
    def pred_any(value: Any) -> bool:
        if isinstance(value, list):
            return any(scalar(item) for item in value)
        return scalar(value)

    return pred_any


def _strict_compatible(literal: Literal, attribute: bool = False) -> Callable[[Any], bool]:
    """Which values a literal can compare with. Against attributes Tempo's storage compares an
    int only with ints and a float only with floats (`{ .ratio > 1 }` misses a ratio of 1.5)."""
    if attribute and literal.type in ("int", "duration"):
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if attribute and literal.type == "float":
        return lambda v: isinstance(v, float)
    if literal.type == "str":
        return lambda v: isinstance(v, str)
    if literal.type == "bool":
        return lambda v: isinstance(v, bool)
    if literal.type in ("int", "float", "duration"):
        return is_number
    return lambda v: False


def _strict_pred(op: str, literal: Literal, attribute: bool = False) -> Callable[[Any], bool]:
    """TraceQL typing: a string never equals a number; a type mismatch is false."""
    want = literal.value
    compatible = _strict_compatible(literal, attribute)
    if op in ("=~", "!~"):
        if literal.type != "str":
            return lambda v: False
        regex = compile_regex(want, 1)
        if op == "=~":
            return lambda v: isinstance(v, str) and regex.matches(v)
        return lambda v: isinstance(v, str) and not regex.matches(v)
    if literal.type == "bool" and op not in ("=", "!="):
        return lambda v: False
    compare = _COMPARE[op]
    return lambda v: compatible(v) and compare(v, want)


def _loose_pred(op: str, literal: Literal) -> Callable[[Any], bool]:
    """Shorthand coercion: compare text forms, and numbers numerically when both are numbers."""
    text = literal.text
    if op == "=~":
        regex = compile_regex(text, 1)
        return lambda v: regex.matches(text_of(v))
    number = as_number(text)
    if op == "=":
        if number is None:
            return lambda v: text_of(v) == text

        def equal(v: Any) -> bool:
            if text_of(v) == text:
                return True
            other = as_number(v) if not isinstance(v, bool) else None
            return other is not None and other == number

        return equal
    compare = _COMPARE[op]
    if number is not None:

        def numeric(v: Any) -> bool:
            other = as_number(v) if not isinstance(v, bool) else None
            return other is not None and compare(other, number)

        return numeric
    return lambda v: compare(text_of(v), text)
