"""Tiny validators for Collector config sections: types, durations, unknown keys.

Keys match case-insensitively, as the Collector's mapstructure decoding did in the
versions the walkthrough uses (`logLevel` is `loglevel`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any, str], Any]
IGNORED = object()
"""Marker: the key is accepted and validated loosely, with no effect in kubespan."""

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """The config file cannot be run; the message names the component and the fix."""


def section(schema: dict[str, Check | object], *, required: tuple[str, ...] = ()) -> Check:
    """A mapping with known keys; `None` (an empty YAML key) is an empty mapping."""

    def check(value: Any, path: str) -> dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: want a mapping, got {_kind(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key).lower()
            if name not in schema:
                supported = ", ".join(sorted(schema)) or "none"
                raise ConfigError(f"{path}: unknown key {key!r} (kubespan supports: {supported})")
            rule = schema[name]
            if rule is IGNORED:
                continue
            out[name] = rule(item, f"{path}::{key}")  # type: ignore[operator]
        for name in required:
            if out.get(name) in (None, ""):
                raise ConfigError(f"{path}: {name!r} is required")
        return out

    return check


def string(value: Any, path: str) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise ConfigError(f"{path}: want a string, got {_kind(value)}")
    return str(value)


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: want true or false, got {value!r}")
    return value


def integer(minimum: int = 0) -> Check:
    def check(value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: want an integer, got {value!r}")
        if value < minimum:
            raise ConfigError(f"{path}: must be >= {minimum}, got {value}")
        return value

    return check


def number(minimum: float = 0.0) -> Check:
    def check(value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: want a number, got {value!r}")
        if value < minimum:
            raise ConfigError(f"{path}: must be >= {minimum}, got {value}")
        return float(value)

    return check


def choice(*allowed: str, hint: str = "") -> Check:
    def check(value: Any, path: str) -> str:
        text = "" if value is None else str(value).lower()
        if text not in allowed:
            shown = ", ".join(repr(a) for a in allowed)
            raise ConfigError(f"{path}: {value!r} is not supported (kubespan supports: {shown}){hint}")
        return text

    return check


def duration(value: Any, path: str) -> float:
    """A Go duration (`100ms`, `1m30s`) or an integer of nanoseconds, in seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{path}: want a duration like 5s, got {value!r}")
    if isinstance(value, int):
        return value * 1e-9
    text = str(value).strip()
    if text == "0":
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ConfigError(f"{path}: invalid duration {value!r} (want e.g. 100ms, 5s, 1m30s)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def string_map(value: Any, path: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: want a mapping of strings, got {_kind(value)}")
    return {str(k): string(v, f"{path}::{k}") for k, v in value.items()}


def string_list(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{path}: want a list, got {_kind(value)}")
    return [string(v, f"{path}[{i}]") for i, v in enumerate(value)]


def anything(value: Any, path: str) -> Any:
    return value


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(value), f"{value!r}")
