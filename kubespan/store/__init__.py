"""The span store: columnar, bounded, indexed. Headless (no UI imports)."""

from kubespan.store.rows import SpanDetail, SpanRow, TraceSummary, ValueStats
from kubespan.store.store import SpanStore

__all__ = ["SpanDetail", "SpanRow", "SpanStore", "TraceSummary", "ValueStats"]
