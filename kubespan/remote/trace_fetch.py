"""One trace by id from a Tempo-compatible API, held in a small span store of its own.

`GET /api/v2/traces/<id>` with `Accept: application/protobuf` first (Tempo's
`TraceByIDResponse`: the trace, and a status saying when Tempo cut it), `/api/traces/<id>`
when v2 is not served; JSON when the server ignores the Accept header. The spans are
decoded by kubespan's own decoder into a one-trace `SpanStore`, so the waterfall, the
detail and saving read it exactly as they read the local store. A 50,000-span trace is
decoded in well under a second (the compiled walk); callers run this in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import UndecodableRequest, decode_request
from kubespan.otlp.protowire import read_varint
from kubespan.remote.client import JSON, PROTOBUF, Answer, RemoteClient, RemoteError
from kubespan.store import SpanStore

MAX_TRACE_SPANS = 2_000_000
"""Spans kept of one fetched trace (the answer's byte cap bounds it first)."""


@dataclass(frozen=True, slots=True)
class FetchedTrace:
    trace_id: bytes
    store: SpanStore
    """Holds this trace only."""
    spans: int
    partial: str
    """Empty, or the remote's word that the trace was cut (Tempo's `max_bytes_per_trace`)."""
    elapsed_s: float
    """How long the request took (decoding excluded)."""


def fetch_trace(client: RemoteClient, trace_id: bytes, *, v2: bool = True) -> FetchedTrace | None:
    """The trace, or None when the remote does not have it (404 on v1, an empty trace on v2)."""
    path = f"/api/v2/traces/{trace_id.hex()}" if v2 else f"/api/traces/{trace_id.hex()}"
    try:
        answer = client.get(path, accept=PROTOBUF)
    except RemoteError as exc:
        if exc.status == 404 and v2 and not _is_empty_404(exc):
            return fetch_trace(client, trace_id, v2=False)  # a remote without the v2 API
        if exc.status == 404:
            return None
        raise
    raw, partial = _payload(answer, v2)
    if not raw:
        return None
    table = new_attribute_table()
    store = SpanStore(table, max_spans=MAX_TRACE_SPANS)
    try:
        batch, _ = decode_request(raw, table)
    except UndecodableRequest as exc:
        raise RemoteError("bad_answer", f"the trace answer does not decode: {exc}") from None
    store.consume_traces(batch)
    if not len(store):
        return None
    return FetchedTrace(trace_id, store, len(store), partial, answer.elapsed_s)


def _is_empty_404(exc: RemoteError) -> bool:
    """A v1-style "not found" (empty body) versus a path the server does not know (text body)."""
    return exc.message.startswith("404 Not Found: http")


def _payload(answer: Answer, v2: bool) -> tuple[bytes, str]:
    """The serialized `TracesData` (same wire shape as an export request) and the partial message."""
    if PROTOBUF in answer.content_type or (answer.content_type == "" and answer.body[:1] != b"{"):
        if not v2:
            return answer.body, ""
        return unwrap_trace_by_id(answer.body)
    if JSON in answer.content_type or answer.body[:1] == b"{":
        return _json_payload(answer)
    raise RemoteError("bad_answer", f"unexpected content type {answer.content_type[:60]!r} for a trace")


def _json_payload(answer: Answer) -> tuple[bytes, str]:
    from kubespan.dumps import decode_dump_value
    from kubespan.otlp.jsoncodec import JsonDecodeError

    document = answer.json()
    if not isinstance(document, dict):
        raise RemoteError("bad_answer", "unexpected answer: the trace is not a JSON object")
    partial = str(document.get("message") or "") if document.get("status") == "PARTIAL" else ""
    inner = document.get("trace", document)
    if not inner or not isinstance(inner, dict) or not any(k in inner for k in ("batches", "resourceSpans")):
        return b"", partial
    try:
        return decode_dump_value(document).SerializeToString(), partial
    except JsonDecodeError as exc:
        raise RemoteError("bad_answer", f"the trace answer is not OTLP/JSON: {exc}") from None


def unwrap_trace_by_id(raw: bytes) -> tuple[bytes, str]:
    """`tempopb.TraceByIDResponse`: field 1 the trace (`Trace{resourceSpans = 1}`, the wire shape
    of `TracesData`), 3 the status (1 = PARTIAL), 4 the message."""
    trace, status, message = b"", 0, ""
    position = 0
    try:
        while position < len(raw):
            key, position = read_varint(raw, position)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, position = read_varint(raw, position)
                if number == 3:
                    status = value
            elif wire == 2:
                size, position = read_varint(raw, position)
                if position + size > len(raw):
                    raise ValueError("truncated")
                field = raw[position: position + size]
                position += size
                if number == 1:
                    trace += field  # repeated occurrences of a message field merge
                elif number == 4:
                    message = field.decode("utf-8", "replace")
            elif wire == 5:
                position += 4
            elif wire == 1:
                position += 8
            else:
                raise ValueError(f"wire type {wire}")
    except (ValueError, IndexError):
        raise RemoteError("bad_answer", "the trace answer is not a protobuf TraceByIDResponse") from None
    partial = (message or "the remote returned part of this trace") if status == 1 else ""
    return trace, partial
