"""TraceQL metrics answers (`/api/metrics/query_range`, `/api/metrics/query`), checked field by field.

Tempo and kubespan answer in Tempo's JSON shape: `{"series": [{"labels": [{"key", "value": AnyValue}],
"samples": [{"timestampMs", "value"}]} | {"labels", "value"}], "status": "PARTIAL"?, "message"?}`.
A sample or value left out is 0; a label whose attribute a span lacks is the string "nil". Anything
else is `RemoteError("bad_answer", …)` naming the field, never a traceback.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubespan.remote.client import RemoteClient, RemoteError

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Found:
    """One series: its labels as text, one value per timestamp (range) or one value (instant)."""

    labels: Mapping[str, str]
    values: dict[int, float] = field(default_factory=dict)
    """timestampMs → value; an instant answer has one entry under 0."""

    @property
    def total(self) -> float:
        return sum(self.values.values())


@dataclass(frozen=True, slots=True)
class SeriesAnswer:
    series: list[Found]
    partial: str = ""
    """Why the remote cut the answer (its `message`, e.g. the max-series limit), or ""."""


def bad(where: str, what: str) -> RemoteError:
    return RemoteError("bad_answer", f"unexpected answer: {where} {what}")


def label_text(value: Any, where: str) -> str:
    """An OTLP/JSON AnyValue as the text the views show (`nil` for a missing attribute)."""
    if not isinstance(value, dict):
        raise bad(where, "is not an object")
    if not value:
        return "nil"
    kind, raw = next(iter(value.items()))
    if kind == "stringValue" and isinstance(raw, str):
        return raw
    if kind in ("intValue", "doubleValue") and isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        return str(raw)
    if kind == "boolValue" and isinstance(raw, bool):
        return "true" if raw else "false"
    raise bad(where, f"has an unexpected {kind}")


def number(value: Any, where: str) -> float:
    """A sample value: a JSON number or a numeric string (protobuf JSON writes NaN/Inf as strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise bad(where, "is not a number")
    try:
        found = float(value)
    except ValueError:
        raise bad(where, "is not a number") from None
    return 0.0 if math.isnan(found) else found


def parse_series(answer: Any, instant: bool) -> SeriesAnswer:
    """Check a metrics answer and read its series."""
    if not isinstance(answer, dict):
        raise bad("the answer", "is not a JSON object")
    raw = answer.get("series") or []
    if not isinstance(raw, list):
        raise bad("series", "is not a list")
    out = []
    for i, one in enumerate(raw):
        where = f"series[{i}]"
        if not isinstance(one, dict):
            raise bad(where, "is not an object")
        labels = {}
        for j, label in enumerate(one.get("labels") or []):
            if not isinstance(label, dict) or not isinstance(label.get("key"), str):
                raise bad(f"{where}.labels[{j}]", "has no key")
            labels[label["key"]] = label_text(label.get("value", {}), f"{where}.labels[{j}].value")
        values: dict[int, float] = {}
        if instant:
            values[0] = number(one.get("value", 0), f"{where}.value")
        else:
            samples = one.get("samples") or []
            if not isinstance(samples, list):
                raise bad(f"{where}.samples", "is not a list")
            for k, sample in enumerate(samples):
                if not isinstance(sample, dict):
                    raise bad(f"{where}.samples[{k}]", "is not an object")
                stamp = number(sample.get("timestampMs"), f"{where}.samples[{k}].timestampMs")
                values[int(stamp)] = number(sample.get("value", 0), f"{where}.samples[{k}].value")
        out.append(Found(labels, values))
    partial = ""
    if answer.get("status") == "PARTIAL":
        message = answer.get("message")
        partial = message if isinstance(message, str) and message else "the remote cut the answer"
    return SeriesAnswer(out, partial[:300])


def step_for(start_ns: int, end_ns: int, points: int) -> int:
    """A whole-second step giving at most about `points` samples over the window (Tempo allows 10,000)."""
    seconds = max(1, -(-(end_ns - start_ns) // NS))
    return max(1, -(-seconds // max(1, points)))


def metrics_query(client: RemoteClient, query: str, start_ns: int, end_ns: int, *,
                  step_s: int | None = None) -> SeriesAnswer:
    """Run one TraceQL metrics query over [start, end] (ns): a range query when `step_s` is given,
    else an instant one. Exemplars are not asked for (the views do not show them)."""
    params = {"q": query, "start": str(start_ns), "end": str(end_ns), "exemplars": "0"}
    if step_s is None:
        return parse_series(client.get_json("/api/metrics/query", params), instant=True)
    params["step"] = f"{step_s}s"
    return parse_series(client.get_json("/api/metrics/query_range", params), instant=False)
