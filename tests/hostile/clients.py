"""Real clients for the corpus: a gRPC channel and a plain HTTP/1.1 connection.

Both send bytes exactly as given (no serialisation, no header fix-ups) and return an
`Answer`: the status, the message of an error, and the decoded partial success.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

import grpc
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TIMEOUT = 60.0


@dataclass(frozen=True)
class Answer:
    """What the server said: a gRPC code name or an HTTP status, and its texts."""

    status: str | int
    message: str = ""
    rejected: int = 0
    partial_message: str = ""


def send_grpc(address: str, payload: bytes, *, gzip: bool = False) -> Answer:
    """One unary Export call with `payload` as the raw request message."""
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(address, options=options) as channel:
        call = channel.unary_unary(EXPORT)
        compression = grpc.Compression.Gzip if gzip else None
        try:
            body = call(payload, timeout=TIMEOUT, compression=compression)
        except grpc.RpcError as error:
            return Answer(error.code().name, error.details() or "")
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    return Answer("OK", "", partial.rejected_spans, partial.error_message)


def send_http(address: str, payload: bytes, headers: dict[str, str], method: str = "POST") -> Answer:
    """One request to /v1/traces with exactly `headers` (plus Host and Content-Length)."""
    host, _, port = address.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        connection.request(method, "/v1/traces", body=payload if method == "POST" else None,
                           headers=headers)
        response = connection.getresponse()
        body = response.read()
        kind = response.getheader("Content-Type", "")
    finally:
        connection.close()
    return _http_answer(response.status, kind, body)


def _http_answer(status: int, kind: str, body: bytes) -> Answer:
    if kind.startswith("text/plain"):
        return Answer(status, body.decode())
    is_json = kind.startswith(JSON)
    if status != 200:
        if is_json:
            return Answer(status, json.loads(body).get("message", ""))
        return Answer(status, status_pb2.Status.FromString(body).message)
    if is_json:
        partial = json.loads(body).get("partialSuccess", {})
        return Answer(status, "", int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", ""))
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    return Answer(status, "", partial.rejected_spans, partial.error_message)
