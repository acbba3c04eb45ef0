"""Decode errors for OTLP/JSON: the public :class:`JsonDecodeError` and the
internal failure that collects its JSON path while unwinding."""

from __future__ import annotations

from typing import Sequence


class JsonDecodeError(ValueError):
    """Invalid OTLP/JSON input. ``path`` says where (may be empty), ``reason`` what."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


class DecodeFailure(Exception):
    """Internal: a decode failure collecting its JSON path on the way up."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parts: list[str] = []

    def at(self, part: str) -> "DecodeFailure":
        self.parts.append(part)
        return self

    def public(self) -> JsonDecodeError:
        path = ".".join(reversed(self.parts)).replace(".[", "[")
        return JsonDecodeError(path, self.reason)


def json_type_name(val: object) -> str:
    """The JSON type name of a decoded JSON value, for messages."""
    if val is None:
        return "null"
    if isinstance(val, bool):
        return "boolean"
    if isinstance(val, (int, float)):
        return "number"
    if isinstance(val, str):
        return "string"
    if isinstance(val, list):
        return "array"
    return "object"


def want(what: str, val: object) -> DecodeFailure:
    return DecodeFailure(f"want {what}, got {json_type_name(val)}")


def short_repr(s: str, limit: int = 40) -> str:
    return repr(s if len(s) <= limit else s[:limit] + "...")


def short_int(n: int, limit: int = 40) -> str:
    """An integer for a message: its digits, or the first ones and how many there are."""
    digits = str(n)
    return digits if len(digits) <= limit else f"{digits[:limit]}... ({len(digits)} digits)"


def index_of(seq: Sequence[object], item: object) -> int:
    """Position of ``item`` (by identity) in ``seq``; used only on the error path."""
    for i, x in enumerate(seq):
        if x is item:
            return i
    return -1
