"""The viewer over a remote, for attach's flow and snapshot tests: kubespan's API over a store fed
through the real pipeline, a `RemoteSource` on it, and a frozen clock where the screen shows times."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from kubespan.query import compile_query
from kubespan.remote.client import RemoteClient
from kubespan.remote.settings import RemoteSettings
from kubespan.tui.app import KubespanApp
from kubespan.tui.attach_app import AttachApp
from kubespan.tui.format import Clock
from kubespan.tui.source.remote import RemoteSource

FIXED_LATENCY_S = 0.004


class SteadyClient(RemoteClient):
    """Reports the same latency every time, so snapshots do not depend on the machine's load."""

    def get(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        answer = super().get(*args, **kwargs)
        self.last_latency_s = FIXED_LATENCY_S
        return answer


class NamedSource(RemoteSource):
    """Shows a fixed URL in the footer (the test API's port changes from run to run)."""

    def _name(self) -> str:
        return f"{self.info.kind if self.info else 'remote'} http://kubespan.test:3200"


def attach_app(url: str, *, wall_clock=None, refresh_s: float = 0.2, steady: bool = False, **settings) -> KubespanApp:
    """`kubespan attach URL` as the CLI builds it; `wall_clock` (unix s) freezes the live window."""
    remote_settings = RemoteSettings(url, **settings)
    client = (SteadyClient if steady else RemoteClient)(remote_settings)
    options: dict[str, Any] = {}
    if wall_clock is not None:
        options["wall_clock"] = wall_clock
    source_type = NamedSource if steady else RemoteSource
    source = source_type(remote_settings, compile_query=compile_query, client=client, refresh_s=refresh_s,
                         tz=timezone.utc, **options)
    frozen = wall_clock() if wall_clock is not None else None
    app = AttachApp(source, clock=Clock(tz=timezone.utc, frozen=frozen) if frozen else Clock(tz=timezone.utc),
                      tz=timezone.utc, save_dir="/nonexistent")
    return app
