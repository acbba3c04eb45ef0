"""One way to build the viewer over the local store, for the CLI, the tests and the benchmark."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubespan.tui.app import KubespanApp
from kubespan.tui.source.local import LocalSource


def local_app(store: Any, *, compile_query: Callable[[str], Any] | None = None, counters: Any = None,
              addresses: Mapping[str, str] | None = None, warnings: Sequence[str] | None = None,
              forward_status: Callable[[], list[dict]] | None = None, **options: Any) -> KubespanApp:
    """`KubespanApp` over a `LocalSource` of `store`; `options` go to the app (clock, tz, ...)."""
    if compile_query is None:
        from kubespan.query import compile_query as default_compile

        compile_query = default_compile
    clock = options.get("clock")
    tz = options.get("tz", clock.tz if clock is not None else None)
    source = LocalSource(store, compile_query=compile_query, counters=counters, addresses=addresses,
                         warnings=warnings, forward_status=forward_status, tz=tz)
    return KubespanApp(source, **options)
