"""Readers for OTLP/JSON scalars: strings, booleans, 64-bit ints as numbers or
strings, doubles with NaN/Infinity words, enums by number or name, hex ids and
base64 bytes. Each returns the Python value or raises :class:`DecodeFailure`."""

from __future__ import annotations

import binascii
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from kubespan.otlp.jsoncodec.errors import DecodeFailure, short_int, short_repr, want

TRACE_ID_SIZE = 16
SPAN_ID_SIZE = 8

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_I32_MIN = -(2**31)
_I32_MAX = 2**31 - 1


def read_str(val: object) -> str:
    if type(val) is str:
        if not val.isascii():
            try:
                val.encode("utf-8")
            except UnicodeEncodeError:
                raise DecodeFailure("string is not valid Unicode (lone surrogate)") from None
        return val
    raise want("a string", val)


def read_bool(val: object) -> bool:
    if type(val) is bool:
        return val
    raise want("a boolean", val)


def read_uint(val: object, top: int) -> int:
    """Unsigned integer from a JSON number or a decimal string, at most ``top``."""
    if type(val) is int:
        n = val
    elif type(val) is str:
        if not (val.isascii() and val.isdigit()):
            raise DecodeFailure(f"invalid unsigned integer {short_repr(val)}")
        n = int(val)
    elif type(val) is float and val.is_integer():
        n = int(val)
    else:
        raise want("an unsigned integer", val)
    if 0 <= n <= top:
        return n
    raise DecodeFailure(f"integer {short_int(n)} out of range [0, {top}]")


def read_int64(val: object) -> int:
    if type(val) is int:
        n = val
    elif type(val) is str:
        digits = val[1:] if val[:1] in ("-", "+") else val
        if not (digits.isascii() and digits.isdigit()):
            raise DecodeFailure(f"invalid integer {short_repr(val)}")
        n = int(val)
    elif type(val) is float and val.is_integer():
        n = int(val)
    else:
        raise want("an integer", val)
    if _I64_MIN <= n <= _I64_MAX:
        return n
    raise DecodeFailure(f"integer {short_int(n)} out of int64 range")


_NUMBER_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")
_FLOAT_WORDS = {
    "nan": math.nan,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
}


def read_double(val: object) -> float:
    if type(val) is float:
        return val
    if type(val) is int:
        try:
            return float(val)
        except OverflowError:
            raise DecodeFailure(f"number {short_int(val)} out of double range") from None
    if type(val) is str:
        word = _FLOAT_WORDS.get(val.lower())
        if word is not None:
            return word
        if _NUMBER_RE.match(val):
            d = float(val)
            if not math.isinf(d):
                return d
        raise DecodeFailure(f"invalid number {short_repr(val)}")
    raise want("a number", val)


def read_enum(val: object, names: Mapping[str, int]) -> int:
    if type(val) is int:
        if _I32_MIN <= val <= _I32_MAX:
            return val
        raise DecodeFailure(f"enum value {short_int(val)} out of int32 range")
    if type(val) is str:
        n = names.get(val)
        if n is not None:
            return n
        raise DecodeFailure(f"unknown enum value {short_repr(val)}")
    raise want("an enum number or name", val)


SPAN_KIND_NAMES = dict(Span.SpanKind.items())
STATUS_CODE_NAMES = dict(Status.StatusCode.items())


@dataclass(frozen=True)
class IdRules:
    """How trace and span ids are read.

    ``strict``: an id of the wrong length fails with the Collector's "length mismatch" error.
    ``base64``: an id that is not hex of the right length may be base64 of the right length,
    as files saved from Tempo's API or by protobuf's generic JSON printer carry them. Receivers
    keep hex only, as the Collector does; files read both.
    """

    strict: bool = False
    base64: bool = False


HEX_IDS = IdRules()


def read_id(val: object, size: int, rules: IdRules = HEX_IDS) -> bytes:
    """Trace/span id from a hex string (or base64 under ``rules.base64``); "" is the empty id."""
    if type(val) is not str:
        raise want("a hex string", val)
    if not val:
        return b""
    try:
        raw = binascii.unhexlify(val)
    except (binascii.Error, ValueError):
        raw = None
    if rules.base64 and (raw is None or len(raw) != size):
        decoded = _base64_id(val, size)
        if decoded is not None:
            return decoded
    if raw is None:
        what = "hex or base64" if rules.base64 else "hex"
        raise DecodeFailure(f"invalid {what} id {short_repr(val)}")
    if rules.strict and len(raw) != size:
        raise DecodeFailure(f"length mismatch: want {size} bytes, got {len(raw)}")
    return raw


def _base64_id(val: str, size: int) -> bytes | None:
    """``val`` as base64 of exactly ``size`` bytes, or None."""
    if len(val) > 2 * size:
        return None
    try:
        raw = read_b64(val)
    except DecodeFailure:
        return None
    return raw if len(raw) == size else None


_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}\Z")


def read_b64(val: object) -> bytes:
    """Bytes from standard or URL-safe base64, padding optional (proto3 JSON)."""
    if type(val) is not str:
        raise want("a base64 string", val)
    s = val
    if "-" in s or "_" in s:
        s = s.replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    if len(s) % 4 == 0 and _B64_RE.match(s):
        try:
            return binascii.a2b_base64(s)
        except binascii.Error:
            pass
    raise DecodeFailure(f"invalid base64 {short_repr(val)}")


def read_list(val: object) -> list[Any]:
    if type(val) is list:
        return val
    raise want("an array", val)


def read_obj(val: object) -> dict[str, Any]:
    if type(val) is dict:
        return val
    raise want("an object", val)

