"""`kubespan attach` end to end against kubespan's own API: the live list, the walkthrough's filter (its
shorthand translated and shown), the echo-command trace opened by id, new traces followed, pause,
and a remote that goes away and comes back, is slow, refuses us or answers garbage."""

from __future__ import annotations

import threading
import time

from kubespan.api import ApiSettings
from kubespan.api.component import ApiComponent
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.otlp.protowire import varint
from kubespan.receive.settings import ReceiverSettings
from kubespan.stats import Counters
from kubespan.store import SpanStore
from tests.attach.app_support import attach_app
from tests.attach.fake_remote import Canned
from tests.support.k8s_fixture import BLOG_TRACE_ID
from tests.support.spanfactory import T0, S, request
from tests.tui.helpers import screen_text, searched, wait_for

WALKTHROUGH = "service=kubelet name=syncPod k8s.pod=default/echo-command"
SENT = '{ resource.service.name = "kubelet" && name = "syncPod" && .k8s.pod = "default/echo-command" }'
NS = 1_000_000_000


async def _listed(pilot, app, count: int | None = None) -> None:
    await wait_for(pilot, lambda: searched(app.trace_list, app) and app.trace_list.row_count() > 0
                   and (count is None or app.trace_list.row_count() == count), what=f"{count or 'some'} traces")


async def _filter(pilot, app, text: str) -> None:
    app.filter_bar.input.value = text
    app.filter_bar.input.focus()
    await pilot.press("enter")


async def test_walkthrough_filter_and_the_echo_command_trace(kubespan_api):
    app = attach_app(kubespan_api.url)
    async with app.run_test(size=(160, 45)) as pilot:
        await _listed(pilot, app, 500)
        await wait_for(pilot, lambda: "newest 500 of more (--limit)" in screen_text(app), what="the cut said")
        await _filter(pilot, app, WALKTHROUGH)
        await _listed(pilot, app, 9)
        await wait_for(pilot, lambda: "→ sent as " + SENT in screen_text(app) and "9 traces" in screen_text(app),
                       what="the translation and the count shown")
        blog = bytes.fromhex(BLOG_TRACE_ID)
        position = app.trace_list.result.position(blog)
        app.trace_list.focus()
        app.trace_list.move_cursor(position)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, what="trace")
        assert app.trace_view.data.trace_id == blog and len(app.waterfall.lines) == 11
        await wait_for(pilot, lambda: "kubespan " + kubespan_api.url in screen_text(app), what="the footer's source")
    app.source.close()


async def test_traceql_is_sent_as_typed(kubespan_api):
    app = attach_app(kubespan_api.url)
    async with app.run_test(size=(160, 45)) as pilot:
        await _listed(pilot, app)
        await _filter(pilot, app, SENT.replace(".k8s.pod", "span.k8s.pod"))
        await _listed(pilot, app, 9)
        await wait_for(pilot, lambda: "9 traces" in screen_text(app), what="the count shown")
        assert "sent as" not in screen_text(app)
    app.source.close()


def _api(store: SpanStore, address: str = "127.0.0.1:0") -> ApiComponent:
    component = ApiComponent(ApiSettings(address=address, explicit=True), ReceiverSettings(), Counters(), store)
    component.start()
    return component


def _add(store: SpanStore, spans: list[S]) -> None:
    batch, _ = decode_request(request(spans).SerializeToString(), store.table)
    store.consume_traces(batch)


async def test_new_traces_are_followed_paused_and_the_remote_recovers():
    store = SpanStore(new_attribute_table())
    ago = time.time_ns() - T0
    _add(store, [S(1, 1, name="first", start=ago - 10 * NS)])
    api = _api(store)
    address = api.address
    app = attach_app(f"http://{address}")
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await _listed(pilot, app, 1)
            _add(store, [S(2, 1, name="second", start=ago - 5 * NS)])
            await _listed(pilot, app, 2)
            await pilot.press("p")
            _add(store, [S(3, 1, name="third", start=ago - 4 * NS)])
            periods = app.source.poller.periods
            await wait_for(pilot, lambda: app.source.poller.periods >= periods + 3, what="three refresh periods")
            assert app.trace_list.row_count() == 2
            await pilot.press("p")
            await _listed(pilot, app, 3)
            api.stop()
            await wait_for(pilot, lambda: "unreachable, retrying" in screen_text(app), what="unreachable note")
            assert app.trace_list.row_count() == 3  # the last data stays
            await wait_for(pilot, lambda: "second" in screen_text(app), what="the last data on screen")
            _add(store, [S(4, 1, name="fourth", start=ago - 3 * NS)])
            api = _api(store, address)  # back on the same port
            await wait_for(pilot, lambda: "unreachable" not in screen_text(app), timeout=30, what="recovery")
            await _listed(pilot, app, 4)
    finally:
        app.source.close()
        api.stop()


