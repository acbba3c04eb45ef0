"""Formatters for the writers: OTLP/JSON lines and the Collector's debug text."""

from __future__ import annotations

from kubespan.encode.debugtext import render_traces
from kubespan.encode.span_lines import span_lines_of
from kubespan.model import TraceBatch
from kubespan.writers.stream import Formatter


def jsonl(batch: TraceBatch) -> tuple[bytes, int]:
    """One complete OTLP/JSON `ExportTraceServiceRequest` per span, one per line."""
    lines = span_lines_of(batch)
    return lines.blob, len(lines)


def debug_text(legacy: bool = False) -> Formatter:
    """The Collector's debug exporter text (`verbosity: detailed`), or its older form."""

    def format_batch(batch: TraceBatch) -> tuple[bytes, int]:
        return render_traces(batch.request, legacy=legacy).encode(), batch.span_count

    return format_batch
