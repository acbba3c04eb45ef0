"""Interned tables the span columns point into: strings, resources, scopes, attribute keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kubespan.otlp.attributes import AttributeTable, value_text


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
            ids = [self.intern(text) for text in texts]
        return ids


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
    """Attribute ids by key, and by (key, text) for equality; fed with new table ids only.

    The lists only grow, so readers may slice them while the writer appends.
    """

    def __init__(self, table: AttributeTable) -> None:
        self.table = table
        self.seen = 0
        self.by_key: dict[str, list[int]] = {}
        self.by_text: dict[tuple[str, str], list[int]] = {}

    def update(self) -> None:
        attributes = self.table.attributes
        end = len(attributes)
        if end == self.seen:
            return
        by_key, by_text = self.by_key, self.by_text
        for index in range(self.seen, end):
            attribute = attributes[index]
            ids = by_key.get(attribute.key)
            if ids is None:
                by_key[attribute.key] = [index]
            else:
                ids.append(index)
            for text in _texts(attribute.value):
                ids = by_text.get((attribute.key, text))
                if ids is None:
                    by_text[(attribute.key, text)] = [index]
                else:
                    ids.append(index)
        self.seen = end


def _texts(value: Any) -> list[str]:
    """The text forms an equality can match: the value, or each array element."""
    if isinstance(value, list):
        return list({value_text(item) for item in value})
    return [value_text(value)]
