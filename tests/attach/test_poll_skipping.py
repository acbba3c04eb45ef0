"""Polls of a kubespan remote whose store did not change send no search (one small status request
instead), polls of a Tempo search every time, and a filter typed in the viewer costs one request."""

from __future__ import annotations

import time

from kubespan.otlp.decode import decode_request
from kubespan.query import compile_query
from kubespan.remote.client import RemoteClient
from kubespan.remote.detect import detect
from kubespan.remote.feed import FULL_POLL_S, TraceFeed
from kubespan.remote.settings import RemoteSettings
from kubespan.tui.source.remote import RemoteSource
from tests.attach.conftest import recent_shift
from tests.attach.fake_remote import Canned
from tests.support.api_server import fixture_store, start_api
from tests.support.k8s_fixture import load_fixture

NS = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _requests_since(api_requests_before: int, api) -> int:
    return api.counters.get("api_requests") - api_requests_before


def test_an_unchanged_store_is_not_searched_again_until_it_changes():
    shift = recent_shift()
    store = fixture_store(shift)
    api = start_api(store)
    clock = Clock()
    try:
        client = RemoteClient(RemoteSettings(api.url))
        info = detect(client)
        assert info.kind == "kubespan" and info.status_path == "/api/kubespan/status"
        feed = TraceFeed(client, "{ }", limit=50, lookback_s=3600, status_path=info.status_path, clock=clock)
        sent = client.requests
        assert feed.poll() and feed.searches == 1 and client.requests == sent + 1  # the first poll: a search only
        listed = feed.page.traces
        for _ in range(3):
            clock.now += 2
            assert feed.poll() is False
        assert feed.searches == 1 and client.requests == sent + 4  # three status probes, no search
        assert feed.page.traces == listed and feed.last_poll == clock.now

        batch, _ = decode_request(load_fixture(shift + 30 * NS)[0].SerializeToString(), store.table)
        store.consume_traces(batch)
        clock.now += 2
        feed.poll()
        assert feed.searches == 2 and client.requests == sent + 6  # probe, then the search

        clock.now += FULL_POLL_S
        feed.poll()
        assert feed.searches == 3 and client.requests == sent + 7  # searched again anyway, no probe
    finally:
        api.stop()


def test_without_the_status_endpoint_every_poll_searches(fake):
    fake.answers["/api/search"] = Canned(body=b'{"traces":[]}', headers={"X-Kubespan-Store-Version": "7"})
    feed = TraceFeed(RemoteClient(RemoteSettings(fake.url)), "{ }", limit=50, lookback_s=3600)  # a Tempo
    for _ in range(3):
        feed.poll()
    assert feed.searches == 3 and [s.path.split("?")[0] for s in fake.seen] == ["/api/search"] * 3


def test_a_status_endpoint_that_does_not_answer_falls_back_to_searching(fake):
    fake.answers["/api/search"] = Canned(body=b'{"traces":[]}', headers={"X-Kubespan-Store-Version": "7"})
    feed = TraceFeed(RemoteClient(RemoteSettings(fake.url)), "{ }", limit=50, lookback_s=3600,
                     status_path="/api/kubespan/status")  # 404 there
    for _ in range(3):
        feed.poll()
    assert feed.searches == 3 and feed.status_path == ""
    assert [s.path.split("?")[0] for s in fake.seen] == ["/api/search", "/api/kubespan/status", "/api/search",
                                                         "/api/search"]


def test_a_filter_costs_one_search_and_a_filter_seen_again_none(kubespan_api):
    source = RemoteSource(RemoteSettings(kubespan_api.url), compile_query=compile_query, refresh_s=3600)
    try:
        source.find_traces(source.compile(""))  # detection and the first list
        before = kubespan_api.counters.get("api_requests")
        search = source.compile("k8s.pod=default/echo-command")
        found = source.find_traces(search)
        assert found.total > 0 and _requests_since(before, kubespan_api) == 1
        again = source.find_traces(search)
        assert again.total == found.total and _requests_since(before, kubespan_api) == 1
    finally:
        source.close()


class _TimedFeed:
    """Records when the poller polls (and lets the test wait for it)."""

    def __init__(self) -> None:
        import threading

        self.polled: list[float] = []
        self.event = threading.Event()
        self.last_poll = None

    def poll(self, min_age_s: float = 0.0) -> bool:
        self.polled.append(time.monotonic())
        self.event.set()
        return False


def test_a_key_puts_the_next_poll_off_for_a_moment():
    """While a key is answered no poll starts (its answer would be parsed while the key's frame is drawn);
    a stream of keys holds polls back at most `MAX_HOLD_S`."""
    from kubespan.remote import poller as poller_module
    from kubespan.remote.poller import Poller

    feed = _TimedFeed()
    poller = Poller(RemoteClient(RemoteSettings("http://127.0.0.1:9")), "remote", refresh_s=60,
                    on_change=lambda: None)
    try:
        poller.follow(feed)  # wakes the poller: a poll now
        assert feed.event.wait(10)
        feed.event.clear()
        held = time.monotonic()
        poller.hold(0.3)
        poller.poke()
        assert feed.event.wait(10) and feed.polled[-1] >= held + 0.3
        feed.event.clear()
        started = time.monotonic()
        poller.hold(0.3)
        poller.poke()
        for _ in range(40):  # keys every 0.1 s for 4 s: the poll is made after MAX_HOLD_S anyway
            poller.hold(0.3)
            if feed.event.wait(0.1):
                break
        assert feed.event.is_set() and feed.polled[-1] - started <= poller_module.MAX_HOLD_S + 1.0
    finally:
        poller.close()


async def test_the_attached_viewer_holds_polls_while_keys_come(kubespan_api):
    from tests.attach.app_support import attach_app
    from tests.tui.helpers import searched, wait_for

    app = attach_app(kubespan_api.url)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: searched(app.trace_list, app), what="the trace list")
            before = time.monotonic()
            await pilot.press("down")
            assert app.source.poller._held_until >= before + 0.2
    finally:
        app.source.close()
