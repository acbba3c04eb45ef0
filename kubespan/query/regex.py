"""User regexes: Go/RE2 syntax, linear time, matched the way Tempo matches them.

Every regex a user types (TraceQL `=~`/`!~`, the shorthand's `=~`/`!~`, `--filter`,
`--drop`, the filter bar) is compiled here with RE2 (`google-re2`), whose syntax is the
one Go's `regexp` accepts and whose matching time is linear in the input. Like Tempo
(Prometheus' `FastRegexMatcher`: `^(?s:PATTERN)$`), a match must cover the whole value
and `.` also matches a newline. Syntax RE2 cannot run in linear time (backreferences,
lookaround, atomic groups, possessive quantifiers, conditionals) is refused with the
column of the construct and the reason.
"""

from __future__ import annotations

import re as _py_re
from functools import lru_cache
from typing import Protocol

import re2

from kubespan.query.errors import QuerySyntaxError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.dot_nl = True  # Tempo parses with Go's syntax.DotNL and wraps the pattern in (?s:…)
_OPTIONS.max_mem = 64 << 20
"""RE2's compile budget: a pattern whose automaton needs more is refused, not run."""

LINEAR = "kubespan runs regexes in linear time (RE2, Go's syntax, as Tempo does)"

_LOOKAROUND = {"(?=": "lookahead", "(?!": "negative lookahead", "(?<=": "lookbehind",
               "(?<!": "negative lookbehind", "(?>": "atomic groups", "(?(": "conditionals",
               "(?R": "recursion", "(?#": "comments"}
_ESCAPES = {"Z": "\\Z (write \\z or $)", "C": "\\C (single bytes)", "G": "\\G", "K": "\\K",
            "g": "backreferences (\\g)", "k": "named backreferences (\\k)", "R": "\\R", "X": "\\X",
            "h": "\\h", "H": "\\H", "v": "\\v", "V": "\\V", "N": "\\N"}


class _Compiled(Protocol):
    """What `Regex` uses of a compiled RE2 pattern."""

    def fullmatch(self, text: str) -> object: ...


class Regex:
    """A compiled user regex; `matches(text)` is Tempo's anchored match."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, compiled: _Compiled) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def matches(self, text: str) -> bool:
        return self._compiled.fullmatch(text) is not None

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def compile_regex(pattern: str, column: int) -> Regex:
    """`pattern` compiled, or a `QuerySyntaxError` whose column points into the query.

    `column` is where the pattern's first character sits in the query (1-based).
    """
    try:
        return _compile(pattern)
    except _Refused as refused:
        raise QuerySyntaxError(refused.message, column + refused.offset) from None


class _Refused(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message, self.offset = message, offset


@lru_cache(maxsize=512)
def _compile(pattern: str) -> Regex:
    _check_supported(pattern)
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise _Refused(*_explain(pattern, exc)) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Refused(f"invalid regex: {exc}", 0) from None
    return Regex(pattern, compiled)


MAX_NESTING = 1000
MAX_REPEAT = 1000
"""Go's limits on group nesting and on a repetition count such as `a{1000}`."""
_REPEAT = _py_re.compile(r"\{(\d+)(?:,(\d*))?\}")


def _check_supported(pattern: str) -> None:
    """Refuse what RE2 lacks, with a message saying why (RE2's own would only say 'invalid'),
    and what Go refuses but RE2 would read differently (huge repeat counts, deep nesting)."""
    i, in_class, nesting = 0, False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt.isdigit() and nxt != "0" and not in_class:
                raise _Refused(f"invalid regex: backreferences (\\{nxt}) are not supported; {LINEAR}", i)
            if nxt in _ESCAPES and not in_class:
                raise _Refused(f"invalid regex: {_ESCAPES[nxt]} is not supported; {LINEAR}", i)
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                i = end + 2 if end >= 0 else i + 1
                continue
        elif ch == "[":
            in_class = True
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):
                i += 1  # a literal ] first in a class
            continue
        elif ch == "(":
            for opener, what in _LOOKAROUND.items():
                if pattern.startswith(opener, i):
                    raise _Refused(f"invalid regex: {what} {opener}…) is not supported; {LINEAR}", i)
            nesting += 1
            if nesting > MAX_NESTING:
                raise _Refused(f"invalid regex: groups nested too deeply (at most {MAX_NESTING})", i)
        elif ch == ")":
            nesting -= 1
        elif ch == "{" and (repeat := _REPEAT.match(pattern, i)) is not None:
            counts = [int(n) for n in repeat.groups() if n]
            if any(n > MAX_REPEAT for n in counts):
                raise _Refused(f"invalid regex: invalid repeat count {repeat.group()} (at most {MAX_REPEAT})", i)
        elif ch in "*+?}" and pattern.startswith("+", i + 1) and i > 0:
            raise _Refused(f"invalid regex: possessive quantifiers ({ch}+) are not supported; {LINEAR}", i)
        i += 1


_FRAGMENT = _py_re.compile(r":\s*(.+)$", _py_re.DOTALL)


def _explain(pattern: str, exc: Exception) -> tuple[str, int]:
    """RE2's message and, when it quotes the faulty part, where that part starts."""
    raw = exc.args[0] if exc.args else str(exc)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    offset = 0
    found = _FRAGMENT.search(text)
    if found:
        where = pattern.find(found.group(1))
        offset = max(where, 0)
    return f"invalid regex: {text}", offset
