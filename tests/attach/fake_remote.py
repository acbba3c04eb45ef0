"""A misbehaving remote for failure tests: answers each path as told (status, body, delay), records
the requests it saw, and can go away and come back on the same port."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Canned:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: threading.Event | None = None
    """When set, the answer waits until the event is set (a slow remote, without sleeping)."""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FakeRemote:
    """`answers[path-without-query]` → a `Canned` or a callable giving one; unknown paths get 404."""

    def __init__(self) -> None:
        self.answers: dict[str, Canned | Callable[[str], Canned]] = {}
        self.seen: list[Seen] = []
        self._server: http.server.ThreadingHTTPServer | None = None
        self._connections: list[socket.socket] = []
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                fake._connections.append(self.connection)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                fake.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                answer = fake.answers.get(self.path.split("?")[0])
                canned = answer(self.path) if callable(answer) else answer or Canned(404, b"404 page not found\n",
                                                                                     "text/plain")
                if canned.delay is not None:
                    canned.delay.wait(30)
                self.send_response(canned.status)
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(len(canned.body)))
                for key, value in canned.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(canned.body)

            def log_message(self, *args: object) -> None:
                pass

        server = _QuietServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        """Goes away: the port refuses connections until `start()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for conn in self._connections:  # keep-alive connections go too
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._connections.clear()


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, *args: object) -> None:
        """A client that gave up (timeout, answer too big) is what the tests do on purpose."""