async def test_a_slow_remote_does_not_block_the_keys(fake):
    release = threading.Event()
    fake.answers["/api/status/buildinfo"] = Canned(body=b'{"version":"2.9.0"}')
    fake.answers["/api/search"] = Canned(body=b'{"traces":[]}', delay=release)
    app = attach_app(fake.url, timeout_s=20)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.trace_list.searching, what="search running")
            await pilot.press("question_mark")  # the help screen opens while the search waits
            await wait_for(pilot, lambda: len(app.screen_stack) == 2, what="help shown")
            assert app.trace_list.searching
            await pilot.press("escape")
            release.set()
            await wait_for(pilot, lambda: searched(app.trace_list, app), what="search done")
    finally:
        release.set()
        app.source.close()


async def test_refused_and_malformed_answers_are_said_not_raised(fake):
    fake.answers["/api/status/buildinfo"] = Canned(body=b'{"version":"2.9.0"}')
    fake.answers["/api/search"] = Canned(body=b'{"traces": [{"traceID": 12')
    app = attach_app(fake.url)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_for(pilot, lambda: "malformed JSON" in screen_text(app), what="malformed note")
            fake.answers["/api/search"] = Canned(401, b"unauthorized\n", "text/plain")
            await _filter(pilot, app, "service=kubelet")
            await wait_for(pilot, lambda: "401 Unauthorized" in screen_text(app), what="401 note")
            assert app.is_running
    finally:
        app.source.close()


def _huge_trace(spans: int) -> bytes:
    """One trace of `spans` spans: a root and a fan of children, as `tempopb.TraceByIDResponse` bytes."""
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

    start = time.time_ns() - T0 - 60 * NS
    built = request([S(9, 1, name="root", start=start, duration=2 * NS)]
                    + [S(9, n, parent=1, name=f"child-{n % 97}", start=start + n * 1000, duration=500)
                       for n in range(2, spans + 1)])
    trace = TracesData(resource_spans=built.resource_spans).SerializeToString()
    return b"\x0a" + varint(len(trace)) + trace



async def test_a_trace_of_50000_spans_opens_without_blocking_the_keys(fake):
    from tests.support.spanfactory import trace_id

    huge = trace_id(9)
    release = threading.Event()
    fake.answers["/api/status/buildinfo"] = Canned(body=b'{"version":"2.9.0"}')
    start = str(time.time_ns() - 60 * NS)
    fake.answers["/api/search"] = Canned(body=(
        '{"traces":[{"traceID":"%s","rootServiceName":"svc","rootTraceName":"root","startTimeUnixNano":"%s",'
        '"durationMs":2000,"serviceStats":{"svc":{"spanCount":50000}}}]}' % (huge.hex(), start)).encode())
    fake.answers[f"/api/v2/traces/{huge.hex()}"] = Canned(body=_huge_trace(50_000),
                                                          content_type="application/protobuf", delay=release)
    app = attach_app(fake.url)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await _listed(pilot, app, 1)
            await pilot.press("enter")
            await pilot.press("question_mark")  # answered while the trace is on its way
            await wait_for(pilot, lambda: len(app.screen_stack) == 2, what="help shown during the fetch")
            await pilot.press("escape")
            release.set()
            await wait_for(pilot, lambda: app.view == "trace" and app.trace_view.data is not None, timeout=60,
                           what="huge trace shown")
            assert app.trace_view.data.cut == "showing 20,000 of 50,000 spans"
            await wait_for(pilot, lambda: "showing 20,000 of 50,000 spans" in screen_text(app), what="the cut said")
    finally:
        release.set()
        app.source.close()
