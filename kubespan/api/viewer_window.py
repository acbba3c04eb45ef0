"""The window of a `/api/kubespan/*` request (`start`, `end`, `since`, as Tempo's), shared by its endpoints."""

from __future__ import annotations

import time

from kubespan.api.context import ApiContext
from kubespan.api.responses import ApiError
from kubespan.api.server import ApiRequest
from kubespan.metrics.params import ParamError, bounds


def viewer_window(ctx: ApiContext, req: ApiRequest) -> tuple[int, int]:
    """(start, end) in unix nanoseconds; counts the request (an attached viewer is there: kubespan.api.warm)."""
    ctx.counters.add("api_kubespan_requests", 1)
    try:
        start, end = bounds(req.get("start") or "", req.get("end") or "", req.get("since") or "", time.time_ns())
    except ParamError as exc:
        raise ApiError(400, str(exc)) from None
    if end <= start:
        raise ApiError(400, "invalid start and end: end must be after start")
    return start, end
