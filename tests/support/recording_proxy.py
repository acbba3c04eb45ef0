"""An HTTP proxy on 127.0.0.1 port 0 that passes every request to one upstream (a Tempo or kubespan's
API) and records what a client sent: how tempo-cli's commands become HTTP requests, kept in the golden
request list so that CI can replay them without tempo-cli."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORDED_HEADERS = ("accept", "authorization", "x-scope-orgid")
"""Headers that change an answer (the rest are the client library's own: user agent, encoding)."""


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]


class RecordingProxy:
    """`url` forwards to `upstream`; `recorded` lists the requests in arrival order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.recorded: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="recording-proxy", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> list[Recorded]:
        """The requests recorded since the last call."""
        with self._lock:
            taken, self.recorded = self.recorded, []
        return taken

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_) -> None:  # quiet
                pass

            def _forward(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                params = tuple(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
                headers = tuple(sorted((k.lower(), v) for k, v in self.headers.items()
                                       if k.lower() in RECORDED_HEADERS))
                with proxy._lock:
                    proxy.recorded.append(Recorded(self.command, urllib.parse.unquote(split.path), params,
                                                   headers))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command,
                                                 headers={k: v for k, v in self.headers.items()
                                                          if k.lower() in RECORDED_HEADERS})
                try:
                    with urllib.request.urlopen(request, timeout=120) as answer:
                        status, reply_headers, reply = answer.status, answer.headers, answer.read()
                except urllib.error.HTTPError as err:
                    status, reply_headers, reply = err.code, err.headers, err.read()
                self.send_response(status)
                for key in ("Content-Type", "Retry-After", "WWW-Authenticate", "Allow"):
                    if reply_headers.get(key):
                        self.send_header(key, reply_headers[key])
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = _forward

        return Handler
