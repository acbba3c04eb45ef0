"""A small blocking HTTP client for a Tempo-compatible API (no Textual, no event loop).

One keep-alive connection per calling thread (the viewer's workers each get their own), a
timeout on every connect and read, gzip answers, a cap on the bytes read, and errors turned
into `RemoteError`s whose text is one line and never holds a credential.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubespan.receive.settings import is_loopback
from kubespan.remote.settings import RemoteSettings, SettingsError

JSON = "application/json"
PROTOBUF = "application/protobuf"
ERROR_TEXT_LIMIT = 300
"""Characters of an error answer's body kept in the message."""
INTERACTIVE_HEADER = "X-Kubespan-Interactive"
"""Sent ("1") with requests that answer a person's key, never with polls: a kubespan lets them draw on
a CPU budget of their own (kubespan.api.throttle); other servers ignore it."""


class RemoteError(Exception):
    """A request that did not give a usable answer. `kind` says which way it failed:
    `unreachable` (connect, timeout, connection lost), `tls` (a certificate not trusted, a handshake
    refused: it will not fix itself), `unauthorized` (401/403),
    `refused` (another 4xx: a bad query, an unknown path), `server` (5xx), `bad_answer`
    (not the JSON or protobuf expected), `too_big` (past `max_body_bytes`)."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status

    @property
    def unreachable(self) -> bool:
        return self.kind == "unreachable"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    elapsed_s: float
    headers: Mapping[str, str] = field(default_factory=dict)
    """The answer's headers, names in lower case."""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RemoteError("bad_answer", f"malformed JSON in the answer ({_short(str(exc))})", self.status) from None


Params = Mapping[str, Any] | Iterable[tuple[str, Any]]


