"""Reading OTLP/JSON dump files: requests, span batches or serialized chunks from each file,
with per-file counts of good and bad records and the first error.

What a file may hold is wider than what a receiver takes (receivers keep the Collector's
rules): trace and span ids in hex or base64 (Tempo's API and protobuf's generic JSON printer
write base64), the legacy `instrumentationLibrarySpans` key of old SDKs and Collectors, and
Tempo's answers (`{"batches": [...]}`, `{"trace": {...}}`). A record with none of these keys is
not OTLP/JSON and is counted bad.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.dumps.records import MAX_DOCUMENT_BYTES, Line, Record, size_text, split_records
from kubespan.otlp.jsoncodec import IdRules, JsonDecodeError, decode_resource_spans, load_json

FILE_IDS = IdRules(base64=True)
"""Ids in files: hex, or base64 of the right length."""
SPAN_KEYS = ("resourceSpans", "resource_spans", "batches")
"""Top-level keys holding ResourceSpans: OTLP's two spellings and Tempo's `/api/traces/<id>`."""
WRAPPER_KEYS = ("trace", "result")
"""Tempo's `/api/v2/traces/<id>` and streaming answers wrap the trace in one more object."""


@dataclass
class DumpReport:
    """What reading one file found: records (non-empty lines, or documents) good and bad."""

    name: str
    records: int = 0
    bad: int = 0
    spans: int = 0
    first_error: str = ""
    error: str = ""
    """The file could not be opened or read (then the counts are what was read before)."""
    documents: bool = False
    """The file held whole JSON documents rather than JSON lines."""
    bytes_read: int = 0
    stopped: bool = False
    """Reading stopped early, at the reader's ``stop_after_bytes``."""

    @property
    def good(self) -> int:
        return self.records - self.bad

    @property
    def unit(self) -> str:
        return ("document" if self.documents else "line") + ("" if self.records == 1 else "s")

    def skipped(self) -> str | None:
        """One line about the bad records, if any: "skipped 3 of 5,000 lines in spans.jsonl: …"."""
        if not self.bad:
            return None
        return f"skipped {self.bad:,} of {self.records:,} {self.unit} in {self.name}: {self.first_error}"

    def problem(self) -> str | None:
        """Why the file gave nothing usable, naming it: unreadable, or no record is OTLP/JSON."""
        if self.error:
            return f"{self.name}: {self.error}"
        if self.records and not self.good:
            every = "the only" if self.records == 1 else f"none of its {self.records:,}"
            return f"{self.name}: not OTLP/JSON ({every} {self.unit}: {self.first_error})"
        return None


class DumpReader:
    """One dump file's records decoded as they are read, counted into :attr:`report`."""

    def __init__(self, name: str, lines: Iterable[Line], *, max_document_bytes: int = MAX_DOCUMENT_BYTES,
                 stop_after_bytes: int | None = None) -> None:
        self.report = DumpReport(name)
        self._lines = _counted(lines, self.report, stop_after_bytes)
        self._max_document_bytes = max_document_bytes

    def requests(self) -> Iterator[ExportTraceServiceRequest]:
        """Each good record as a request; bad ones are counted and skipped."""
        report = self.report
        for record in split_records(self._lines, max_document_bytes=self._max_document_bytes):
            report.records += 1
            if record.text is None:
                report.documents = True
            try:
                request = decode_record(record)
            except JsonDecodeError as exc:
                self._bad(record, exc)
                continue
            report.spans += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            yield request

    def chunks(self, records: int) -> Iterator[tuple[bytes, int]]:
        """Up to ``records`` good records at a time as one serialized request, with its span count.

        Serialized requests concatenated are one request holding all their ResourceSpans.
        """
        parts: list[bytes] = []
        before = 0
        for request in self.requests():
            parts.append(request.SerializeToString())
            if len(parts) >= records:
                yield b"".join(parts), self.report.spans - before
                parts, before = [], self.report.spans
        if parts:
            yield b"".join(parts), self.report.spans - before

    def _bad(self, record: Record, exc: JsonDecodeError) -> None:
        self.report.bad += 1
        if not self.report.first_error:
            where = f"document at line {record.line_no}" if record.text is None else f"line {record.line_no}"
            torn = ": torn last line (no newline: its writer was still running, or killed)" if record.torn else ""
            self.report.first_error = f"{where}{torn}: {exc}"


def decode_record(record: Record) -> ExportTraceServiceRequest:
    """The request in one record; JsonDecodeError when it is not OTLP/JSON trace data."""
    if record.error is not None:
        raise record.error
    value = load_json(record.text) if record.text is not None else record.value
    return decode_dump_value(value)


def decode_dump_value(value: object) -> ExportTraceServiceRequest:
    """The request in a parsed JSON value read from a file (see the module's note on what may be in it)."""
    if type(value) is not dict:
        kind = "an array" if isinstance(value, list) else "not an object"
        raise JsonDecodeError("", f"not OTLP/JSON: the top-level value is {kind}")
    document: dict[str, Any] = value
    if not any(key in document for key in SPAN_KEYS):
        inner = next((document[key] for key in WRAPPER_KEYS if type(document.get(key)) is dict), None)
        if inner is None or not any(key in inner for key in SPAN_KEYS):
            keys = ", ".join(repr(key) for key in list(document)[:3]) or "none"
            raise JsonDecodeError("", f"not OTLP/JSON: no resourceSpans (keys: {keys})")
        document = inner
    return decode_resource_spans(document, SPAN_KEYS, ids=FILE_IDS, legacy=True)


def _counted(lines: Iterable[Line], report: DumpReport, limit: int | None) -> Iterator[Line]:
    for line in lines:
        if limit is not None and report.bytes_read >= limit:
            report.stopped = True
            return
        report.bytes_read += len(line)
        yield line


@contextlib.contextmanager
def open_dump(name: str, stdin: IO[bytes] | None = None) -> Iterator[IO[bytes]]:
    """The file ``name`` opened for reading in binary, or stdin for ``-`` (left open).

    Raises OSError (with ``strerror`` for the one-line message) when it cannot be opened.
    """
    if name == "-":
        yield stdin if stdin is not None else sys.stdin.buffer
        return
    with open(name, "rb") as stream:
        yield stream


def read_error(exc: OSError) -> str:
    """An OSError as the words after the file's name: "No such file or directory"."""
    return exc.strerror or str(exc)


def check_dump(name: str, *, scan_bytes: int = MAX_DOCUMENT_BYTES) -> str | None:
    """Why ``name`` cannot be opened as a dump, or None: it reads and holds OTLP/JSON.

    Reads until the first good record, or ``scan_bytes`` without one (then the file is taken
    for something else). An empty file is fine: it holds no spans, and nothing wrong. A pipe or
    device (a FIFO, `/dev/stdin`) is not read here: what it gives could not be read again.
    """
    try:
        mode = os.stat(name).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return None
        with open_dump(name) as stream:
            reader = DumpReader(name, stream, stop_after_bytes=scan_bytes)
            for _ in reader.requests():
                return None
    except OSError as exc:
        return f"{name}: {read_error(exc)}"
    if reader.report.stopped:
        return f"{name}: not OTLP/JSON (nothing in its first {size_text(scan_bytes)}: {reader.report.first_error})"
    return reader.report.problem()
