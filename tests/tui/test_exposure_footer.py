"""The exposure warning reaches the status footer when `kubespan` starts the viewer."""

from __future__ import annotations

import kubespan.service.warnings
from kubespan.cli.main import main
from kubespan.tui.app import KubespanApp
from kubespan.tui.status_footer import StatusFooter
from tests.tui.helpers import screen_text, wait_for


def start_viewer(monkeypatch, argv: list[str]) -> KubespanApp:
    """Run `kubespan ARGV` up to the viewer and return the app it would have shown (without the query
    API: its default port 3200 may be taken on the machine, which adds a warning of its own)."""
    started: list[KubespanApp] = []
    monkeypatch.setattr(KubespanApp, "run", lambda app, *args, **kwargs: started.append(app))
    assert main([*argv, "--api", "off"]) == 0
    return started[0]


async def test_footer_shows_the_whole_warning_for_exposed_receivers(monkeypatch):
    # Tests bind loopback only; pretend 127.0.0.1 reaches other machines.
    monkeypatch.setattr(kubespan.service.warnings, "is_loopback", lambda host: False)
    app = start_viewer(monkeypatch, ["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--max-spans", "1000"])
    [warning] = app.source.warnings
    assert warning.startswith("WARNING: the gRPC receiver on 127.0.0.1:0 and the HTTP receiver on 127.0.0.1:0")
    async with app.run_test(size=(80, 24)) as pilot:  # the smallest usual terminal: nothing may be cut
        footer = app.query_one(StatusFooter)
        await wait_for(pilot, lambda: "WARNING" in str(footer.render()), what="warning")
        await pilot.pause()
        on_screen = " ".join(line.strip() for line in screen_text(app).splitlines())
    assert warning in on_screen


async def test_footer_has_no_warning_on_loopback(monkeypatch):
    app = start_viewer(monkeypatch, ["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--max-spans", "1000"])
    async with app.run_test(size=(200, 30)) as pilot:
        footer = app.query_one(StatusFooter)
        await wait_for(pilot, lambda: "gRPC 127.0.0.1:" in str(footer.render()), what="addresses")
        assert "WARNING" not in str(footer.render())
