"""Time windows in the filter bar: `since 5m`, `between 12:00 12:05`, TraceQL `with (since=5m)`.

A window is split off the end of the filter text before the query language sees the rest,
so it composes with either syntax (`service=kubelet since 10m`, `{ status = error } with
(since=1h)`) and `compile_query` stays unaware of it. Pure functions; no widgets.

- `since D` (`D` a duration: `90s`, `5m`, `1h30m`, `2d`): spans that started in the last D,
  measured from the wall clock when the search runs, so a live list keeps sliding.
- `since HH:MM[:SS]`: spans that started since that time of day.
- `between A B` (`A`, `B` times of day `HH:MM[:SS]`, or dates `YYYY-MM-DD[THH:MM[:SS]]`):
  spans that started in [A, B). A time of day is taken on the day of `reference_ns` (the
  newest stored span, so a dump from yesterday is searched on its own day) in the viewer's
  timezone; if B is earlier than A it is on the next day.
- TraceQL query hints (`with (...)` after the query, as Tempo writes `with (sample=true)`):
  `since=5m`, `start="12:00"`, `end="12:05"`; other hints are refused with their name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

NS = 1_000_000_000
UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3600 * NS, "d": 86400 * NS}

_DURATION = r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d))+"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]" + _CLOCK + r")?"
_MOMENT = rf"(?:{_DATE}|{_CLOCK})"

_WORDS = re.compile(
    r"(?:^|\s)(?:since\s+(?P<since>\S+)|between\s+(?P<start>\S+(?:[ T]\d[\d:.]*)?)\s+(?:and\s+)?"
    r"(?P<end>\S+(?:[ T]\d[\d:.]*)?))\s*$",
    re.IGNORECASE,
)
"""A trailing `since X` or `between A [and] B`; what X, A and B are is checked after."""
_HINTS = re.compile(r"\s+with\s*\((?P<hints>[^()]*)\)\s*$", re.IGNORECASE)
_HINT = re.compile(r"^\s*(?P<key>[A-Za-z_]+)\s*=\s*(?P<value>\"[^\"]*\"|'[^']*'|[^,\s]+)\s*$")


class TimeWindowError(ValueError):
    """A time clause that cannot be understood; `column` is 1-based, like QuerySyntaxError's."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True, slots=True)
class TimeClause:
    """What the filter text asked for, before it is resolved against a clock."""

    since_ns: int | None = None
    """`since 5m`: the window's length, ending at the moment of the search."""
    start: str | None = None
    """`since 12:00`, `between 12:00 …`: the first moment, as written."""
    end: str | None = None
    """`between … 12:05`: the moment after the last, as written."""
    text: str = ""
    """The clause as it appeared, for the status of the filter bar."""

    def resolve(self, now_ns: int, reference_ns: int | None, tz: tzinfo | None) -> tuple[int | None, int | None]:
        """(start, end) in unix ns; either may be None (open)."""
        if self.since_ns is not None:
            return now_ns - self.since_ns, None
        day = _day(reference_ns if reference_ns else now_ns, tz)
        start = _moment(self.start, day, tz) if self.start else None
        end = _moment(self.end, day, tz) if self.end else None
        if start is not None and end is not None and end <= start and _is_clock(self.end):
            end += 86400 * NS  # `between 23:50 00:10` crosses midnight
        return start, end


