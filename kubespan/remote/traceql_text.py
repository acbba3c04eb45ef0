"""The filter bar's shorthand written as TraceQL a Tempo accepts, before a query leaves for a remote.

`service=kubelet name=syncPod k8s.pod=default/echo-command` becomes
`{ resource.service.name = "kubelet" && name = "syncPod" && .k8s.pod = "default/echo-command" }`.
TraceQL text is sent as typed. Where the shorthand means more than TraceQL can say, the
translation says what it does instead (`Translation.notes`), and the filter bar shows it:

- a shorthand value is compared loosely (`code=200` matches the number and the text), so a
  value that spells a number or a boolean becomes `(.code = 200 || .code = "200")`;
- a bare word (free text over every attribute value) becomes a case-insensitive match on the
  span name, the service and the pod and container names (`FREE_TEXT_FIELDS`);
- `not` is pushed down to the conditions (Tempo's `!(…)` around a condition matched nothing
  when tried); a shorthand `key!=value` also matches spans without the key, which TraceQL writes
  `(.key != "value" || (span.key = nil && resource.key = nil))`; negated, a number is compared
  with numbers only (`!=` between a number and a string was false in Tempo's storage layer and
  true in its engine when tried), and `service!=x` has no `nil` part (Tempo refuses
  `resource.service.name = nil`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubespan.query import Query
from kubespan.query.ast import KINDS, STATUSES, And, BareWord, Cond, Const, Field, Filter, Literal, Not, Or

FREE_TEXT_FIELDS = ("name", "resource.service.name", ".k8s.pod", ".k8s.pod.name", ".container.name")
"""What a bare word searches on a remote (it searches every value locally)."""
INTRINSICS = {"name": "name", "service": "resource.service.name", "kind": "kind", "status": "status",
              "duration": "duration", "trace": "trace:id", "span": "span:id", "parent": "span:parentID",
              "event": "event:name"}
_KIND_NAMES = {code: name for name, code in KINDS.items()}
_STATUS_NAMES = {code: name for name, code in STATUSES.items()}
_ATTRIBUTE_STOP = set(" \t\r\n{}()=~!<>&|^,\"'`+-*/%;") | {"\\"}
_REGEX_SPECIAL = set("\\.+*?()|[]{}^$")


class Untranslatable(ValueError):
    """The query has no TraceQL form; `str()` says why in one line."""


@dataclass(frozen=True, slots=True)
class Translation:
    traceql: str
    """What is sent as `q`."""
    translated: bool
    """False when the text was TraceQL already (sent as typed)."""
    notes: tuple[str, ...] = ()


def translate(query: Query | None) -> Translation:
    """The TraceQL for a compiled query (`None`, no filter, is `{ }`)."""
    if query is None:
        return Translation("{ }", False)
    if query.syntax != "shorthand":
        return Translation(query.text.strip(), False)
    root = query.root
    if not isinstance(root, Filter):
        raise Untranslatable("this shorthand query has no TraceQL form")
    notes: list[str] = []
    inner = _expr(root.expr, notes)
    return Translation("{ }" if inner == "true" else "{ " + inner + " }", True, tuple(dict.fromkeys(notes)))


def _expr(node, notes: list[str], negate: bool = False) -> str:
    """`node` as TraceQL; `negate` pushes a `not` down to the conditions (Tempo's `!(…)` on a
    condition matches nothing, so `not` is written with De Morgan's laws and `!=`, `<=`, `= nil`)."""
    if isinstance(node, Const):
        return "true" if node.value != negate else "false"
    if isinstance(node, Not):
        return _expr(node.inner, notes, not negate)
    if isinstance(node, (And, Or)):
        kind = type(node)
        joined = And if (kind is And) != negate else Or
        parts = [_operand(item, notes, negate, joined) for item in _chain(node, kind)]
        return (" && " if joined is And else " || ").join(parts)
    if isinstance(node, Cond):
        return _cond(node, notes, negate)
    if isinstance(node, BareWord):
        notes.append("free text searches " + ", ".join(FREE_TEXT_FIELDS) + " on a remote")
        pattern = string("(?i).*" + quote_meta(node.text) + ".*")
        if negate:
            return "(" + " && ".join(_missing_or(name, f"{name} !~ {pattern}") for name in FREE_TEXT_FIELDS) + ")"
        return "(" + " || ".join(f"{name} =~ {pattern}" for name in FREE_TEXT_FIELDS) + ")"
    raise Untranslatable(f"no TraceQL form for {type(node).__name__}")


def _chain(node: Any, kind: type[And] | type[Or]) -> list[Any]:
    """The operands of a run of one operator (`a && b && c`), in order."""
    out: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (And, Or)) and isinstance(item, kind):
            stack += [item.right, item.left]
        else:
            out.append(item)
    return out


