"""The live trace list over kubespan's API: the walkthrough's search, polls merged without duplicates,
new traces followed, the limit said, and traces fetched by id into a store of their own."""

from __future__ import annotations

import json
import time

import pytest

from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.otlp.protowire import varint
from kubespan.remote.answers import scoped_names, tag_names, tag_values
from kubespan.remote.client import RemoteClient, RemoteError
from kubespan.remote.feed import TraceFeed
from kubespan.remote.settings import RemoteSettings
from kubespan.remote.trace_fetch import fetch_trace, unwrap_trace_by_id
from kubespan.store import SpanStore
from tests.attach.fake_remote import Canned
from tests.support.api_server import start_api
from tests.support.k8s_fixture import BLOG_TRACE_ID
from tests.support.spanfactory import T0, S, request, trace_id

WALKTHROUGH = '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "default/echo-command" }'
NS = 1_000_000_000


def remote(url: str) -> RemoteClient:
    return RemoteClient(RemoteSettings(url))


def test_the_walkthrough_search_finds_its_nine_traces(kubespan_api):
    feed = TraceFeed(remote(kubespan_api.url), WALKTHROUGH, limit=500, lookback_s=3600)
    assert feed.last_poll is None and feed.poll() and feed.last_poll is not None
    traces = feed.page.traces
    assert len(traces) == 9 and not feed.page.cut
    assert all(t.root_service == "kubelet" for t in traces)
    assert [t.start for t in traces] == sorted((t.start for t in traces), reverse=True)
    assert bytes.fromhex(BLOG_TRACE_ID) in {t.trace_id for t in traces}
    version = feed.page.version
    assert not feed.poll()  # nothing new: the same page, no flicker
    assert feed.page.version == version


def test_a_limit_is_said(kubespan_api):
    feed = TraceFeed(remote(kubespan_api.url), "{ }", limit=50, lookback_s=3600)
    feed.poll()
    assert len(feed.page.traces) == 50 and feed.page.cut == "newest 50 of more (--limit)"


def _store_api():
    store = SpanStore(new_attribute_table())
    return start_api(store), store


def _add(store: SpanStore, spans: list[S]) -> None:
    batch, _ = decode_request(request(spans).SerializeToString(), store.table)
    store.consume_traces(batch)


def test_new_traces_are_followed_and_a_growing_trace_is_replaced_not_doubled():
    api, store = _store_api()
    try:
        ago = time.time_ns() - T0
        _add(store, [S(1, 1, start=ago - 5 * NS)])
        feed = TraceFeed(remote(api.url), "{ }", limit=500, lookback_s=600)
        assert feed.poll() and len(feed.page.traces) == 1
        _add(store, [S(1, 2, parent=1, start=ago - 4 * NS), S(1, 3, parent=1, start=ago - 4 * NS)])
        _add(store, [S(2, 1, start=ago - 3 * NS)])
        assert feed.poll()
        traces = feed.page.traces
        assert [t.trace_id for t in traces] == [trace_id(2), trace_id(1)]
        assert traces[1].span_count == 3
    finally:
        api.stop()


def test_fetches_a_trace_by_id_into_its_own_store(kubespan_api):
    found = fetch_trace(remote(kubespan_api.url), bytes.fromhex(BLOG_TRACE_ID))
    assert found is not None and found.spans == 11 and not found.partial
    summary = found.store.trace_summary(bytes.fromhex(BLOG_TRACE_ID))
    assert summary is not None and (summary.root_service, summary.root_name) == ("kubelet", "syncPod")
    assert fetch_trace(remote(kubespan_api.url), b"\x01" * 16) is None


def test_the_v1_json_answer_of_an_older_remote_is_read(fake, kubespan_api):
    status, _, body = kubespan_api.get(f"/api/traces/{BLOG_TRACE_ID}")
    assert status == 200
    fake.answers[f"/api/traces/{BLOG_TRACE_ID}"] = Canned(body=body)  # no v2 path: 404 with Go's text
    found = fetch_trace(remote(fake.url), bytes.fromhex(BLOG_TRACE_ID))
    assert found is not None and found.spans == 11
    assert [s.path.split("?")[0] for s in fake.seen] == [f"/api/v2/traces/{BLOG_TRACE_ID}",
                                                         f"/api/traces/{BLOG_TRACE_ID}"]


def test_a_partial_trace_says_so():
    trace = request([S(7, 1), S(7, 2, parent=1)]).SerializeToString()
    message = b"trace too big"
    wrapped = b"\x0a" + varint(len(trace)) + trace + b"\x18\x01\x22" + varint(len(message)) + message
    assert unwrap_trace_by_id(wrapped) == (trace, "trace too big")
    with pytest.raises(RemoteError, match="not a protobuf"):
        unwrap_trace_by_id(b"\x0a\xff\xff")


def test_tag_names_and_values_from_the_tag_endpoints(kubespan_api):
    client = remote(kubespan_api.url)
    names = scoped_names(tag_names(client.get_json("/api/v2/search/tags")))
    assert {"span.k8s.pod", "resource.service.name", "name", "status"} <= set(names)
    values = tag_values(client.get_json("/api/v2/search/tag/resource.service.name/values"))
    assert {v.value for v in values} == {"kubelet", "containerd", "apiserver", "etcd"}
    assert {v.type for v in values} == {"string"}


def test_a_bad_search_answer_names_the_field(fake):
    fake.answers["/api/search"] = Canned(body=json.dumps({"traces": [{"traceID": "zz"}]}).encode())
    with pytest.raises(RemoteError) as err:
        TraceFeed(remote(fake.url), "{ }", limit=5, lookback_s=60).poll()
    assert err.value.kind == "bad_answer" and "traces[0].traceID is not hex" in err.value.message

