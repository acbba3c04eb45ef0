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


def _rfc3339(text: str, name: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _error(f'malformed parameter {name}: parsing time "{text}" as "2006-01-02T15:04:05.999999999Z07:00": '
                     "cannot parse") from None
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
        raise _error("query.startTimeMin and query.startTimeMax are required")
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
