"""Reading the parameters of Tempo's metrics endpoints the way Tempo reads them (pkg/api/http.go):
`start`/`end` (unix seconds, nanoseconds, fractional seconds or RFC 3339), `since`, `step`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from kubespan.encode.go_strings import quote
from kubespan.metrics.timegrid import SECOND

_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": SECOND,
             "m": 60 * SECOND, "h": 3600 * SECOND}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_PROM_UNITS = {"ms": 1_000_000, "s": SECOND, "m": 60 * SECOND, "h": 3600 * SECOND, "d": 86400 * SECOND,
               "w": 7 * 86400 * SECOND, "y": 365 * 86400 * SECOND}
_PROM = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
INT64_MAX = 2**63 - 1


class ParamError(ValueError):
    """A parameter Tempo would refuse, with Tempo's wording."""


def go_parse_duration(text: str) -> int:
    """Go's time.ParseDuration: `1h30m`, `1.5s`, `300ms`, `-2m`; nanoseconds."""
    body = text
    sign = 1
    if body[:1] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body or not re.fullmatch(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+", body):
        raise ValueError(f"time: invalid duration {text!r}")
    total = 0
    for number, unit in _GO_PART.findall(body):
        whole, _, frac = number.partition(".")
        total += int(whole or 0) * _GO_UNITS[unit]
        if frac:
            total += int(int(frac) * _GO_UNITS[unit] // 10 ** len(frac))
    if total > INT64_MAX:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * total


def prom_parse_duration(text: str) -> int:
    """Prometheus' model.ParseDuration (`since`): `15m`, `1h30m`, `2d`, `1w`; no fractions."""
    match = _PROM.fullmatch(text)
    if not text or text == "" or match is None or not any(match.groups()):
        if text == "0":
            return 0
        raise ValueError(f"not a valid duration string: {text!r}".replace("'", '"'))
    units = ("y", "w", "d", "h", "m", "s", "ms")
    return sum(int(part) * _PROM_UNITS[unit] for part, unit in zip(match.groups(), units, strict=False) if part)


def parse_timestamp(text: str, default_ns: int, name: str) -> int:
    """Tempo's parseTimestamp: fractional seconds, ≤10 digits = seconds, more = nanoseconds, or RFC 3339."""
    if text == "":
        return default_ns
    if "." in text:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            whole = math.trunc(value)
            frac = round((value - whole) * 1000) / 1000
            return int(whole) * SECOND + int(frac * SECOND)
    if re.fullmatch(r"[+-]?\d+", text) and abs(int(text)) <= INT64_MAX:
        number = int(text)
        return number * SECOND if len(text) <= 10 else number
    try:
        return _rfc3339(text)
    except ValueError:
        pass
    reason = "value out of range" if re.fullmatch(r"[+-]?\d+", text) else "invalid syntax"
    raise ParamError(f"could not parse '{name}' parameter: strconv.ParseInt: parsing {quote(text)}: {reason}")


def _rfc3339(text: str) -> int:
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", text)
    if match is None:
        raise ValueError(text)
    zone = "+00:00" if match.group(4) in ("Z", "z") else match.group(4)
    moment = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}{zone}")
    fraction = match.group(3) or ""
    nanos = int((fraction[1:] + "000000000")[:9]) if fraction else 0
    return int(moment.timestamp()) * SECOND + nanos


def bounds(start: str, end: str, since: str, now_ns: int) -> tuple[int, int]:
    """(start, end) in unix ns: end defaults to now, start to end (or now, if end is later) minus `since` (1h)."""
    window = 3600 * SECOND
    if since:
        try:
            window = prom_parse_duration(since)
        except ValueError as err:
            raise ParamError(f"could not parse 'since' parameter: {err}") from None
    end_ns = parse_timestamp(end, now_ns, "end")
    start_ns = parse_timestamp(start, min(end_ns, now_ns) - window, "start")
    return start_ns, end_ns


def parse_step(text: str) -> int:
    """Tempo's step: seconds as a number (`15`, `7.5`) or a Go duration (`30s`, `1m`); nanoseconds."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isnan(seconds):
        nanos = seconds * SECOND
        if abs(nanos) > INT64_MAX:
            raise ParamError(f"cannot parse {quote(text)} to a valid duration. It overflows int64")
        step = int(nanos)
    else:
        try:
            step = go_parse_duration(text)
        except ValueError:
            raise ParamError(f"cannot parse {quote(text)} to a valid duration") from None
    if step < 0:
        raise ParamError(f"cannot parse {quote(text)}: step must be positive")
    return step


