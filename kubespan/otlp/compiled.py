"""The compiled part of the edge decoder (kubespan/otlp/csrc/, built as kubespan.otlp._spanwalk), when it is built.

`pip install` builds it wherever a C compiler is (setup.py); without one, or with
`KUBESPAN_PURE_PYTHON=1` in the environment, every name here is None and kubespan
decodes and writes JSON lines with protobuf's accessors alone: the same results,
more slowly (README, Performance: 0.7× the ingest rate with the full index, 0.5× with --jsonl).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from kubespan.otlp._spanwalk import AttributeStore as AttributeStoreType
    from kubespan.otlp._spanwalk import BytesCache as BytesCacheType
    from kubespan.otlp._spanwalk import IdTable as IdTableType

PURE_PYTHON_ENV = "KUBESPAN_PURE_PYTHON"


def pure_python_asked() -> bool:
    return os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")


def _load() -> ModuleType | None:
    if pure_python_asked():
        return None
    try:
        from kubespan.otlp import _spanwalk
    except ImportError:  # built without a C compiler
        return None
    return _spanwalk


_spanwalk = _load()

span_arrays: Callable[[bytes, AttributeStoreType], tuple[Any, ...] | None] | None = getattr(
    _spanwalk, "span_arrays", None)
"""Packed span columns of a parsed request (`kubespan.model.PackedSpans.from_walk` reads them), or None for
the accessor path (kubespan.otlp.decode)."""
span_json_lines: Callable[[bytes, BytesCacheType, list[tuple[bytes, bytes]]], tuple[bytes, list[int]] | None] | None = (
    getattr(_spanwalk, "span_json_lines", None))
"""One-span-per-line OTLP/JSON of a request, or None for the view encoder (kubespan.encode.span_lines)."""
count_messages: Callable[[bytes, int], tuple[int, int]] | None = getattr(_spanwalk, "count_messages", None)
"""The message-bomb walk of kubespan.otlp.wire, in C."""
strip_attributes: Callable[[bytes, AttributeStoreType, Any, Any], bytes | None] | None = getattr(
    _spanwalk, "strip_attributes", None)
"""A request without its spans' attributes once checked against the store's bytes (kubespan.store.chunk)."""
join_attributes: Callable[[bytes, AttributeStoreType, Any], bytes] | None = getattr(_spanwalk, "join_attributes", None)
"""A span's bytes with the KeyValues of attribute ids appended (kubespan.store.chunk)."""
cut_header: Callable[[bytes, int, int, int], list[tuple[int, int]] | None] | None = getattr(
    _spanwalk, "cut_header", None)
"""The request slicer's header walk of a container (kubespan.otlp.slices), in C."""
cut_children: Callable[..., tuple[list[tuple[int, int] | None], int, int, bool] | None] | None = getattr(
    _spanwalk, "cut_children", None)
"""The request slicer's placing of a container's whole children (kubespan.otlp.slices), in C."""
scalar_key_value: Callable[[bytes], tuple[str, Any, str] | None] | None = getattr(_spanwalk, "scalar_key_value", None)
"""(key, value, type) of a scalar KeyValue's wire bytes, or None for kubespan.otlp.attributes' official path."""
AttributeStore: type[AttributeStoreType] | None = getattr(_spanwalk, "AttributeStore", None)
"""`AttributeStore(decode, factory)`: distinct attribute KeyValues by dense id, kept as their wire bytes
(kubespan/otlp/csrc/attr_store.h); a generation of kubespan.model.AttributeTable."""
IdTable: type[IdTableType] | None = getattr(_spanwalk, "IdTable", None)
"""`IdTable(width)`: fixed-width ids numbered densely (the store's trace rows, kubespan/otlp/csrc/id_table.c)."""
BytesCache: type[BytesCacheType] | None = getattr(_spanwalk, "BytesCache", None)
"""`BytesCache(miss, limit=0)`: `cache[raw]` is `miss(raw)`, computed once per distinct bytes; the C
functions look wire slices up in it without making a bytes object (kubespan/otlp/csrc/bytes_cache.h)."""


def available() -> bool:
    return _spanwalk is not None
