"""Dump files: reading OTLP/JSON (JSON lines or whole documents) with per-file counts of good
and bad records, loading them into a pipeline, and writing span lines and saved traces.

Used by `kubespan filter`, `kubespan open`, the viewer's save key and the tests. Headless.

Modules: :mod:`.records` (a file as lines or documents), :mod:`.reader` (requests and counts,
:class:`DumpReport`), :mod:`.load` (into a pipeline, with progress) and :mod:`.writer` (span
lines, requests rebuilt from the store, `save_trace`).
"""

from kubespan.dumps.load import LOAD_BATCH_LINES, load_dumps
from kubespan.dumps.reader import (
    DumpReader,
    DumpReport,
    check_dump,
    decode_dump_value,
    open_dump,
    read_error,
)
from kubespan.dumps.records import MAX_DOCUMENT_BYTES, Record, split_records
from kubespan.dumps.writer import RequestBuilder, save_trace, span_lines_text, stored_requests, trace_request

__all__ = [
    "LOAD_BATCH_LINES",
    "MAX_DOCUMENT_BYTES",
    "DumpReader",
    "DumpReport",
    "Record",
    "RequestBuilder",
    "check_dump",
    "decode_dump_value",
    "load_dumps",
    "open_dump",
    "read_error",
    "save_trace",
    "span_lines_text",
    "split_records",
    "stored_requests",
    "trace_request",
]
