"""api_v3's `FindTraces` parameters (`TraceQueryParameters` over HTTP), read as Jaeger's gateway does."""

from __future__ import annotations

import json
from datetime import datetime

from kubespan.api.gotext import GoSyntaxError, parse_duration
from kubespan.api.responses import ApiError
from kubespan.api.server import ApiRequest

DEFAULT_SEARCH_DEPTH = 100


def _error(message: str) -> ApiError:
    body = json.dumps({"error": {"httpCode": 400, "message": message}}, separators=(",", ":"))
    return ApiError(400, body + "\n")


def _param(req: ApiRequest, canonical: str, deprecated: str) -> tuple[str, str]:
    value = req.get(canonical) or ""
    return (value, canonical) if value else (req.get(deprecated) or "", deprecated)


_LAYOUT = (("2006", 4), ("-", 0), ("01", 2), ("-", 0), ("02", 2), ("T", 0), ("15", 2), (":", 0), ("04", 2),
           (":", 0), ("05", 2))


def _go_time_error(text: str) -> str:
    """Go's `time.Parse(time.RFC3339Nano, text)` complaint: `cannot parse "<rest>" as "<layout element>"`."""
    rest = text
    for element, digits in _LAYOUT:
        if digits:
            if len(rest) < digits or not rest[:digits].isdigit():
                return f'cannot parse "{rest}" as "{element}"'
            rest = rest[digits:]
        elif not rest.startswith(element):
            return f'cannot parse "{rest}" as "{element}"'
        else:
            rest = rest[1:]
    return f'cannot parse "{rest}" as "Z07:00"'


def _rfc3339(text: str, name: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _error(f'malformed parameter {name}: parsing time "{text}" as "2006-01-02T15:04:05.999999999Z07:00": '
                     + _go_time_error(text)) from None
    if moment.tzinfo is None:
        raise _error(f'malformed parameter {name}: parsing time "{text}": missing time zone')
    seconds = int(moment.timestamp())
    return seconds * 1_000_000_000 + moment.microsecond * 1000


def parse_v3_query(req: ApiRequest) -> dict:
    """The search as `Jaeger._find` takes it: service, operation, tags, start/end (ns), durations, limit."""
    service, _ = _param(req, "query.serviceName", "query.service_name")
    operation, _ = _param(req, "query.operationName", "query.operation_name")
    tags: dict[str, str] = {}
    attributes = req.get("query.attributes") or ""
    if attributes:
        try:
            parsed = json.loads(attributes)
        except ValueError as exc:
            raise _error(f"malformed parameter query.attributes: {exc}") from None
        if not isinstance(parsed, dict):
            raise _error("malformed parameter query.attributes: want a JSON object")
        tags = {str(k): str(v) for k, v in parsed.items()}
    low, low_name = _param(req, "query.startTimeMin", "query.start_time_min")
    high, high_name = _param(req, "query.startTimeMax", "query.start_time_max")
    if not low or not high:
        # Jaeger v1.75.0 names the parameters in snake case; later versions take (and name) camel case too
        names = ("query.startTimeMin", "query.startTimeMax") if "Time" in low_name + high_name else (
            "query.start_time_min", "query.start_time_max")
        raise _error(f"{names[0]} and {names[1]} are required")
    start, end = _rfc3339(low, low_name), _rfc3339(high, high_name)
    if start >= end:
        raise _error("query.startTimeMin must be before query.startTimeMax")
    depth, depth_name = _param(req, "query.searchDepth", "query.search_depth")
    if not depth:
        depth, depth_name = req.get("query.num_traces") or "", "query.num_traces"
    try:
        limit = int(depth) if depth else DEFAULT_SEARCH_DEPTH
    except ValueError:
        raise _error(f'malformed parameter {depth_name}: strconv.Atoi: parsing "{depth}": invalid syntax') from None
    durations = {}
    for key, canonical, deprecated in (("minDuration", "query.durationMin", "query.duration_min"),
                                       ("maxDuration", "query.durationMax", "query.duration_max")):
        text, name = _param(req, canonical, deprecated)
        try:
            durations[key] = parse_duration(text) if text else 0
        except GoSyntaxError as exc:
            raise _error(f"malformed parameter {name}: {exc}") from None
    if limit <= 0:
        raise _error("search depth must be greater than 0 and less than max traces")
    return {"service": service, "operation": operation, "tags": tags, "start": start, "end": end,
            "limit": limit, **durations}


def parse_v3_trace_params(req: ApiRequest) -> None:
    """Checks `start_time`, `end_time` (RFC 3339) and `raw_traces` of a trace by id as Jaeger does; a
    stored trace is returned whatever its window (Jaeger's memory store ignores it too)."""
    for name in ("start_time", "end_time"):
        text = req.get(name) or ""
        if text:
            _rfc3339(text, name)
    raw = req.get("raw_traces") or ""
    if raw and raw not in ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"):
        raise _error(f'malformed parameter raw_traces: strconv.ParseBool: parsing "{raw}": invalid syntax')
