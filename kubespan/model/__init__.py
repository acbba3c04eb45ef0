"""kubespan's data model: what the decoder produces and every other part reads.

A `TraceBatch` is one accepted export request: its wire bytes, its resources and
scopes, and a `SpanColumns` of per-span values; attribute values are interned in an
`AttributeTable` and named by small ints. Nothing here imports the rest of kubespan,
so receivers, processors, the store, the query engine, the encoders and the TUI can
all depend on it without depending on each other.
"""

from kubespan.model.attributes import Attribute, AttributeTable, value_text
from kubespan.model.batch import (
    SPAN_COLUMNS,
    Rejections,
    ResourceInfo,
    ScopeInfo,
    SpanBlobs,
    SpanColumns,
    TraceBatch,
)

__all__ = [
    "SPAN_COLUMNS",
    "Attribute",
    "AttributeTable",
    "Rejections",
    "ResourceInfo",
    "ScopeInfo",
    "SpanBlobs",
    "SpanColumns",
    "TraceBatch",
    "value_text",
]
