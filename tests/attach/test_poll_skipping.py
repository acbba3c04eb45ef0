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
