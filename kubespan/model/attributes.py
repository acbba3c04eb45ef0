"""Interned attributes: each distinct `KeyValue` is decoded once, then known by a small int.

Kubernetes spans repeat the same (key, value) pairs endlessly: namespaces, pods,
methods, status codes. The edge decoder looks up the raw wire bytes of each
attribute in an `AttributeTable`; only a pair never seen before is decoded (by the
table's `decode`, kubespan.otlp.attributes.decode_key_value), which also validates it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable


@dataclass(frozen=True, slots=True)
class Attribute:
    """One decoded (key, value) pair. `value` is a scalar, or JSON-like for arrays and maps."""

    key: str
    value: Any
    type: str  # "str", "int", "double", "bool", "bytes", "array", "kvlist", "empty"

    def text(self) -> str:
        """The value as a user would type it in a filter: no quotes, no type."""
        return value_text(self.value)


def value_text(value: Any) -> str:
    """Render a python attribute value as plain text (used by filters and the UI)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=lambda b: b.hex() if isinstance(b, bytes) else str(b))
    if value is None:
        return ""
    return str(value)


class AttributeTable:
    """Intern table from raw `KeyValue` bytes to dense ids, with the decoded pair per id.

    Reads are lock-free (a dict lookup under the GIL); only a first sighting takes the
    lock. Ids never change and entries are never removed, so readers may keep them.
    """

    def __init__(self, decode: Callable[[bytes], Attribute]) -> None:
        self.decode = decode
        """Decodes and validates a `KeyValue` seen for the first time (raises to refuse it)."""
        self._ids: dict[bytes, int] = {}
        self.attributes: list[Attribute] = []
        self._lock = threading.Lock()
        self.lookup = self._ids.get
        self.decoder_cache: Any = None
        """Kept here for the decoder: the compiled walk's ids by `KeyValue` bytes (kubespan.otlp.decode)."""

    def __len__(self) -> int:
        return len(self.attributes)

    def intern(self, raw: bytes) -> int:
        """Return the id of `raw`, decoding and validating it on first sight."""
        found = self._ids.get(raw)
        if found is not None:
            return found
        attribute = self.decode(raw)
        with self._lock:
            found = self._ids.get(raw)
            if found is None:
                found = len(self.attributes)
                self.attributes.append(attribute)
                self._ids[raw] = found
            return found

    def intern_all(self, raws: Iterable[bytes]) -> list[int]:
        """Ids of a span's attributes; the common case costs one C-level map."""
        ids = list(map(self.lookup, raws))
        if None in ids:
            return [self.intern(raw) for raw in raws]
        return ids  # type: ignore[return-value]  # no None left
