"""Formatters for the writers: OTLP/JSON lines and the Collector's debug text."""

from __future__ import annotations

from kubespan.encode.debugtext import render_traces
from kubespan.encode.span_lines import SPAN_LINES, RawAttributeJson, raw_span_json_lines
from kubespan.model import TraceBatch
from kubespan.writers.stream import Formatter

_ATTRIBUTE_JSON = RawAttributeJson()


def jsonl(batch: TraceBatch) -> tuple[bytes, int]:
    """One complete OTLP/JSON `ExportTraceServiceRequest` per span, one per line."""
    made = batch.encoded.get(SPAN_LINES)  # by a decode worker
    if made is not None:
        return made.blob, len(made)
    blob, ends = raw_span_json_lines(batch.raw, _ATTRIBUTE_JSON)
    return blob, len(ends)


def debug_text(legacy: bool = False) -> Formatter:
    """The Collector's debug exporter text (`verbosity: detailed`), or its older form."""

    def format_batch(batch: TraceBatch) -> tuple[bytes, int]:
        return render_traces(batch.request, legacy=legacy).encode(), batch.span_count

    return format_batch
