"""The viewer shows where its query API listens, in the footer next to the receivers; the empty list
still says where to send OTLP traces (the receivers only)."""

from __future__ import annotations

from datetime import timezone

from kubespan.query import compile_query
from kubespan.tui.factory import local_app
from kubespan.tui.format import Clock
from tests.tui.conftest import make_store
from tests.tui.helpers import ready, screen_text

ADDRESSES = {"grpc": "127.0.0.1:4317", "http": "127.0.0.1:4318", "api": "127.0.0.1:3200"}


async def test_the_footer_shows_the_api_and_the_empty_list_only_the_receivers(tmp_path):
    store, pipeline, counters = make_store([])
    app = local_app(store, compile_query=compile_query, counters=counters, addresses=ADDRESSES,
                    clock=Clock(tz=timezone.utc, frozen=1000.0), tz=timezone.utc, save_dir=tmp_path)
    app.pipeline = pipeline
    async with app.run_test(size=(160, 30)) as pilot:
        await ready(pilot, app)
        screen = screen_text(app)
        assert "API 127.0.0.1:3200" in screen
        assert "send OTLP traces to gRPC 127.0.0.1:4317 and HTTP 127.0.0.1:4318" in screen
        assert "and API" not in screen