def ssl_context(settings: RemoteSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file:
        try:
            context.load_verify_locations(settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"cannot load --ca-file {settings.ca_file}: {exc}") from None
    if settings.client_cert:
        try:
            context.load_cert_chain(settings.client_cert, settings.client_key, password=lambda: "")  # never prompts
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(f"cannot load --client-cert {settings.client_cert}: {exc}") from None
    if settings.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class RemoteClient:
    """GETs on `settings.url`; thread-safe (a connection per thread)."""

    def __init__(self, settings: RemoteSettings) -> None:
        self.settings = settings
        self.parts = settings.parts
        self.prefix = self.parts.path.rstrip("/")
        self._context = ssl_context(settings) if settings.tls else None
        self._local = threading.local()
        self._headers = settings.request_headers()
        self.last_latency_s: float | None = None
        """How long the last answered request took (any thread)."""
        self.requests = 0
        self.failures = 0

    def url(self, path: str) -> str:
        return self.settings.display_url + path

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            host, port, timeout = self.parts.hostname or "", self.parts.port, self.settings.timeout_s
            if self._context is not None:
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._context)
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close(self) -> None:
        """Closes this thread's connection (others close when their threads end)."""
        self._drop_connection()

    @contextlib.contextmanager
    def interactive(self, on: bool = True) -> Iterator[None]:
        """Requests made on this thread inside the block answer a person's key (`INTERACTIVE_HEADER`)."""
        before = getattr(self._local, "interactive", False)
        self._local.interactive = on or before
        try:
            yield
        finally:
            self._local.interactive = before

    def get(self, path: str, params: Params | None = None, *, accept: str = JSON) -> Answer:
        """The answer to `GET path?params` with status 200; anything else raises `RemoteError`."""
        target = self.prefix + path
        if params:
            items = params.items() if isinstance(params, Mapping) else params
            target += "?" + urllib.parse.urlencode([(k, v) for k, v in items if v is not None])
        headers = dict(self._headers, Accept=accept)
        if getattr(self._local, "interactive", False):
            headers[INTERACTIVE_HEADER] = "1"
        started = time.monotonic()
        self.requests += 1
        try:
            status, body, answer_headers = self._exchange(target, headers)
        except RemoteError:
            self.failures += 1
            raise
        elapsed = time.monotonic() - started
        self.last_latency_s = elapsed
        if status != 200:
            self.failures += 1
            raise status_error(status, body, self.url(path))
        return Answer(status, body, answer_headers.get("content-type", ""), elapsed, answer_headers)

    def get_json(self, path: str, params: Params | None = None) -> Any:
        return self.get(path, params).json()

    def _exchange(self, target: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        for attempt in (0, 1):
            conn = self._connection()
            reused = getattr(conn, "sock", None) is not None
            try:
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
                body = self._read(response)
                if response.will_close:
                    self._drop_connection()
                return response.status, body, {k.lower(): v for k, v in response.getheaders()}
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop_connection()
                if reused and attempt == 0:
                    continue  # a keep-alive connection the server closed meanwhile: once more, fresh
                raise self._unreachable(exc) from None
            except RemoteError:
                self._drop_connection()
                raise
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                raise self._unreachable(exc) from None
        raise AssertionError("unreachable")

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        limit = self.settings.max_body_bytes
        length = response.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise RemoteError("too_big", f"the answer is {int(length):,} bytes, more than the {limit:,} read "
                                         "(--max-answer-mib)", response.status)
        body = response.read(limit + 1)
        if len(body) > limit:
            raise RemoteError("too_big", f"the answer is more than the {limit:,} bytes read (--max-answer-mib)",
                              response.status)
        if (response.getheader("Content-Encoding") or "").lower() == "gzip":
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                body = inflater.decompress(body, limit + 1)
            except zlib.error as exc:
                raise RemoteError("bad_answer", f"the gzip answer does not inflate ({exc})", response.status) from None
            if len(body) > limit or inflater.unconsumed_tail:
                raise RemoteError("too_big", f"the answer inflates past the {limit:,} bytes read (--max-answer-mib)",
                                  response.status)
        return body

    def _unreachable(self, exc: BaseException) -> RemoteError:
        where = self.settings.display_url
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return RemoteError("unreachable", f"{where}: no answer within {self.settings.timeout_s:g} s")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return RemoteError("tls", f"{where}: TLS certificate not trusted ({exc.verify_message}); "
                                              "give --ca-file, or --insecure-skip-verify if you must")
        if isinstance(exc, ssl.SSLError):
            return RemoteError("tls", f"{where}: TLS failed ({exc.reason or exc})")
        if isinstance(exc, ConnectionRefusedError):
            return RemoteError("unreachable", f"{where}: connection refused")
        if isinstance(exc, socket.gaierror):
            return RemoteError("unreachable", f"{where}: cannot resolve {self.parts.hostname} ({exc.strerror})")
        if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
            hint = ""
            if self.settings.tls and not self.settings.client_cert:  # TLS 1.3 refuses a missing one this way
                hint = " (if it asks for a client certificate: --client-cert)"
            return RemoteError("unreachable", f"{where}: connection closed before an answer{hint}")
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return RemoteError("unreachable", f"{where}: {_short(text)}")


def is_loopback_url(url: str) -> bool:
    """True for http(s)://localhost, 127.0.0.0/8 and ::1."""
    return is_loopback(urllib.parse.urlsplit(url).hostname or "")


def status_error(status: int, body: bytes, url: str) -> RemoteError:
    """A non-200 answer as a `RemoteError` with the server's own first line (Tempo answers errors as text)."""
    text = _short(body.decode("utf-8", "replace").strip())
    reason = http.client.responses.get(status, "")
    if status in (401, 403):
        hint = "check --token, --header or the user in the URL"
        return RemoteError("unauthorized", f"{status} {reason}: {text or hint} ({hint})", status)
    if status == 404 and not text:
        return RemoteError("refused", f"404 Not Found: {url}", status)
    if status == 429:
        return RemoteError("server", f"429 Too Many Requests: {text or 'the remote is busy'}", status)
    kind = "server" if status >= 500 else "refused"
    return RemoteError(kind, f"{status} {reason}: {text}" if text else f"{status} {reason}", status)


def _short(text: str) -> str:
    """One line of at most ERROR_TEXT_LIMIT characters."""
    line = " ".join(text.split())
    return line if len(line) <= ERROR_TEXT_LIMIT else line[: ERROR_TEXT_LIMIT - 1] + "…"
