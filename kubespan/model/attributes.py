"""Interned attributes: each distinct `KeyValue` is decoded once, then known by a small int.

Kubernetes spans repeat the same (key, value) pairs endlessly: namespaces, pods,
methods, status codes. The edge decoder looks up the raw wire bytes of each
attribute in an `AttributeTable`; only a pair never seen before is decoded (by the
table's `decode`, kubespan.otlp.attributes.decode_key_value), which also validates it.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol, Sequence, overload

import numpy as np

if TYPE_CHECKING:
    from kubespan.model.batch import TraceBatch


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


class AttributeStorage(Protocol):
    """One generation of an attribute table: ids are dense and never change within it.

    `PythonStorage` below, or the compiled `AttributeStore` (kubespan.otlp.attributes), which
    keeps each pair as its wire bytes and makes the `Attribute` when asked.
    """

    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Attribute: ...
    def intern(self, raw: bytes) -> int: ...
    def find(self, raw: bytes) -> int: ...
    def raw(self, index: int) -> bytes: ...
    def key_column(self, start: int = 0, end: int = ...) -> bytes: ...
    def key_id(self, key: str) -> int: ...
    def keys(self) -> list[str]: ...
    def odd_ids(self, start: int = 0, end: int = ...) -> list[int]: ...
    def compacted(self, keep: Any) -> AttributeStorage: ...
    def nbytes(self) -> int: ...


class PythonStorage:
    """`AttributeStorage` in Python: a dict from raw `KeyValue` bytes to ids, the decoded pair per id.

    Reads are lock-free (a dict lookup under the GIL); only a first sighting takes the lock.
    About 350 bytes per distinct pair; the compiled store costs a tenth of that.
    """

    def __init__(self, decode: Callable[[bytes], Attribute]) -> None:
        self.decode = decode
        self._ids: dict[bytes, int] = {}
        self._raws: list[bytes] = []
        self._attributes: list[Attribute] = []
        self._keys: dict[str, int] = {}
        self._key_of = array("i")
        self._lock = threading.Lock()
        self.lookup = self._ids.get

    def __len__(self) -> int:
        return len(self._attributes)

    @overload
    def __getitem__(self, index: int) -> Attribute: ...
    @overload
    def __getitem__(self, index: slice) -> list[Attribute]: ...

    def __getitem__(self, index: int | slice) -> Attribute | list[Attribute]:
        return self._attributes[index]

    def intern(self, raw: bytes) -> int:
        found = self._ids.get(raw)
        if found is not None:
            return found
        attribute = self.decode(raw)
        with self._lock:
            found = self._ids.get(raw)
            if found is None:
                found = len(self._attributes)
                self._add(raw, attribute)
            return found

    def _add(self, raw: bytes, attribute: Attribute) -> None:
        self._key_of.append(self._keys.setdefault(attribute.key, len(self._keys)))
        self._raws.append(raw)
        self._attributes.append(attribute)
        self._ids[raw] = len(self._attributes) - 1

    def find(self, raw: bytes) -> int:
        return -1  # every id is listed by odd_ids: equality lookups read them all

    def raw(self, index: int) -> bytes:
        return self._raws[index]

    def key_column(self, start: int = 0, end: int | None = None) -> bytes:
        return self._key_of[start:end].tobytes()

    def key_id(self, key: str) -> int:
        return self._keys.get(key, -1)

    def keys(self) -> list[str]:
        return list(self._keys)

    def odd_ids(self, start: int = 0, end: int | None = None) -> list[int]:
        return list(range(start, len(self) if end is None else min(end, len(self))))

    def compacted(self, keep: Any) -> PythonStorage:
        made = PythonStorage(self.decode)
        for index in list(keep):
            made._add(self._raws[index], self._attributes[index])
        return made

    def nbytes(self) -> int:
        return PYTHON_ENTRY_BYTES * len(self)


PYTHON_ENTRY_BYTES = 350
"""What a distinct pair costs `PythonStorage` (measured, proto_notes/store.md)."""


class AttributeTable:
    """Intern table from raw `KeyValue` bytes to dense ids, with the decoded pair per id.

    The ids live in a `storage` generation. `compact(keep)` starts the next generation with
    only the ids kept, renumbered in order, and bumps `generation`: ids of an older generation
    mean nothing in the new one (a batch says which generation it was decoded in). Readers
    that keep a generation (`attributes`) may keep using it: it never changes.
    """

    def __init__(self, decode: Callable[[bytes], Attribute],
                 storage: Callable[[], AttributeStorage] | None = None) -> None:
        self.decode = decode
        """Decodes and validates a `KeyValue` seen for the first time (raises to refuse it)."""
        self.storage: AttributeStorage = storage() if storage is not None else PythonStorage(decode)
        self.generation = 0

    def __len__(self) -> int:
        return len(self.storage)

    @property
    def attributes(self) -> AttributeStorage:
        """The current generation: `attributes[i]` is the `Attribute` of id i."""
        return self.storage

    def intern(self, raw: bytes) -> int:
        """Return the id of `raw`, decoding and validating it on first sight."""
        return self.storage.intern(raw)

    def intern_all(self, raws: Iterable[bytes]) -> list[int]:
        """Ids of a span's attributes."""
        return list(map(self.storage.intern, raws))

    def compact(self, keep: Any) -> None:
        """Keep only the ids in `keep` (ascending), renumbered 0, 1, ... in a new generation.

        Call it where no batch is being handed on (the pipeline's lock): batches decoded before
        it carry the old generation and must be `rebase`d.
        """
        self.storage = self.storage.compacted(keep)
        self.generation += 1

    def translate(self, ids: Sequence[int], storage: AttributeStorage) -> list[int]:
        """Ids of `storage` (an older generation) as ids of the current one, interned again by their bytes."""
        current = self.storage
        if storage is current:
            return list(ids)
        new = {old: current.intern(storage.raw(old)) for old in set(ids)}
        return [new[old] for old in ids]

    def rebase(self, batch: TraceBatch) -> TraceBatch:
        """`batch` with its attribute ids in the current generation (itself when they are)."""
        from kubespan.model.batch import SpanColumns, TraceBatch

        storage = batch.storage
        if storage is None or storage is self.storage:
            return batch
        ids = np.asarray(batch.spans.packed().attribute_ids)
        distinct, inverse = np.unique(ids, return_inverse=True)
        moved = np.array(self.translate(distinct.tolist(), storage), np.int32)[inverse]
        packed = dataclasses.replace(batch.spans.packed(), attribute_ids=moved.astype(np.int32))
        resources = [dataclasses.replace(r, attribute_ids=self.translate(r.attribute_ids, storage))
                     for r in batch.resources]
        spans = SpanColumns(batch.spans.request, packed=packed)
        moved_batch = TraceBatch(batch.raw, resources, batch.scopes, spans, batch.resource_spans_count, self.storage)
        moved_batch.encoded = batch.encoded
        return moved_batch
