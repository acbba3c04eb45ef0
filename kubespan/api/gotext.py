"""Go's number and duration syntax, so that kubespan reads parameters and words its errors as Tempo does.

`parse_uint` is `strconv.ParseUint(s, 10, bits)`, `parse_duration` is `time.ParseDuration`,
`format_duration` is `time.Duration.String`; each error message is Go's, word for word, with the
value in it quoted by `strconv.Quote` (`kubespan.encode.go_strings.quote`).
"""

from __future__ import annotations

from kubespan.encode.go_strings import quote

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_MAX_INT64 = (1 << 63) - 1


class GoSyntaxError(ValueError):
    """A value Go's parser refuses; `str()` is Go's message."""


def parse_uint(text: str, bits: int = 32, func: str = "ParseUint") -> int:
    """`strconv.ParseUint(text, 10, bits)` (decimal digits only, no sign, no underscores)."""
    if not text or not all("0" <= c <= "9" for c in text):
        raise GoSyntaxError(f"strconv.{func}: parsing {quote(text)}: invalid syntax")
    value = int(text)
    if value >= 1 << bits:
        raise GoSyntaxError(f"strconv.{func}: parsing {quote(text)}: value out of range")
    return value


def parse_int(text: str, bits: int = 64) -> int:
    """`strconv.ParseInt(text, 10, bits)`: an optional sign, then decimal digits."""
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not all("0" <= c <= "9" for c in digits):
        raise GoSyntaxError(f"strconv.ParseInt: parsing {quote(text)}: invalid syntax")
    value = int(text)
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise GoSyntaxError(f"strconv.ParseInt: parsing {quote(text)}: value out of range")
    return value


def parse_duration(text: str) -> int:
    """`time.ParseDuration`: nanoseconds from `1h2m3.5s`, `-1.5ms`, `300us`, `0`."""
    original, s = text, text
    negative = False
    if s and s[0] in "+-":
        negative, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise GoSyntaxError(f"time: invalid duration {quote(original)}")
    total = 0
    while s:
        i = 0
        while i < len(s) and s[i].isdigit():
            i += 1
        whole, s = s[:i], s[i:]
        frac = ""
        if s.startswith("."):
            j = 1
            while j < len(s) and s[j].isdigit():
                j += 1
            frac, s = s[1:j], s[j:]
        if not whole and not frac:
            raise GoSyntaxError(f"time: invalid duration {quote(original)}")
        j = 0
        while j < len(s) and s[j] != "." and not s[j].isdigit():
            j += 1
        unit, s = s[:j], s[j:]
        if not unit:
            raise GoSyntaxError(f"time: missing unit in duration {quote(original)}")
        if unit not in _UNITS:
            raise GoSyntaxError(f"time: unknown unit {quote(unit)} in duration {quote(original)}")
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(frac) * scale // 10 ** len(frac)
        total += value
        if total > _MAX_INT64 + (1 if negative else 0):
            raise GoSyntaxError(f"time: invalid duration {quote(original)}")
    return -total if negative else total


def format_duration(ns: int) -> str:
    """`time.Duration(ns).String()`: `168h0m0s`, `1.5s`, `2.15ms`, `607µs`, `0s`."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        for scale, unit in ((1, "ns"), (1_000, "µs"), (1_000_000, "ms")):
            if u < scale * 1000:
                return sign + _fraction(u, scale) + unit
    seconds, rest = divmod(u, 1_000_000_000)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = _fraction(secs * 1_000_000_000 + rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _fraction(value: int, scale: int) -> str:
    whole, frac = divmod(value, scale)
    if not frac:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}.{frac:0{digits}d}".rstrip("0")
