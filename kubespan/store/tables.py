"""Interned tables the span columns point into: strings, resources, scopes, attribute keys."""

from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass

import numpy as np

from kubespan.model import AttributeTable, value_text


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

    def intern_scope(self, resource: int, raw: bytes, schema_url: str) -> int:
        key = (resource, raw, schema_url)
        found = self._scope_ids.get(key)
        if found is None:
            found = self._scope_ids[key] = len(self.scopes)
            self.scopes.append(ScopeEntry(resource, raw, schema_url))
            self.scope_resource = np.array([s.resource for s in self.scopes], np.int32)
            self.scope_service = np.array([self.resources[s.resource].service for s in self.scopes], np.int32)
        return found


class AttributeIndex:
    """Attribute ids by key, and by key then value text (for equality), built lazily by readers.

    The writer never touches it: a query first indexes the table entries added since
    the previous query, under the index's own lock. The per-key id arrays only grow, so
    a reader may keep using the ones it read.
    """

    def __init__(self, table: AttributeTable) -> None:
        self.table = table
        self.seen = 0
        self.by_key: dict[str, array[int]] = {}
        self.by_text: dict[str, dict[str, int | list[int]]] = {}
        self._lock = threading.Lock()

    def update(self, end: int) -> None:
        """Index table ids [seen, end)."""
        if end <= self.seen:
            return
        with self._lock:
            self._update(end)

    def _update(self, end: int) -> None:
        attributes = self.table.attributes
        by_key, by_text = self.by_key, self.by_text
        for index in range(self.seen, end):
            attribute = attributes[index]
            key, value = attribute.key, attribute.value
            ids = by_key.get(key)
            if ids is None:
                ids = by_key[key] = array("i")
                by_text[key] = {}
            ids.append(index)
            texts = by_text[key]
            if type(value) is str:
                _add(texts, value, index)
            elif type(value) is list:
                for text in {value_text(item) for item in value}:
                    _add(texts, text, index)
            else:
                _add(texts, value_text(value), index)
        self.seen = end

    def ids_of_key(self, key: str, end: int) -> list[int]:
        ids = self.by_key.get(key)
        return [] if ids is None else [i for i in ids[:len(ids)].tolist() if i < end]

    def ids_of_text(self, key: str, text: str) -> list[int]:
        found = self.by_text.get(key, {}).get(text)
        if found is None:
            return []
        return [found] if isinstance(found, int) else list(found)


def _add(texts: dict[str, int | list[int]], text: str, index: int) -> None:
    found = texts.get(text)
    if found is None:
        texts[text] = index
    elif isinstance(found, int):
        texts[text] = [found, index]
    else:
        found.append(index)
