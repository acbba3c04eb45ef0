"""A dump file as records: one OTLP/JSON value per non-empty line (kubespan's dumps, the
Collector's file exporter), or whole JSON documents (a pretty-printed file, one request per
document, as the OpenTelemetry proto's examples and `jq .` write them).

A file is read as JSON lines unless its first non-empty line opens an object it does not
close: then the file is taken whole (up to :data:`MAX_DOCUMENT_BYTES`) as a sequence of
documents. If the first document does not parse either, the file is read as lines after all,
so a dump whose first line is damaged still loads the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from kubespan.otlp.jsoncodec import JsonDecodeError, iter_json_documents

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Largest whole-document file read; JSON-lines files have no such limit (one line at a time)."""

Line = bytes | str


@dataclass(frozen=True)
class Record:
    """One line of a JSON-lines file (``text``), or one parsed document (``value``).

    ``line_no`` is where it starts (1-based). ``torn`` marks a last line without its newline
    (a writer still running, or killed). ``error`` is set for a document that does not parse.
    """

    line_no: int
    text: Line | None = None
    value: object = None
    torn: bool = False
    error: JsonDecodeError | None = None


def split_records(lines: Iterable[Line], *, max_document_bytes: int = MAX_DOCUMENT_BYTES) -> Iterator[Record]:
    """The records of a file given as lines (a file opened in binary mode, a list of str)."""
    source = iter(lines)
    line_no = 0
    for first in source:
        line_no += 1
        if first.strip():
            break
    else:
        return
    if not _opens_document(first):
        yield from _line_records(first, line_no, source)
        return
    buffered = [first]
    size = len(first)
    for line in source:
        buffered.append(line)
        size += len(line)
        if size > max_document_bytes:
            yield Record(line_no, error=JsonDecodeError("", f"larger than {size_text(max_document_bytes)}, the "
                                                            "limit for whole-document files (JSON lines have "
                                                            "none)"))
            return
    documents = _documents(_joined(buffered), line_no)
    if documents is None:
        yield from _line_records(first, line_no, iter(buffered[1:]))
    else:
        yield from documents


def size_text(size: int) -> str:
    """A limit in bytes for a message: "64 MiB", or "1,000 bytes"."""
    return f"{size // 2**20} MiB" if size >= 2**20 and size % 2**20 == 0 else f"{size:,} bytes"


def _opens_document(line: Line) -> bool:
    """Whether ``line`` starts a JSON object that continues on the next lines."""
    stripped = line.strip()
    if stripped[:1] not in (b"{", "{"):
        return False
    try:
        json.loads(stripped)
    except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
        return True
    return False


def _line_records(first: Line, line_no: int, rest: Iterator[Line]) -> Iterator[Record]:
    yield Record(line_no, text=first, torn=not _ends_line(first))
    for line in rest:
        line_no += 1
        if line.strip():
            yield Record(line_no, text=line, torn=not _ends_line(line))


def _ends_line(line: Line) -> bool:
    if isinstance(line, (bytes, bytearray)):
        return line.endswith(b"\n")
    return line.endswith("\n")


def _joined(lines: list[Line]) -> Line:
    """The lines of one file, read all as bytes or all as str, in one piece."""
    if isinstance(lines[0], (bytes, bytearray)):
        return b"".join(cast("list[bytes]", lines))
    return "".join(cast("list[str]", lines))


def _documents(text: Line, first_line: int) -> list[Record] | None:
    """The documents of ``text`` (starting at ``first_line``), or None when the first does not parse.

    A document that does not parse after the first ends the list with an error record: the
    rest of the file cannot be told apart from it.
    """
    out: list[Record] = []
    try:
        for line, value in iter_json_documents(text):
            if isinstance(value, JsonDecodeError):
                return out + [Record(first_line + line - 1, error=value)] if out else None
            out.append(Record(first_line + line - 1, value=value))
    except JsonDecodeError:  # not UTF-8
        return None
    return out