def split_time_clause(text: str) -> tuple[str, TimeClause | None]:
    """The filter text without its time clause, and the clause (None if there is none).

    Raises `TimeWindowError` for a `with (...)` hint kubespan does not know, or a time
    that does not exist (`25:00`)."""
    stripped = text.rstrip()
    hints = _HINTS.search(stripped) if stripped.lstrip().startswith(("{", "(")) else None
    if hints is not None:
        return stripped[: hints.start()].rstrip(), _from_hints(hints.group("hints"), hints.start("hints") + 1,
                                                              hints.group(0).strip())
    match = _WORDS.search(stripped)
    if match is None or _inside_quotes(stripped, match.start()):
        return text, None
    clause = match.group(0).strip()
    column = match.start() + 1 + (len(match.group(0)) - len(match.group(0).lstrip()))
    if match.group("since"):
        value = match.group("since")
        if re.fullmatch(_DURATION, value, re.IGNORECASE):
            found = TimeClause(since_ns=parse_duration(value), text=clause)
        elif re.fullmatch(_MOMENT, value):
            found = TimeClause(start=_checked(value, column), text=clause)
        else:
            raise TimeWindowError(f"since {value!r}: give a duration (5m, 1h30m) or a time (12:05); "
                                  "quote the words to search for them", column)
    else:
        found = TimeClause(start=_checked(match.group("start"), column), end=_checked(match.group("end"), column),
                           text=clause)
    return stripped[: match.start()].rstrip(), found


def parse_duration(text: str) -> int:
    """`1h30m` → nanoseconds (Go/TraceQL duration units, plus `d` for days)."""
    total = 0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)", text.lower()):
        total += int(float(number) * UNITS[unit])
    return total


def _from_hints(hints: str, column: int, clause: str) -> TimeClause:
    values: dict[str, str] = {}
    for part in hints.split(","):
        if not part.strip():
            continue
        match = _HINT.match(part)
        if match is None:
            raise TimeWindowError(f"cannot read the query hint {part.strip()!r}", column)
        key, value = match.group("key").lower(), match.group("value").strip("\"'")
        if key not in ("since", "start", "end"):
            raise TimeWindowError(f"unknown query hint {key!r} (kubespan knows since, start and end)", column)
        values[key] = value
    if "since" in values:
        if not re.fullmatch(_DURATION, values["since"], re.IGNORECASE):
            raise TimeWindowError(f"since={values['since']!r} is not a duration such as 5m or 1h30m", column)
        return TimeClause(since_ns=parse_duration(values["since"]), text=clause)
    for key in ("start", "end"):
        if key in values and not re.fullmatch(_MOMENT, values[key]):
            raise TimeWindowError(f"{key}={values[key]!r} is not a time such as 12:05 or 2026-12-07T12:05", column)
        if key in values:
            _checked(values[key], column)
    return TimeClause(start=values.get("start"), end=values.get("end"), text=clause)


def _checked(moment: str, column: int) -> str:
    if not re.fullmatch(_MOMENT, moment):
        raise TimeWindowError(f"{moment!r} is not a time such as 12:05 or 2026-12-07T12:05", column)
    try:
        _moment(moment, date(2000, 1, 1), None)
    except ValueError as exc:
        raise TimeWindowError(f"{moment!r} is not a time: {exc}", column) from None
    return moment


def _is_clock(moment: str | None) -> bool:
    return moment is not None and re.fullmatch(_CLOCK, moment) is not None


def _day(ns: int, tz: tzinfo | None) -> date:
    moment = datetime.fromtimestamp(ns / NS, tz=tz) if tz else datetime.fromtimestamp(ns / NS)
    return moment.date()


def _moment(text: str, day: date, tz: tzinfo | None) -> int:
    if _is_clock(text):
        parsed = datetime.combine(day, time.fromisoformat(_padded(text)))
    else:
        parsed = datetime.fromisoformat(text.replace(" ", "T"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz) if tz else parsed.astimezone()
    return int(parsed.timestamp()) * NS + parsed.microsecond * 1000


def _padded(clock: str) -> str:
    """`9:05` → `09:05` (fromisoformat wants two digits)."""
    return clock if len(clock.split(":", 1)[0]) == 2 else "0" + clock


def _inside_quotes(text: str, position: int) -> bool:
    quote = None
    escaped = False
    for char in text[:position]:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            if char == quote:
                quote = None
        elif char in "\"`'":
            quote = char
    return quote is not None


__all__ = ["TimeClause", "TimeWindowError", "parse_duration", "split_time_clause"]
