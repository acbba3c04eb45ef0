"""`/api/search` parameters read and checked as Tempo does (`api.ParseSearchRequest` and the search
sharder's limits), with Tempo's error texts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kubespan.api.gotext import GoSyntaxError, format_duration, parse_duration, parse_uint
from kubespan.api.responses import ApiError
from kubespan.api.server import ApiRequest
from kubespan.api.settings import (
    DEFAULT_SEARCH_LIMIT,
    DEFAULT_SPSS,
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_RANGE_S,
    MAX_SPSS,
)

_RESERVED = {"q", "tags", "minDuration", "maxDuration", "limit", "spss", "start", "end"}


@dataclass(slots=True)
class SearchRequest:
    query: str | None = None  # TraceQL (`q`), None for a tag search
    tags: dict[str, str] = field(default_factory=dict)
    min_duration_ms: int = 0
    max_duration_ms: int = 0
    limit: int = DEFAULT_SEARCH_LIMIT
    spss: int = DEFAULT_SPSS
    start: int = 0  # unix seconds, 0 = open
    end: int = 0


def _uint(req: ApiRequest, name: str, label: str | None = None) -> int | None:
    text = req.get(name)
    if text is None:
        return None
    try:
        return parse_uint(text, 32)
    except GoSyntaxError as exc:
        raise ApiError(400, f"invalid {label or name}: {exc}") from None


def parse_search(req: ApiRequest) -> SearchRequest:
    """The request, or a 400 worded like Tempo's."""
    out = SearchRequest()
    out.start = _uint(req, "start") or 0
    out.end = _uint(req, "end") or 0
    if req.has("q"):
        out.query = req.get("q") or ""
    if req.has("tags"):
        if req.has("q"):
            raise ApiError(400, "invalid request: can't specify tags and q in the same query")
        out.tags = parse_logfmt_tags(req.get("tags") or "")
    if not req.has("q") and not req.has("tags") and out.start == 0 and out.end == 0:
        for key, value in req.params:  # Grafana's first tag search sent tags as parameters
            if key not in _RESERVED and value and key not in out.tags:
                out.tags[key] = value
    for name in ("minDuration", "maxDuration"):
        text = req.get(name)
        if not text:  # Tempo's extractQueryParam: an empty value is no value
            continue
        try:
            ms = max(0, parse_duration(text) // 1_000_000) & 0xFFFFFFFF
        except GoSyntaxError as exc:
            raise ApiError(400, f"invalid {name}: {exc}") from None
        if name == "minDuration":
            out.min_duration_ms = ms
        else:
            out.max_duration_ms = ms
            if out.min_duration_ms and out.min_duration_ms > ms:
                raise ApiError(400, "invalid maxDuration: must be greater than minDuration")
    limit = _uint(req, "limit")
    if limit is not None:
        if limit == 0:
            raise ApiError(400, "invalid limit: must be a positive number")
        out.limit = limit
    spss = _uint(req, "spss")
    if spss is not None:
        out.spss = spss
    if (out.start or out.end) and out.end <= out.start:
        raise ApiError(400, f"http parameter start must be before end. received start={out.start} end={out.end}")
    if out.limit > MAX_SEARCH_LIMIT:
        raise ApiError(400, f"limit {out.limit} exceeds max limit {MAX_SEARCH_LIMIT}")
    if out.end - out.start > MAX_SEARCH_RANGE_S:
        raise ApiError(400, f"range specified by start and end exceeds {format_duration(MAX_SEARCH_RANGE_S * 10**9)}. "
                            f"received start={out.start} end={out.end}")
    if out.spss > MAX_SPSS:
        raise ApiError(400, f"spans per span set exceeds {MAX_SPSS}. received {out.spss}")
    return out


def parse_logfmt_tags(text: str) -> dict[str, str]:
    """go-logfmt's decoder over `tags` (one record per line); a key set twice is an error."""
    tags: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        pos = 0
        while True:
            key, value, pos = _keyval(line, pos)
            if key is None:
                break
            if key in tags:
                raise ApiError(400, f"invalid tags: tag {key} has been set twice")
            tags[key] = value
    return tags


def _syntax(message: str, pos: int) -> ApiError:
    return ApiError(400, f"invalid tags: {message} at pos {pos + 1}")


def _unexpected(char: str, pos: int) -> ApiError:
    return _syntax(f"unexpected {_go_quote_byte(char)}", pos)


def _go_quote_byte(char: str) -> str:
    return "'\"'" if char == '"' else f"'{char}'"


def _keyval(line: str, pos: int) -> tuple[str | None, str, int]:
    """One key=value from `pos`: (key, value, next position); key None at the end of the line."""
    while pos < len(line) and line[pos] <= " ":
        pos += 1
    if pos >= len(line):
        return None, "", pos
    start = pos
    while pos < len(line):
        c = line[pos]
        if c == "=":
            if pos == start:
                raise _unexpected(c, pos)
            break
        if c == '"':
            raise _unexpected(c, pos)
        if c <= " ":
            return line[start:pos], "", pos
        pos += 1
    key = line[start:pos]
    if pos >= len(line):
        return key, "", pos
    pos += 1  # past '='
    if pos >= len(line) or line[pos] <= " ":
        return key, "", pos
    if line[pos] == '"':
        return _quoted(line, pos, key)
    start = pos
    while pos < len(line):
        c = line[pos]
        if c in '="':
            raise _unexpected(c, pos)
        if c <= " ":
            break
        pos += 1
    return key, line[start:pos], pos


def _quoted(line: str, pos: int, key: str) -> tuple[str, str, int]:
    escaped = has_escape = False
    for i in range(pos + 1, len(line)):
        c = line[i]
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = has_escape = True
        elif c == '"':
            raw = line[pos:i + 1]
            if not has_escape:
                return key, raw[1:-1], i + 1
            try:
                return key, json.loads(raw), i + 1
            except ValueError:
                raise _syntax("invalid quoted value", i + 1) from None
    raise _syntax("unterminated quoted value", len(line))
