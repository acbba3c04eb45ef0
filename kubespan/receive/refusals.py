"""Requests refused for a missing or wrong bearer token: counted, and said on stderr, rate-limited.

Every refusal adds one to `unauthenticated_requests`. The lines name the peer and the reason,
never the token: `kubespan: refused 12 requests from 127.0.0.1:53122: missing bearer token`.
The first refusal is said at once; later ones are summed and said at most once every
`interval` seconds, at most `max_lines` peers a time (the most refused first), the rest in
one line, so a client retrying in a loop, or many clients, cannot flood the terminal.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote

from kubespan.stats import Counters

MISSING = "missing bearer token"
WRONG = "wrong bearer token"
REFUSALS_INTERVAL_S = 5.0
"""The shortest time between two rounds of refusal lines."""
REFUSALS_MAX_LINES = 5
"""Peers named in one round; the others are summed in one more line."""
COUNTER = "unauthenticated_requests"


def stderr_say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def reason_for(authorization: str | None) -> str:
    """Why a request with this `authorization` value (or none) was refused."""
    return MISSING if not authorization else WRONG


def grpc_peer(peer: str) -> str:
    """`ipv4:127.0.0.1:53122` or `ipv6:%5B::1%5D:53122` → `127.0.0.1:53122`, `[::1]:53122`."""
    kind, _, address = unquote(peer).partition(":")
    return address if kind in ("ipv4", "ipv6") else unquote(peer)


def socket_peer(peername: object) -> str:
    """A socket's `getpeername()` as `host:port` (`[v6]:port`)."""
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = str(peername[0]), peername[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return "an unknown peer" if peername is None else str(peername)


class RefusalLog:
    """Counts refusals per (peer, reason) and says them on `say`, rate-limited (thread-safe)."""

    def __init__(self, counters: Counters, say: Callable[[str], None] | None = stderr_say, *,
                 interval: float = REFUSALS_INTERVAL_S, max_lines: int = REFUSALS_MAX_LINES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.counters = counters
        self.say = say
        self.interval = interval
        self.max_lines = max_lines
        self.clock = clock
        self._pending: dict[tuple[str, str], int] = {}
        self._last_round: float | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.latest: str | None = None
        """The last line said (or that would have been), for a viewer's footer."""

    def refused(self, peer: str, reason: str) -> None:
        self.counters.add(COUNTER, 1)
        with self._lock:
            self._pending[(peer, reason)] = self._pending.get((peer, reason), 0) + 1
            if self._timer is not None:
                return
            wait = 0.0 if self._last_round is None else self._last_round + self.interval - self.clock()
            if wait > 0:
                self._timer = threading.Timer(wait, self.flush)
                self._timer.daemon = True
                self._timer.start()
                return
            lines = self._take_round()
        self._say(lines)

    def flush(self) -> None:
        """Say what is pending now (the timer's round, and once more at shutdown)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            lines = self._take_round()
        self._say(lines)

    def _take_round(self) -> list[str]:
        pending, self._pending = self._pending, {}
        if not pending:
            return []
        self._last_round = self.clock()
        ranked = sorted(pending.items(), key=lambda item: -item[1])
        lines = [f"kubespan: refused {_requests(count)} from {peer}: {reason}"
                 for (peer, reason), count in ranked[: self.max_lines]]
        rest = ranked[self.max_lines:]
        if rest:
            reasons = " or ".join(sorted({reason for (_, reason), _ in rest}))
            lines.append(f"kubespan: refused {_requests(sum(count for _, count in rest))} from "
                         f"{len(rest)} more peers: {reasons}")
        self.latest = lines[0]
        return lines

    def _say(self, lines: list[str]) -> None:
        if self.say is not None:
            for line in lines:
                self.say(line)


def _requests(count: int) -> str:
    return f"{count} request" if count == 1 else f"{count} requests"