def _operand(node, notes: list[str], negate: bool, joined: type) -> str:
    """An operand of a `joined` run: a run of the other operator is parenthesized."""
    text = _expr(node, notes, negate)
    while isinstance(node, Not):
        node, negate = node.inner, not negate
    if isinstance(node, (And, Or)) and ((type(node) is And) != negate) != (joined is And):
        return f"({text})"
    return text


def _missing_or(name: str, condition: str) -> str:
    return condition if name in ("name", "resource.service.name") else f"({condition} || {missing(name)})"


def missing(name: str) -> str:
    """`name` is absent. An unscoped `.key = nil` is true on Tempo when either scope lacks the key
    (seen: `{ .http.status_code = nil }` matched every span), so both scopes are asked."""
    if name.startswith("."):
        return f"(span{name} = nil && resource{name} = nil)"
    return f"{name} = nil"


_NEGATED = {"=": "!=", "=~": "!~", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def _cond(cond: Cond, notes: list[str], negate: bool = False) -> str:
    name = field_name(cond.field)
    kind = cond.field.kind
    op = _NEGATED[cond.op] if negate else cond.op
    literal = cond.literal
    if kind == "kind":
        return f"kind {op} {_KIND_NAMES.get(literal.value, literal.value)}"
    if kind == "status":
        return f"status {op} {_STATUS_NAMES.get(literal.value, literal.value)}"
    if kind == "duration":
        return f"duration {op} {duration(int(literal.value))}"
    if kind in ("trace", "span", "parent"):
        value = literal.value.hex() if isinstance(literal.value, bytes) else str(literal.value)
        return f"{name} {op} {string(value)}"
    values = _values(cond, notes)
    if negate:
        if len(values) > 1:  # `!=` across types differs between Tempo's storage and its engine
            notes.append("a negated number or true/false compares values of that type only on a remote")
        text = f"{name} {op} {values[0]}"
        if kind in ("name", "event", "service"):  # Tempo: "resource.service.name cannot be nil"
            return text
        return f"({text} || {missing(name)})"
    if len(values) == 1:
        return f"{name} {op} {values[0]}"
    return "(" + " || ".join(f"{name} {op} {value}" for value in values) + ")"


def duration(nanos: int) -> str:
    """A TraceQL duration in the largest unit that keeps it whole (`10ms`, `1500us`)."""
    for unit, size in (("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
                       ("ms", 1_000_000), ("us", 1_000)):
        if nanos and nanos % size == 0:
            return f"{nanos // size}{unit}"
    return f"{nanos}ns"


def _values(cond: Cond, notes: list[str]) -> list[str]:
    """The TraceQL literals a shorthand value stands for (a loose number: the number and the text)."""
    literal: Literal = cond.literal
    if literal.type != "loose":
        return [string(str(literal.value))]
    text = literal.text
    if cond.op == "=~" or cond.field.kind in ("name", "service", "event"):
        return [string(text)]
    typed = _typed(text)
    if typed is None:
        return [string(text)]
    if cond.op in ("=",):
        notes.append("a value that spells a number or true/false matches it as a number and as text")
        return [typed, string(text)]
    return [typed]


def _typed(text: str) -> str | None:
    if text in ("true", "false"):
        return text
    try:
        int(text, 10)
        return text.lstrip("+") if text.lstrip("+-").isdigit() else None
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return repr(number)


def field_name(field: Field) -> str:
    if field.kind != "attr":
        return INTRINSICS[field.kind]
    key = field.key if not (set(field.key) & _ATTRIBUTE_STOP) and field.key else string(field.key)
    if field.scope in ("span", "resource"):
        return f"{field.scope}.{key}"
    return f".{key}"


def string(text: str) -> str:
    """A TraceQL string literal (Go's double-quoted form; JSON's escapes are a subset)."""
    return json.dumps(text, ensure_ascii=False)


def quote_meta(text: str) -> str:
    """Go's `regexp.QuoteMeta`: the text as a regex matching itself."""
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in text)
