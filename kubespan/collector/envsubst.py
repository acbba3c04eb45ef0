"""`${env:VAR}`, `${VAR}` and `${env:VAR:-default}` in config values, as the Collector expands them.

Expansion applies to string values after YAML parsing. A value that is exactly one
reference takes the type of the substituted text read as YAML (`${env:PORT}` with
PORT=4317 is the int 4317), like the Collector's confmap. `$$` is a literal `$`.
An unset variable expands to the empty string (the Collector warns and does the same).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

_REFERENCE = re.compile(r"\$\$|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SubstitutionError(ValueError):
    """A `${...}` reference kubespan cannot expand (another provider, bad syntax)."""


def substitute(value: Any, environ: Mapping[str, str]) -> Any:
    """Expand references in every string of a parsed YAML document."""
    if isinstance(value, dict):
        return {key: substitute(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, environ) for item in value]
    if isinstance(value, str) and "$" in value:
        return _expand(value, environ)
    return value


def _expand(text: str, environ: Mapping[str, str]) -> Any:
    whole = _REFERENCE.fullmatch(text)
    expanded = _REFERENCE.sub(lambda m: _lookup(m, environ), text)
    _check_leftovers(expanded if whole is None else "", text)
    if whole is not None and whole.group(0) != "$$":
        try:
            typed = yaml.safe_load(expanded) if expanded else expanded
        except yaml.YAMLError:
            return expanded
        return typed if isinstance(typed, (str, int, float, bool)) else expanded
    return expanded


def _lookup(match: re.Match, environ: Mapping[str, str]) -> str:
    if match.group(0) == "$$":
        return "$"
    name, default = match.group(1), match.group(2)
    value = environ.get(name)
    if value is None or (value == "" and default is not None):
        return default if default is not None else ""
    return value


def _check_leftovers(expanded: str, original: str) -> None:
    leftover = re.search(r"\$\{[^}]*\}?", _REFERENCE.sub("", original))
    if leftover:
        raise SubstitutionError(
            f"cannot expand {leftover.group(0)!r}: kubespan supports ${{env:VAR}}, ${{VAR}} and ${{env:VAR:-default}}"
        )
