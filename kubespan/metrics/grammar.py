"""Parsing TraceQL metrics queries: the part after `| rate()` and the arithmetic around pipelines.

The spanset pipeline before the metrics function, the fields of `by(…)` and the filter of
`compare({…})` are parsed by the search language's parser (`kubespan.query`); this module
finds where they start and end and parses the rest, Tempo's grammar (`pkg/traceql/expr.y`):

    query    := expr second* hints?
    expr     := pipeline '|' function second*            (one pipeline, no parentheses needed)
              | sum                                       (arithmetic: each pipeline in parentheses)
    sum      := product (('+' | '-') product)*
    product  := factor (('*' | '/') factor)*
    factor   := '(' pipeline '|' function second* ')' | '(' sum ')' | number | '-' factor
    function := rate() | count_over_time() | NAME(field) | quantile_over_time(field, q…)
              | compare({filter}[, n[, start, end]])       then optionally: by (field, …)
    second   := '|' topk(n) | '|' bottomk(n) | OP number  (OP one of = != < <= > >=)
"""

from __future__ import annotations

import re

from kubespan.metrics.ast import (
    COMPARISONS,
    MAX_GROUP_BY,
    NEEDS_FIELD,
    SECOND_STAGE,
    Aggregate,
    ByField,
    Compare,
    MetricsExpr,
    MetricsMath,
    MetricsPipeline,
    MetricsQuery,
    Scalar,
    SecondStage,
    SeriesFilter,
    TopK,
)
from kubespan.metrics.fields import parse_field, parse_pipeline
from kubespan.metrics.scan import (
    field_end,
    find_metrics_pipe,
    hints_start,
    matching_brace,
    matching_paren,
)
from kubespan.metrics.series import go_float
from kubespan.query.errors import QuerySyntaxError
from kubespan.query.limits import DEFAULT_MAX_LENGTH, check_length
from kubespan.query.literals import DURATION, parse_duration

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<dur>-?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d|w|y))+)
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<=|>=|=|<|>|\|\||\||\(|\)|,|\+|-|\*|/|\{|\})
""", re.VERBOSE)


class MetricsValidationError(QuerySyntaxError):
    """A well-formed query Tempo refuses when compiling it (a quantile above 1, `topk(0)` …)."""

    validation = True


def compile_metrics(text: str, max_length: int = DEFAULT_MAX_LENGTH) -> MetricsQuery:
    """Parse a TraceQL metrics query; raises `QuerySyntaxError(message, column)` (`QueryTooLong` past
    `max_length` characters, as the search language does)."""
    check_length(text, max_length)
    if not text.strip():
        raise QuerySyntaxError("empty query: a metrics query looks like `{ } | rate()`", 1)
    return _Parser(text).query()


def is_metrics_query(text: str) -> bool:
    """Whether `text` has a metrics function (`| rate()` …) outside braces and strings."""
    return find_metrics_pipe(text, 0, len(text), any_depth=True) is not None


class _Parser:
    """Recursive descent over `text`, one token at a time from offset `pos`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0

    # ------------------------------------------------------------------ tokens
    def peek(self, hi: int | None = None) -> tuple[str, str, int]:
        """(kind, text, offset) of the next token before `hi`; kind "eof" at the end."""
        hi = len(self.text) if hi is None else hi
        i = self.pos
        while i < hi:
            match = _TOKEN.match(self.text, i, hi)
            if match is None:
                return "bad", self.text[i], i
            if match.lastgroup != "space":
                return match.lastgroup or "bad", match.group(), i
            i = match.end()
        return "eof", "", hi

    def take(self, hi: int | None = None) -> tuple[str, str, int]:
        token = self.peek(hi)
        self.pos = token[2] + len(token[1])
        return token

    def expect(self, word: str, what: str, hi: int | None = None) -> tuple[str, str, int]:
        token = self.peek(hi)
        if token[1] != word:
            raise QuerySyntaxError(f"expected {what}, found {_show(token)}", token[2] + 1)
        return self.take(hi)

    # ------------------------------------------------------------------ query
    def query(self) -> MetricsQuery:
        end = len(self.text)
        hints_at = hints_start(self.text)
        hints: tuple[tuple[str, object], ...] = ()
        if hints_at is not None:
            end = hints_at
        pipe = find_metrics_pipe(self.text, 0, end)
        second: tuple[SecondStage, ...] = ()
        if pipe is not None:
            expr: MetricsExpr = self.pipeline(0, pipe, end)
        else:
            if find_metrics_pipe(self.text, 0, end, any_depth=True) is None:
                raise self.not_metrics(end)
            expr = self.sum(end)
            if isinstance(expr, Scalar):
                raise self.not_metrics(end)
            second = self.second_stage(end)
        token = self.peek(end)
        if token[1] in ("+", "-", "*", "/"):
            raise QuerySyntaxError("to combine metrics queries, put each in parentheses: "
                                   "({ … } | rate()) / ({ … } | rate())", token[2] + 1)
        if token[0] != "eof":
            raise QuerySyntaxError(f"unexpected {_show(token)}", token[2] + 1)
        if hints_at is not None:
            self.pos = hints_at
            hints = self.hints()
        return MetricsQuery(self.text, expr, second, hints)

    def not_metrics(self, end: int) -> QuerySyntaxError:
        """Why text without a metrics function is refused: a syntax error in it, or "not a metrics query"."""
        second = re.search(r"\|\s*(topk|bottomk)\b", self.text[:end])
        if second is not None:
            return QuerySyntaxError(f"{second.group(1)} follows a metrics function such as rate()",
                                    second.start(1) + 1)
        try:
            parse_pipeline(self.text, 0, end)
        except QuerySyntaxError as err:
            return err
        return QuerySyntaxError("not a metrics query: add a function such as `| rate()` or "
                                "`| count_over_time() by (resource.service.name)`", 1)

    def pipeline(self, lo: int, pipe: int, hi: int) -> MetricsPipeline:
        """`text[lo:pipe]` is the spanset pipeline; the function and second stage follow, up to `hi`."""
        spanset = parse_pipeline(self.text, lo, pipe)
        self.pos = pipe + 1
        first = self.function(hi)
        return MetricsPipeline(spanset, first, self.second_stage(hi))

    def function(self, hi: int) -> Aggregate | Compare:
        _kind, name, at = self.take(hi)
        self.expect("(", "'('", hi)
        if name == "compare":
            return self.compare(hi)
        field = None
        quantiles: tuple[float, ...] = ()
        if name in NEEDS_FIELD:
            field = self.field(hi, f"the field {name} aggregates (e.g. duration)")
            if name == "quantile_over_time":
                quantiles = self.quantiles(hi)
        self.expect(")", "')'", hi)
        by: tuple[ByField, ...] = ()
        if self.peek(hi)[1] == "by":
            self.take(hi)
            by = self.by_fields(hi)
            limit = MAX_GROUP_BY - 1 if name in ("quantile_over_time", "histogram_over_time") else MAX_GROUP_BY
            if len(by) > limit:
                raise MetricsValidationError(f"metrics group by {len(by)} values not yet supported", at + 1)
        return Aggregate(name, field, quantiles, by)

    def field(self, hi: int, what: str) -> ByField:
        """One field (attribute or intrinsic) up to the next `,` or `)`."""
        token = self.peek(hi)
        start = token[2]
        stop = field_end(self.text, start, hi)
        if stop == start:
            raise QuerySyntaxError(f"expected {what}, found {_show(token)}", start + 1)
        found = parse_field(self.text, start, stop)
        self.pos = stop
        return found

    def quantiles(self, hi: int) -> tuple[float, ...]:
        values = []
        while self.peek(hi)[1] == ",":
            self.take(hi)
            kind, word, at = self.take(hi)
            if kind != "num":
                raise QuerySyntaxError(f"expected a quantile between 0 and 1, found {_show((kind, word, at))}",
                                       at + 1)
            value = float(word)
            if not 0 <= value <= 1:
                raise MetricsValidationError(f"quantile must be between 0 and 1: {go_float(value)}", at + 1)
            values.append(value)
        if not values:
            token = self.peek(hi)
            raise QuerySyntaxError(f"expected ',' and the quantiles (e.g. .9), found {_show(token)}", token[2] + 1)
        return tuple(values)

    def by_fields(self, hi: int) -> tuple[ByField, ...]:
        self.expect("(", "'(' after by", hi)
        fields = [self.field(hi, "a field to group by")]
        while self.peek(hi)[1] == ",":
            self.take(hi)
            fields.append(self.field(hi, "a field to group by"))
        self.expect(")", "')' or ','", hi)
        return tuple(fields)

    def compare(self, hi: int) -> Compare:
        token = self.peek(hi)
        if token[1] != "{":
            raise QuerySyntaxError(f"compare takes a spanset filter first, found {_show(token)}", token[2] + 1)
        close = matching_brace(self.text, token[2], hi)
        selection = parse_pipeline(self.text, token[2], close + 1)
        self.pos = close + 1
        numbers = []
        while self.peek(hi)[1] == ",":
            self.take(hi)
            kind, word, at = self.take(hi)
            if kind != "num" or not word.isdigit():
                raise QuerySyntaxError(f"compare takes whole numbers after the filter, found {word!r}", at + 1)
            numbers.append((int(word), at))
        self.expect(")", "')'", hi)
        if len(numbers) not in (0, 1, 3):
            raise QuerySyntaxError("compare takes a filter, then a count, then optionally start and end",
                                   token[2] + 1)
        top_n = numbers[0][0] if numbers else 10
        if not 1 <= top_n <= 1000:
            raise MetricsValidationError("compare() top number of values must be an integer between 1 and 1000",
                                   numbers[0][1] + 1)
        start, end = (numbers[1][0], numbers[2][0]) if len(numbers) == 3 else (0, 0)
        if (start or end) and end <= start:
            raise MetricsValidationError("compare() end timestamp must be greater than start timestamp",
                                         numbers[2][1] + 1)
        return Compare(selection, top_n, start, end)

    def second_stage(self, hi: int) -> tuple[SecondStage, ...]:
        steps: list[SecondStage] = []
        while True:
            kind, word, at = self.peek(hi)
            if word == "|":
                self.take(hi)
                kind, name, at = self.take(hi)
                if name not in SECOND_STAGE:
                    raise QuerySyntaxError(f"expected topk or bottomk after a metrics function, found "
                                           f"{_show((kind, name, at))}", at + 1)
                self.expect("(", "'('", hi)
                kind, number, at = self.take(hi)
                if kind != "num" or not number.isdigit():
                    raise QuerySyntaxError(f"{name} takes a whole number, found {_show((kind, number, at))}", at + 1)
                if int(number) <= 0:
                    raise MetricsValidationError("limit must be greater than 0", at + 1)
                self.expect(")", "')'", hi)
                steps.append(TopK(name, int(number)))
            elif word in COMPARISONS:
                self.take(hi)
                steps.append(SeriesFilter(word, self.threshold(hi)))
            else:
                return tuple(steps)

    def threshold(self, hi: int) -> float:
        negative = False
        if self.peek(hi)[1] == "-":
            self.take(hi)
            negative = True
        kind, word, at = self.take(hi)
        if kind == "num":
            value = float(word)
        elif kind == "dur":
            value = _seconds(word, at)
        else:
            raise QuerySyntaxError(f"expected a number or a duration, found {_show((kind, word, at))}", at + 1)
        return -value if negative else value

    # ------------------------------------------------------------------ arithmetic
    def sum(self, hi: int) -> MetricsExpr:
        left = self.product(hi)
        while self.peek(hi)[1] in ("+", "-"):
            op = self.take(hi)[1]
            left = _combine(op, left, self.product(hi))
        return left

    def product(self, hi: int) -> MetricsExpr:
        left = self.factor(hi)
        while self.peek(hi)[1] in ("*", "/"):
            op = self.take(hi)[1]
            left = _combine(op, left, self.factor(hi))
        return left

    def factor(self, hi: int) -> MetricsExpr:
        kind, word, at = self.peek(hi)
        if word == "(":
            close = matching_paren(self.text, at, hi)
            if close < 0:
                raise QuerySyntaxError("missing ')'", at + 1)
            self.depth += 1
            if self.depth > 100:
                raise QuerySyntaxError("query nested too deeply", at + 1)
            pipe = find_metrics_pipe(self.text, at + 1, close)
            if pipe is not None:
                inner: MetricsExpr = self.pipeline(at + 1, pipe, close)
            else:
                self.pos = at + 1
                inner = self.sum(close)
            token = self.peek(close)
            if token[0] != "eof":
                raise QuerySyntaxError(f"unexpected {_show(token)}", token[2] + 1)
            self.pos = close + 1
            self.depth -= 1
            return inner
        if word == "-":
            self.take(hi)
            inner = self.factor(hi)
            if isinstance(inner, Scalar):
                return Scalar(-inner.value)
            return MetricsMath("*", Scalar(-1.0), inner)
        if kind == "num":
            self.take(hi)
            return Scalar(float(word))
        if kind == "dur":
            raise QuerySyntaxError("duration cannot be used as a scalar operand in metric arithmetic", at + 1)
        if word == "{":
            raise QuerySyntaxError("a metrics pipeline combined with + - * / must be in parentheses", at + 1)
        raise QuerySyntaxError(f"expected a metrics pipeline in parentheses or a number, found "
                               f"{_show((kind, word, at))}", at + 1)

    # ------------------------------------------------------------------ hints
    def hints(self) -> tuple[tuple[str, object], ...]:
        self.expect("with", "with", None)
        self.expect("(", "'('", None)
        found: list[tuple[str, object]] = []
        while True:
            kind, name, at = self.take()
            if kind != "ident":
                raise QuerySyntaxError(f"expected a hint name, found {_show((kind, name, at))}", at + 1)
            self.expect("=", "'='")
            kind, word, at = self.take()
            value: object
            if kind == "num":
                value = float(word) if any(c in word for c in ".eE") else int(word)
            elif word in ("true", "false"):
                value = word == "true"
            elif kind == "dur":
                value = _seconds(word, at)
            else:
                raise QuerySyntaxError(f"expected a hint value, found {_show((kind, word, at))}", at + 1)
            found.append((name, value))
            if self.peek()[1] != ",":
                break
            self.take()
        self.expect(")", "')'")
        token = self.peek()
        if token[0] != "eof":
            raise QuerySyntaxError(f"unexpected {_show(token)}", token[2] + 1)
        return tuple(found)


def _combine(op: str, left: MetricsExpr, right: MetricsExpr) -> MetricsExpr:
    """`left op right`; two numbers are folded (integer division stays integral, as in Tempo)."""
    if isinstance(left, Scalar) and isinstance(right, Scalar):
        a, b = left.value, right.value
        if op == "+":
            return Scalar(a + b)
        if op == "-":
            return Scalar(a - b)
        if op == "*":
            return Scalar(a * b)
        return Scalar(a / b if b else float("nan"))
    return MetricsMath(op, left, right)


def _seconds(word: str, at: int) -> float:
    nanos = parse_duration(word.lstrip("-"))
    if nanos is None or not DURATION.fullmatch(word.lstrip("-")):
        raise QuerySyntaxError(f"invalid duration {word!r}", at + 1)
    return (-nanos if word.startswith("-") else nanos) / 1e9


def _show(token: tuple[str, str, int]) -> str:
    kind, word, _ = token
    if kind == "eof":
        return "end of query"
    return repr(word)
