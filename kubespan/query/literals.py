"""Literal parsing shared by both syntaxes: durations, kinds, statuses, ids."""

from __future__ import annotations

import re

from kubespan.query.ast import KINDS, STATUSES

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000,
          "w": 7 * 86_400_000_000_000, "y": 365 * 86_400_000_000_000}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)")
DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d|w|y))+")


def parse_duration(text: str) -> int | None:
    """`250us`, `1.5s`, `1h30m` → nanoseconds; a plain number is nanoseconds; None if invalid."""
    try:
        return _duration(text.strip())
    except (ValueError, OverflowError):  # more digits than int() takes, or past the float range
        return None


def _duration(text: str) -> int | None:
    if re.fullmatch(r"\d+", text):
        return int(text)
    if not DURATION.fullmatch(text):
        return None
    total = 0.0
    for number, unit in _PART.findall(text):
        total += float(number) * _UNITS[unit]
    return int(round(total))


def parse_kind(text: str) -> int | None:
    word = text.lower().removeprefix("span_kind_")
    if word in KINDS:
        return KINDS[word]
    return small_int(text, 6)


def parse_status(text: str) -> int | None:
    word = text.lower().removeprefix("status_code_")
    if word in STATUSES:
        return STATUSES[word]
    return small_int(text, 3)


def small_int(text: str, below: int) -> int | None:
    """`text` as an int in [0, below) if it is a short run of ASCII digits, else None."""
    if text.isascii() and text.isdigit() and len(text) <= 20:
        number = int(text)
        return number if number < below else None
    return None


def parse_hex(text: str) -> str | None:
    """A (prefix of a) hex id, lower-cased; None if not hex."""
    word = text.lower()
    return word if re.fullmatch(r"[0-9a-f]*", word) else None
