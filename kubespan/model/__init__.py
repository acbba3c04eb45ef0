"""kubespan's data model: what the decoder produces and every other part reads.

A `TraceBatch` is one accepted export request: its wire bytes, its resources and
scopes, and a `SpanColumns` of per-span values; attribute values are interned in an
`AttributeTable` and named by small ints. Nothing here imports the rest of kubespan,
so receivers, processors, the store, the query engine, the encoders and the TUI can
all depend on it without depending on each other.
"""

from kubespan.model.attributes import Attribute, AttributeStorage, AttributeTable, PythonStorage, value_text
from kubespan.model.batch import (
    SPAN_COLUMNS,
    Rejections,
    ResourceInfo,
    ScopeInfo,
    SpanBlobs,
    SpanColumns,
    TraceBatch,
)
from kubespan.model.packed import PACKED_ARRAYS, PackedSpans

__all__ = [
    "PACKED_ARRAYS",
    "SPAN_COLUMNS",
    "Attribute",
    "AttributeStorage",
    "AttributeTable",
    "PackedSpans",
    "PythonStorage",
    "Rejections",
    "ResourceInfo",
    "ScopeInfo",
    "SpanBlobs",
    "SpanColumns",
    "TraceBatch",
    "value_text",
]
