"""Series, their labels and their order, as Tempo's query_range answer shapes them.

A label value is typed like Tempo's: ("string", "kubelet"), ("int", 200), ("double", 0.5),
("bool", True), or ("nil", None) (shown as the string "nil"). A series holds one float per
interval of the time grid; NaN means "no sample" and is left out of the answer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kubespan.encode.go_strings import quote_proto_text

LabelValue = tuple[str, Any]
Label = tuple[str, LabelValue]
SeriesKey = tuple[Label, ...]
NAME_LABEL = "__name__"


@dataclass(slots=True)
class Series:
    labels: tuple[Label, ...]
    values: npt.NDArray[np.float64]
    exemplars: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> SeriesKey:
        """The identity of a series when two are matched: its labels without `__name__`."""
        return tuple(label for label in self.labels if label[0] != NAME_LABEL)

    def label_text(self) -> str:
        """`{resource.service.name="kubelet", name="syncPod"}`, as a terminal shows it."""
        return "{" + ", ".join(f"{name}={show_value(value)}" for name, value in self.labels) + "}"


SeriesSet = dict[SeriesKey, Series]


def show_value(value: LabelValue) -> str:
    kind, raw = value
    if kind == "string":
        return json.dumps(raw, ensure_ascii=False)
    if kind == "nil":
        return "nil"
    if kind == "bool":
        return "true" if raw else "false"
    if kind == "double":
        return go_float(raw)
    return str(raw)


def any_value(value: LabelValue) -> dict[str, Any]:
    """The OTLP/JSON `AnyValue` of a label value (protobuf JSON: int64 as a string)."""
    kind, raw = value
    if kind == "int":
        return {"intValue": str(raw)}
    if kind == "double":
        return {"doubleValue": json_number(raw)}
    if kind == "bool":
        return {"boolValue": bool(raw)}
    if kind == "nil":
        return {"stringValue": "nil"}
    return {"stringValue": raw}


def json_number(value: float) -> float | int | str:
    """A float as protobuf JSON writes it: whole numbers without a fraction, NaN/Inf as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def go_float(value: float) -> str:
    """Go's `%v` of a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    digits, exponent = _shortest(value)
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        sign = "-" if exponent < 0 else "+"
        return ("-" if value < 0 else "") + f"{mantissa}e{sign}{abs(exponent):02d}"
    text = np.format_float_positional(abs(value), trim="-")
    return ("-" if value < 0 else "") + text


def _shortest(value: float) -> tuple[str, int]:
    text = repr(abs(value))
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    exponent = int(exp or 0)
    digits = (whole + frac).lstrip("0")
    exponent += len(whole) - 1 if whole != "0" else -(len(frac) - len(frac.lstrip("0")) + 1)
    return digits.rstrip("0") or "0", exponent


def sort_key(series: Series) -> tuple[Any, ...]:
    """Tempo's answer order: fewer labels first, then label names, then the values' protobuf text.

    Values whose text is the same (`false` and `""` both print as nothing) are then ordered by kind and
    value, so the order never depends on which series was built first.
    """
    return (
        len(series.labels),
        [(name, _proto_text(value), value[0], repr(value[1])) for name, value in series.labels],
    )


def _proto_text(value: LabelValue) -> str:
    """The gogo-protobuf text form of an AnyValue (`string_value:"x" `), which Tempo sorts by."""
    kind, raw = value
    if kind in ("string", "nil"):
        text = "nil" if kind == "nil" else raw
        return "" if text == "" else "string_value:" + quote_proto_text(text) + " "
    if kind == "int":
        return f"int_value:{raw} "
    if kind == "double":
        return f"double_value:{go_float(raw)} "
    return "bool_value:true " if raw else ""


def labels_json(labels: tuple[Label, ...]) -> list[dict[str, Any]]:
    return [{"key": name, "value": any_value(value)} for name, value in labels]


def range_json(series: list[Series], timestamps_ms: list[int], metrics: dict[str, Any]) -> dict[str, Any]:
    """Tempo's `QueryRangeResponse` as JSON: series in Tempo's order, NaN samples and empty series left out."""
    out = []
    for one in sorted(series, key=sort_key):
        samples = []
        for ts, value in zip(timestamps_ms, one.values.tolist(), strict=False):
            if math.isnan(value):
                continue
            sample: dict[str, Any] = {"timestampMs": str(ts)}
            if value != 0:
                sample["value"] = json_number(value)
            samples.append(sample)
        if not samples:
            continue
        entry: dict[str, Any] = {"labels": labels_json(one.labels), "samples": samples}
        if one.exemplars:
            entry["exemplars"] = one.exemplars
        out.append(entry)
    return {"series": out, "metrics": metrics}


def instant_json(series: list[Series], metrics: dict[str, Any]) -> dict[str, Any]:
    """Tempo's `QueryInstantResponse`: one value per series."""
    out = []
    for one in sorted(series, key=sort_key):
        value = float(one.values[0]) if len(one.values) else math.nan
        if math.isnan(value):
            continue
        entry: dict[str, Any] = {"labels": labels_json(one.labels)}
        if value != 0:
            entry["value"] = json_number(value)
        out.append(entry)
    return {"series": out, "metrics": metrics}
