"""Completion in the filter bar from the source's tag names and values (Tempo's tag endpoints on a remote).

Typing `k8s.p` offers `k8s.pod`; `k8s.pod=default/e` offers `default/echo-command`; in TraceQL,
`{ span.k8s.pod = "default/e` offers the value inside its quotes. Names are asked for once,
values once per key, on a thread (never on the UI thread), and a slow or failed answer just
means no suggestion.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from textual.suggester import Suggester

from kubespan.remote.traceql_text import INTRINSICS

ANSWER_TIMEOUT_S = 2.0
"""How long a suggestion waits for the source; later answers still fill the cache."""
_TERM = re.compile(r'(?P<key>[A-Za-z_.:][\w.:/-]*)(?:\s*(?P<op>!=|=~|!~|=)\s*(?P<quote>")?(?P<value>[^"\s]*))?$')


def lookup_key(key: str) -> str:
    """The tag name to ask values of: intrinsics by TraceQL name, scoped keys as written, others unscoped."""
    if key in INTRINSICS:
        return INTRINSICS[key]
    if key.startswith(("span.", "resource.", ".")) or ":" in key:
        return key
    return "." + key


def bare_names(names: list[str]) -> list[str]:
    """Names as the shorthand writes them (no scope), plus the scoped forms TraceQL writes."""
    out = set(names)
    for name in names:
        for scope in ("span.", "resource."):
            if name.startswith(scope):
                out.add(name[len(scope):])
    return sorted(out)


class TagSuggester(Suggester):
    """A Textual `Suggester` over `source.tag_names()` and `source.tag_values(key)`."""

    def __init__(self, source: Any) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.source = source
        self._names: asyncio.Task[list[str]] | None = None
        self._values: dict[str, asyncio.Task[list[str]]] = {}

    async def get_suggestion(self, value: str) -> str | None:
        match = _TERM.search(value)
        if match is None or not value.strip():
            return None
        if match["op"] is None:
            prefix = match["key"]
            names = await self._wait(self._names_task())
            found = next((name for name in names if name.startswith(prefix) and name != prefix), None)
            return value + found[len(prefix):] if found else None
        partial = match["value"]
        values = await self._wait(self._values_task(lookup_key(match["key"])))
        found = next((v for v in values if v.startswith(partial) and v != partial and _plain(v, match["quote"])),
                     None)
        return value + found[len(partial):] if found else None

    async def _wait(self, task: asyncio.Task[list[str]]) -> list[str]:
        try:
            return await asyncio.wait_for(asyncio.shield(task), ANSWER_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - a source error or a timeout: no suggestion
            return []

    def _names_task(self) -> asyncio.Task[list[str]]:
        if self._names is None or (self._names.done() and self._names.exception() is not None):
            self._names = _quiet(asyncio.ensure_future(asyncio.to_thread(lambda: bare_names(self.source.tag_names()))))
        return self._names

    def _values_task(self, key: str) -> asyncio.Task[list[str]]:
        task = self._values.get(key)
        if task is None or (task.done() and task.exception() is not None):
            task = _quiet(asyncio.ensure_future(asyncio.to_thread(
                lambda: sorted({str(value.text) for value in self.source.tag_values(key, 500)}))))
            self._values[key] = task
        return task


def _quiet(task: asyncio.Task[list[str]]) -> asyncio.Task[list[str]]:
    """`task`, its failure retrieved when it ends: a lookup that fails after `_wait` gave up (a 429, a
    timeout) is retried on the next keypress, not reported as "exception never retrieved" on stderr."""
    task.add_done_callback(lambda done: None if done.cancelled() else done.exception())
    return task


def _plain(value: str, quote: str | None) -> bool:
    """Outside quotes, only values the shorthand takes bare (no spaces or quotes)."""
    return bool(quote) or not any(char.isspace() or char in "\"'()" for char in value)
