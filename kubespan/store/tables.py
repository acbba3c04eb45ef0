"""Interned tables the span columns point into: strings, resources, scopes, attribute keys."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from kubespan.model import AttributeStorage, value_text


class StringTable:
    """Append-only string → dense id table (span names, services, event names)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.strings: list[str] = []

    def __len__(self) -> int:
        return len(self.strings)

    def intern(self, text: str) -> int:
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = len(self.strings)
            self.strings.append(text)
        return found

    def intern_many(self, texts: list[str]) -> list[int]:
        ids = list(map(self.ids.get, texts))
        if None in ids:
            return [self.intern(text) for text in texts]
        return ids  # type: ignore[return-value]  # no None in it


@dataclass(slots=True)
class ResourceEntry:
    service: int  # id in the services table
    attribute_ids: tuple[int, ...]
    raw: bytes
    schema_url: str


@dataclass(slots=True)
class ScopeEntry:
    resource: int
    raw: bytes
    schema_url: str


class ResourceScopes:
    """Resources and scopes interned by their raw bytes; small, shared by many spans."""

    def __init__(self) -> None:
        self.resources: list[ResourceEntry] = []
        self.scopes: list[ScopeEntry] = []
        self._resource_ids: dict[tuple[bytes, str, tuple[int, ...]], int] = {}
        self._scope_ids: dict[tuple[int, bytes, str], int] = {}
        self.scope_resource = np.zeros(0, np.int32)
        self.scope_service = np.zeros(0, np.int32)

    def intern_resource(self, raw: bytes, schema_url: str, attribute_ids: list[int], service: int) -> int:
        key = (raw, schema_url, tuple(attribute_ids))
        found = self._resource_ids.get(key)
        if found is None:
            found = self._resource_ids[key] = len(self.resources)
            self.resources.append(ResourceEntry(service, tuple(attribute_ids), raw, schema_url))
        return found

    def renumber_attributes(self, remap: npt.NDArray[np.int32]) -> None:
        """Attribute ids renumbered by a table compaction (new entries: snapshots keep the old ones)."""
        self.resources = [dataclasses.replace(r, attribute_ids=tuple(remap[list(r.attribute_ids)].tolist()))
                          for r in self.resources]
        self._resource_ids = {(r.raw, r.schema_url, r.attribute_ids): i for i, r in enumerate(self.resources)}

    def intern_scope(self, resource: int, raw: bytes, schema_url: str) -> int:
        key = (resource, raw, schema_url)
        found = self._scope_ids.get(key)
        if found is None:
            found = self._scope_ids[key] = len(self.scopes)
            self.scopes.append(ScopeEntry(resource, raw, schema_url))
            self.scope_resource = np.array([s.resource for s in self.scopes], np.int32)
            self.scope_service = np.array([self.resources[s.resource].service for s in self.scopes], np.int32)
        return found


KEY_COLUMN_SLICE = 32_768
"""Ids whose keys are read per call of the compiled table: each call holds the GIL (~5 ms for this
many), and a snapshot after a compaction reads them all (1.2M ids: ~170 ms at once otherwise)."""


class AttributeIndex:
    """Attribute ids by key, and by key then value text (for equality), of one table generation.

    Built lazily by readers, never by the writer: a query first indexes the ids added since
    the previous query, under the index's own lock. Keys come from the storage's key column
    (an int32 per id); equality finds a scalar value by its canonical wire bytes in the
    storage itself (`equal_ids`), so only the ids the storage calls odd (arrays, maps, bytes,
    unusual encodings; every id of the pure-Python storage) are indexed by text here.
    """

    def __init__(self, storage: AttributeStorage) -> None:
        self.storage = storage
        self.seen = 0
        self._key_buffer = np.zeros(0, np.int32)  # grows by doubling; `key_of` is a view of its first `seen`
        self.key_of = self._key_buffer[:0]
        self.by_text: dict[str, dict[str, int | list[int]]] = {}
        self._lock = threading.Lock()

    def update(self, end: int) -> None:
        """Index table ids [seen, end)."""
        if end <= self.seen:
            return
        with self._lock:
            self._update(end)

    def _update(self, end: int) -> None:
        if end <= self.seen:
            return
        storage, by_text = self.storage, self.by_text
        if end > len(self._key_buffer):  # a new buffer; readers keep the views of the old one
            grown = np.empty(max(end, 2 * len(self._key_buffer), 4096), np.int32)
            grown[:self.seen] = self._key_buffer[:self.seen]
            self._key_buffer = grown
        for first in range(self.seen, end, KEY_COLUMN_SLICE):  # other threads run between slices
            last = min(first + KEY_COLUMN_SLICE, end)
            self._key_buffer[first:last] = np.frombuffer(storage.key_column(first, last), np.int32)
        self.key_of = self._key_buffer[:end]  # ids past `seen` were written where no view reaches
        for index in storage.odd_ids(self.seen, end):
            attribute = storage[index]
            texts = by_text.setdefault(attribute.key, {})
            value = attribute.value
            if type(value) is str:
                _add(texts, value, index)
            elif type(value) is list:
                for text in {value_text(item) for item in value}:
                    _add(texts, text, index)
            else:
                _add(texts, value_text(value), index)
        self.seen = end

    def ids_of_key(self, key: str, end: int) -> list[int]:
        key_id = self.storage.key_id(key)
        if key_id < 0:
            return []
        key_of = self.key_of
        return np.flatnonzero(key_of[:min(end, len(key_of))] == key_id).tolist()  # type: ignore[no-any-return]

    def keys_of(self, ids: npt.NDArray[np.integer[Any]]) -> set[str]:
        """The keys of these attribute ids (indexed ones)."""
        key_of = self.key_of
        present = np.unique(key_of[ids[ids < len(key_of)]])
        keys = self.storage.keys()
        return {keys[k] for k in present.tolist()}

    def ids_of_text(self, key: str, text: str) -> list[int]:
        """Ids of `key` whose value reads `text` (an array: one of its elements does)."""
        storage = self.storage
        found = [i for i in (storage.find(raw) for raw in canonical_encodings(key, text))
                 if 0 <= i < self.seen and value_text(storage[i].value) == text]
        odd = self.by_text.get(key, {}).get(text)
        if odd is not None:
            found += [odd] if isinstance(odd, int) else odd
        return sorted(set(found))


INT64 = (-(1 << 63), (1 << 63) - 1)


def canonical_encodings(key: str, text: str) -> list[bytes]:
    """The wire bytes protobuf writes for each scalar `KeyValue` of `key` whose value could read `text`."""
    values = [AnyValue(string_value=text)]
    if text in ("true", "false"):
        values.append(AnyValue(bool_value=text == "true"))
    try:
        number = int(text)
    except ValueError:
        pass
    else:
        if INT64[0] <= number <= INT64[1]:
            values.append(AnyValue(int_value=number))
    try:
        values.append(AnyValue(double_value=float(text)))
    except ValueError:
        pass
    out = [KeyValue(key=key, value=value).SerializeToString() for value in values]
    if not text:
        out.append(KeyValue(key=key).SerializeToString())
    return out


def _add(texts: dict[str, int | list[int]], text: str, index: int) -> None:
    found = texts.get(text)
    if found is None:
        texts[text] = index
    elif isinstance(found, int):
        texts[text] = [found, index]
    else:
        found.append(index)
