"""Scalars as the Collector's debug exporter prints them: ids, timestamps (Go's
``time.Time.String()`` with integer arithmetic, any year), doubles in pdata's
``float64AsString`` and in the legacy ``FormatFloat(f, 'f', -1, 64)`` form, and base64."""

from __future__ import annotations

import binascii
import math
from decimal import Decimal
from functools import lru_cache

_U64 = (1 << 64) - 1
_I64_SIGN = 1 << 63
_INF = math.inf


def format_id(raw: bytes) -> str:
    """Trace/span id as pdata prints it: lowercase hex, ``""`` if empty or all zero."""
    return raw.hex() if raw.lstrip(b"\0") else ""


def _go_year(y: int) -> str:
    return f"{y:04d}" if y >= 0 else "-" + f"{-y:04d}"


@lru_cache(maxsize=4096)
def _seconds_text(sec: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) for Unix seconds, proleptic Gregorian, any year."""
    days, rem = divmod(sec, 86400)
    # Howard Hinnant's civil_from_days; floor division keeps it exact before 1970.
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    return f"{_go_year(year)}-{month:02d}-{day:02d} {hh:02d}:{mm:02d}:{ss:02d}"


def format_timestamp(unix_nano: int) -> str:
    """Go's ``time.Unix(0, int64(ts)).UTC().String()`` for a uint64 nanosecond stamp.

    Values at or above 2**63 wrap negative (Go's signed conversion), so dates span
    1677-09-21 to 2262-04-11; the calendar arithmetic itself has no year limit and
    would print years as Go does (at least 4 digits, ``-0001`` before year 0).
    The fraction keeps up to 9 digits with trailing zeros (and a lone dot) removed.
    """
    ns = unix_nano & _U64
    if ns & _I64_SIGN:
        ns -= 1 << 64
    sec, frac = divmod(ns, 1_000_000_000)
    if frac:
        return f"{_seconds_text(sec)}.{frac:09d}".rstrip("0") + " +0000 UTC"
    return _seconds_text(sec) + " +0000 UTC"


def _plain(x: float) -> str:
    """Shortest round-tripping digits of a finite float, without exponent."""
    r = repr(x)
    if "e" in r:
        r = format(Decimal(r), "f")
    if "." in r:
        r = r.rstrip("0").rstrip(".")
    return r


def format_double(x: float) -> str:
    """pdata ``float64AsString`` (Go's JSON float form, ECMAScript-like)."""
    if x != x:
        return "json: unsupported value: NaN"
    if x == _INF or x == -_INF:
        return "json: unsupported value: " + ("+Inf" if x > 0 else "-Inf")
    a = -x if x < 0 else x
    if a != 0 and (a < 1e-6 or a >= 1e21):
        r = repr(x)  # Python uses the exponent form in this whole range
        mant, _, exp = r.partition("e")
        if exp[0] == "-" and exp[1] == "0":
            exp = "-" + exp[2:]
        return mant + "e" + exp
    if a < 9007199254740992.0 and x == int(x):
        return "-0" if x == 0 and math.copysign(1.0, x) < 0 else str(int(x))
    return _plain(x)


def format_double_legacy(x: float) -> str:
    """Go ``strconv.FormatFloat(x, 'f', -1, 64)`` (logging exporter before v0.62)."""
    if x != x:
        return "NaN"
    if x == _INF or x == -_INF:
        return "+Inf" if x > 0 else "-Inf"
    if -9007199254740992.0 < x < 9007199254740992.0 and x == int(x):
        return "-0" if x == 0 and math.copysign(1.0, x) < 0 else str(int(x))
    return _plain(x)


def base64_text(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode("ascii")
