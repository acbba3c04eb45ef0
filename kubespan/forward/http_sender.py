"""OTLP/HTTP client on the standard library: one keep-alive connection per sender thread."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import ssl
import threading
import time
from urllib.parse import urlsplit

from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from kubespan.forward.retry import PermanentSendError, RetryableError, SendResult
from kubespan.forward.settings import ForwardSettings

RETRYABLE_STATUS = {429, 502, 503, 504}
"""Retried, honouring Retry-After (otlp-spec §1.5); every other 4xx/5xx is permanent."""
STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
"""What a keep-alive connection closed by the server while idle looks like."""
MAX_MESSAGE = 300
"""Longest error text quoted from a backend."""


class HttpSender:
    """POSTs `application/x-protobuf` bodies to the traces URL."""

    def __init__(self, settings: ForwardSettings) -> None:
        self.settings = settings
        parts = urlsplit(settings.target)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._ssl = _ssl_context(settings) if self._https else None
        self._headers = {"Content-Type": "application/x-protobuf", "User-Agent": "kubespan"}
        self._headers.update(dict(settings.headers))
        if settings.compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def send(self, raw: bytes) -> SendResult:
        body = gzip.compress(raw, compresslevel=1) if self.settings.compression == "gzip" else raw
        reused = getattr(self._local, "connection", None) is not None
        try:
            response, payload = self._post(body)
        except STALE_CONNECTION:
            self._drop_connection()
            if not reused:
                raise RetryableError("the backend closed the connection without answering") from None
            try:  # a keep-alive connection the server closed while idle: one fresh try at once
                response, payload = self._post(body)
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                raise RetryableError(f"{type(exc).__name__}: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop_connection()
            raise RetryableError(f"{type(exc).__name__}: {exc}") from None
        if response.status == 200:
            return SendResult.of_answer(payload)
        message = f"HTTP {response.status}: {_error_text(payload, response.getheader('Content-Type', ''))}"
        if response.getheader("Connection", "").lower() == "close":
            self._drop_connection()
        if response.status in RETRYABLE_STATUS:
            raise RetryableError(message, _retry_after(response.getheader("Retry-After")))
        raise PermanentSendError(message)

    def _post(self, body: bytes) -> tuple[http.client.HTTPResponse, bytes]:
        connection = self._connection()
        connection.request("POST", self._path, body=body, headers=self._headers)
        response = connection.getresponse()
        return response, response.read()

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.settings.timeout, context=self._ssl
                )
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self.settings.timeout)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)


def _ssl_context(settings: ForwardSettings) -> ssl.SSLContext:
    tls = settings.tls
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, or as an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_text(payload: bytes, content_type: str) -> str:
    """The backend's message: a `google.rpc.Status` body, or its text."""
    if "protobuf" in content_type:
        try:
            status = status_pb2.Status.FromString(payload)
            if status.message:
                return status.message[:MAX_MESSAGE]
        except DecodeError:
            pass
    text = payload.decode("utf-8", "replace").strip()
    return text[:MAX_MESSAGE] or "(empty body)"

