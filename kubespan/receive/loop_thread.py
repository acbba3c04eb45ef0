"""An asyncio event loop on a thread of its own, for the aiohttp servers (the OTLP/HTTP receiver,
the query API) that run beside gRPC's threads in one process."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, Coroutine

STOP_TIMEOUT_S = 10.0
"""How long `stop` waits for the server's cleanup and for the thread."""


class LoopThread:
    """`start(bind)` runs ``bind()`` on a new loop in a daemon thread and serves until `stop`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, bind: Callable[[], Awaitable[str]]) -> str:
        """The address ``bind()`` returns once it listens; what it raises is raised here."""
        loop = self.loop = asyncio.new_event_loop()
        started = threading.Event()
        result: dict[str, object] = {}

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                result["address"] = loop.run_until_complete(bind())
            except BaseException as exc:  # surfaced to the caller of start()
                result["error"] = exc
            started.set()
            if "error" not in result:
                loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        started.wait()
        error = result.get("error")
        if isinstance(error, BaseException):
            loop.close()
            raise error
        return str(result["address"])

    def stop(self, cleanup: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``cleanup()`` on the loop, then stop the loop and wait for its thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(cleanup(), loop).result(timeout=STOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)
