"""OTLP/gRPC client: sends the request bytes as they are, over one shared channel."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from kubespan.forward.retry import PermanentSendError, RetryableError, SendResult
from kubespan.forward.settings import ForwardSettings

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
RETRYABLE = {
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS,
}
"""Always retried (otlp-spec §1.5); RESOURCE_EXHAUSTED only with RetryInfo."""


class GrpcSender:
    """Thread-safe: many sender threads share the channel (HTTP/2 multiplexing)."""

    def __init__(self, settings: ForwardSettings) -> None:
        self.settings = settings
        self._channel = _channel(settings)
        self._export = self._channel.unary_unary(EXPORT_METHOD, request_serializer=None, response_deserializer=None)
        self._metadata = tuple((k.lower(), v) for k, v in settings.headers)
        self._compression = grpc.Compression.Gzip if settings.compression == "gzip" else grpc.Compression.NoCompression

    def send(self, raw: bytes) -> SendResult:
        try:
            answer = self._export(
                raw, timeout=self.settings.timeout, metadata=self._metadata, compression=self._compression
            )
        except grpc.RpcError as exc:
            raise _classify(exc) from None
        return SendResult.of_answer(answer)

    def close(self) -> None:
        self._channel.close()


def _channel(settings: ForwardSettings) -> grpc.Channel:
    retry = settings.retry
    backoff_ms = max(1, int(min(retry.initial_interval, 1.0) * 1000))
    options: list[tuple[str, str | int]] = [
        ("grpc.initial_reconnect_backoff_ms", backoff_ms),
        ("grpc.min_reconnect_backoff_ms", backoff_ms),
        ("grpc.max_reconnect_backoff_ms", max(backoff_ms, int(retry.max_interval * 1000))),
        ("grpc.enable_retries", 0),
        ("grpc.max_send_message_length", -1),
    ]
    tls = settings.tls
    if tls.insecure:
        return grpc.insecure_channel(settings.target, options=options)
    if tls.insecure_skip_verify:
        raise ValueError(
            "insecure_skip_verify is not supported for OTLP/gRPC (grpcio cannot skip verification); "
            "give the server's CA (--forward-ca / tls.ca_file) or use plaintext (grpc:// / tls.insecure)"
        )
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca_file), private_key=_read(tls.key_file), certificate_chain=_read(tls.cert_file)
    )
    return grpc.secure_channel(settings.target, credentials, options=options)


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as file:
        return file.read()


def _classify(exc: grpc.RpcError) -> Exception:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    message = f"{code.name}: {details}"
    delay = _retry_delay(exc)
    if code in RETRYABLE or (code == grpc.StatusCode.RESOURCE_EXHAUSTED and delay is not None):
        return RetryableError(message, delay)
    return PermanentSendError(message)


def _retry_delay(exc: grpc.RpcError) -> float | None:
    """The `RetryInfo.retry_delay` the server attached, if any."""
    try:
        status = rpc_status.from_call(exc)
    except (ValueError, AttributeError):
        return None
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None

