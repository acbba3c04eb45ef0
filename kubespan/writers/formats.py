"""Formatters for the writers: OTLP/JSON lines and the Collector's debug text."""

from __future__ import annotations

from kubespan.otlp.debugtext import render_traces
from kubespan.otlp.decode import TraceBatch
from kubespan.otlp.jsoncodec import RawAttributeJson, raw_span_json_lines
from kubespan.writers.stream import Formatter

_ATTRIBUTE_JSON = RawAttributeJson()


def jsonl(batch: TraceBatch) -> tuple[bytes, int]:
    """One complete OTLP/JSON `ExportTraceServiceRequest` per span, one per line."""
    if batch.lines is not None:  # made by a decode worker
        return batch.lines.blob, len(batch.lines.ends)
    blob, ends = raw_span_json_lines(batch.raw, _ATTRIBUTE_JSON)
    return blob, len(ends)


def debug_text(legacy: bool = False) -> Formatter:
    """The Collector's debug exporter text (`verbosity: detailed`), or its older form."""

    def format_batch(batch: TraceBatch) -> tuple[bytes, int]:
        return render_traces(batch.request, legacy=legacy).encode(), batch.span_count

    return format_batch
