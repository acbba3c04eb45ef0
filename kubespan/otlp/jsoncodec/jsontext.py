"""JSON text to Python values for the OTLP/JSON decoder: one value (a request body, a dump line)
or a sequence of whole documents (a pretty-printed file), with the object-bomb check and
errors as :class:`JsonDecodeError`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from kubespan.otlp.jsoncodec.errors import DecodeFailure, JsonDecodeError

OBJECT_SCAN_FROM = 64 * 1024
"""Bodies at least this large have their JSON objects counted before parsing."""
MIN_OBJECT_BYTES = 8
"""Fewest bytes per JSON object a body may average: real OTLP/JSON averages about 60,
an array of small numbers `{"intValue":1},` 15; empty spans `{},` are 3."""

_SKIP_WHITESPACE = re.compile(r"[ \t\n\r]*").match


def _reject_constant(name: str) -> None:
    raise DecodeFailure(f"invalid JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _refuse_object_bomb(text: str) -> None:
    """Refuse millions of tiny objects (`{},{},…` spans) before they become Python dicts."""
    if len(text) < OBJECT_SCAN_FROM:
        return
    most = len(text) // MIN_OBJECT_BYTES
    if text.count("{") > most:
        raise JsonDecodeError("", f"more than {most} JSON objects in {len(text)} characters")


def _text(data: bytes | bytearray | memoryview | str) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonDecodeError("", f"invalid UTF-8 at byte offset {e.start}") from None
    raise TypeError(f"want bytes or str, got {type(data).__name__}")


def _parse(text: str, at: int) -> tuple[object, int]:
    """The JSON value starting at offset ``at`` and the offset after it."""
    try:
        return _DECODER.raw_decode(text, at)
    except (ValueError, DecodeFailure, RecursionError) as e:
        raise _json_error(e) from None


def load_json(data: bytes | bytearray | memoryview | str) -> object:
    """Parse JSON text (UTF-8 bytes or str) into Python values, raising JsonDecodeError."""
    text = _text(data)
    _refuse_object_bomb(text)
    try:
        return _DECODER.decode(text)  # json.loads would build a new decoder for every call
    except (ValueError, DecodeFailure, RecursionError) as e:
        raise _json_error(e) from None


def _json_error(e: Exception) -> JsonDecodeError:
    """What the JSON parser (or a hook of ours inside it) raised, as the one error callers catch."""
    if isinstance(e, json.JSONDecodeError):
        return JsonDecodeError("", f"invalid JSON: {e.msg} (line {e.lineno} column {e.colno})")
    if isinstance(e, DecodeFailure):
        return e.public()
    if isinstance(e, RecursionError):
        return JsonDecodeError("", "invalid JSON: nesting too deep")
    return JsonDecodeError("", f"invalid JSON: {e}")  # e.g. an integer literal too long to convert


def iter_json_documents(data: bytes | bytearray | memoryview | str) -> Iterator[tuple[int, object]]:
    """(line number, value) of each JSON value in ``data``, one after another (whitespace between).

    A pretty-printed file holds one; `jq . a.json b.json` writes several. The first value that
    does not parse ends the sequence as (line where it starts, :class:`JsonDecodeError`). Text
    that is not UTF-8 raises JsonDecodeError.
    """
    text = _text(data)
    _refuse_object_bomb(text)
    at, line, counted = 0, 1, 0
    while True:
        blank = _SKIP_WHITESPACE(text, at)
        assert blank is not None  # the pattern matches the empty string
        at = blank.end()
        if at >= len(text):
            return
        line += text.count("\n", counted, at)
        counted = at
        try:
            value, at = _parse(text, at)
        except JsonDecodeError as exc:
            yield line, exc
            return
        yield line, value
