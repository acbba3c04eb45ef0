"""`kubespan attach` over a real Grafana Tempo (built from source; skipped without TEMPO_BIN): the k8s
fixture sent to `kubespan serve`, forwarded by it to Tempo, then browsed, filtered with the walkthrough's
query, the echo-command trace opened, and a new trace followed as it arrives."""

from __future__ import annotations

import time

import pytest

from kubespan.remote.client import RemoteClient
from kubespan.remote.detect import detect
from kubespan.remote.settings import RemoteSettings
from tests.attach.app_support import attach_app
from tests.attach.conftest import recent_shift
from tests.support.k8s_fixture import BLOG_TRACE_ID, load_fixture
from tests.support.serve_process import ServeProcess
from tests.support.spanfactory import T0, S, request, trace_id
from tests.support.tempo import TempoPorts, TempoProcess, require, search_count, send_requests, tempo_bin, wait_until
from tests.tui.helpers import screen_text, searched, wait_for

PORTS = TempoPorts(http=33200, otlp_grpc=34317, otlp_http=34318, grpc=39095, memberlist=37946)
"""attach's Tempo ports (TEMPO_HTTP=33200 …), apart from the other engineers' Tempos."""
NS = 1_000_000_000


@pytest.fixture(scope="module")
def tempo_with_fixture():
    binary = require(tempo_bin(), "TEMPO_BIN")
    tempo = TempoProcess(binary, PORTS).start()
    serve = ServeProcess("--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api", "off",
                         "--forward", tempo.otlp_http)
    try:
        requests = load_fixture(recent_shift())
        send_requests(f"http://{serve.addresses['http']}", requests)
        now = int(time.time())
        wait_until(lambda: search_count(tempo.api, now - 3600, now + 60) >= 727, 120, "the fixture in Tempo")
        yield tempo, serve
    finally:
        serve.stop()
        tempo.stop()


async def test_attach_to_tempo_filters_opens_and_follows(tempo_with_fixture):
    tempo, serve = tempo_with_fixture
    assert detect(RemoteClient(RemoteSettings(tempo.api))).kind == "tempo"
    app = attach_app(tempo.api, refresh_s=1.0)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.trace_list.row_count() == 500, timeout=30, what="500 traces")
            await wait_for(pilot, lambda: "tempo " + tempo.api in screen_text(app), what="the footer's source")
            app.filter_bar.input.value = "service=kubelet name=syncPod k8s.pod=default/echo-command"
            app.filter_bar.input.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() == 9,
                           timeout=30, what="the walkthrough's 9 traces")
            blog = bytes.fromhex(BLOG_TRACE_ID)
            app.trace_list.focus()
            app.trace_list.move_cursor(app.trace_list.result.position(blog))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, timeout=30,
                           what="the echo-command trace")
            assert app.trace_view.data.trace_id == blog and len(app.waterfall.lines) == 11
            await pilot.press("escape")
            app.filter_bar.input.value = "service=kubespan-attach-test"
            app.filter_bar.input.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: searched(app.trace_list, app), timeout=30, what="empty search")
            assert app.trace_list.row_count() == 0
            ago = time.time_ns() - T0
            new = request([S(4242, 1, name="arrived", service="kubespan-attach-test", start=ago - NS)])
            send_requests(f"http://{serve.addresses['http']}", [new])
            await wait_for(pilot, lambda: app.trace_list.row_count() == 1, timeout=60, what="the new trace")
            assert app.trace_list.result.key(0) == trace_id(4242)
    finally:
        app.source.close()
