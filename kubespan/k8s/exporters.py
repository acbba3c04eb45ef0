"""OTLP trace exporters for `kubespan demo` and the load generator: OTLP/gRPC and OTLP/HTTP
(protobuf), each sending serialized `ExportTraceServiceRequest`s and reporting partial success."""

from __future__ import annotations

import gzip as gzip_module
import http.client
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
HTTP_TRACES_PATH = "/v1/traces"
PROTOCOLS = ("grpc", "http")
DEFAULT_ENDPOINTS = {"grpc": "127.0.0.1:4317", "http": "127.0.0.1:4318"}
RETRYABLE_HTTP = (429, 502, 503, 504)
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class ExportError(Exception):
    """An export that failed; ``unavailable`` when nobody answered (worth a pause before the next)."""

    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unavailable = unavailable


class Exporter(Protocol):
    def export(self, payload: bytes, timeout: float) -> int:
        """Send one serialized request; return the spans the receiver rejected, or raise ExportError."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ExporterOptions:
    gzip: bool = False
    token: str | None = None


class GrpcExporter:
    """OTLP/gRPC over an insecure channel to HOST:PORT."""

    def __init__(self, endpoint: str, options: ExporterOptions = ExporterOptions()) -> None:
        import grpc  # here, so the command line parses without loading gRPC

        self._grpc = grpc
        self._channel = grpc.insecure_channel(endpoint, options=[("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
        self._call = self._channel.unary_unary(
            EXPORT_METHOD, request_serializer=None, response_deserializer=ExportTraceServiceResponse.FromString)
        self._metadata = [("authorization", f"Bearer {options.token}")] if options.token else []
        self._compression = grpc.Compression.Gzip if options.gzip else grpc.Compression.NoCompression

    def export(self, payload: bytes, timeout: float) -> int:
        grpc = self._grpc
        try:
            response = self._call(payload, timeout=timeout, metadata=self._metadata, compression=self._compression)
        except grpc.RpcError as err:
            code = err.code()
            raise ExportError(f"{code.name}: {err.details()}",
                              unavailable=code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)
                              ) from None
        return response.partial_success.rejected_spans

    def close(self) -> None:
        self._channel.close()


class HttpExporter:
    """OTLP/HTTP with protobuf bodies, POST HOST:PORT/v1/traces on one kept-alive connection."""

    def __init__(self, endpoint: str, options: ExporterOptions = ExporterOptions()) -> None:
        host, _, port = endpoint.removeprefix("http://").partition("/")[0].rpartition(":")
        self._host, self._port = host.strip("[]"), int(port)
        self._headers = {"Content-Type": "application/x-protobuf"}
        if options.token:
            self._headers["Authorization"] = f"Bearer {options.token}"
        if options.gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._gzip = options.gzip
        self._connection: http.client.HTTPConnection | None = None

    def export(self, payload: bytes, timeout: float) -> int:
        body = gzip_module.compress(payload, compresslevel=1) if self._gzip else payload
        try:
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._connection.timeout = timeout
            self._connection.request("POST", HTTP_TRACES_PATH, body=body, headers=self._headers)
            response = self._connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ExportError(f"UNAVAILABLE: {exc}", unavailable=True) from None
        if response.status != 200:
            text = answer[:200].decode("utf-8", "replace")
            raise ExportError(f"HTTP {response.status}: {text}",
                              unavailable=response.status in RETRYABLE_HTTP or response.status == 401)
        try:
            return ExportTraceServiceResponse.FromString(answer).partial_success.rejected_spans
        except DecodeError:  # a 200 without a protobuf body: nothing rejected
            return 0

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def open_exporter(protocol: str, endpoint: str, *, gzip: bool = False, token: str | None = None) -> Exporter:
    """The exporter for ``protocol`` (`grpc` or `http`) to ``endpoint``."""
    options = ExporterOptions(gzip=gzip, token=token)
    if protocol == "grpc":
        return GrpcExporter(endpoint, options)
    if protocol == "http":
        return HttpExporter(endpoint, options)
    raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
