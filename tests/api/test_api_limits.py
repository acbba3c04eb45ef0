"""The query API's guard rails: token, methods, unknown paths, concurrency (429), query timeout (504),
query length, a failing handler (500 in one line), counters; never a traceback, always an answer."""

from __future__ import annotations

import threading

import pytest

from kubespan.api import ApiSettings
from kubespan.api.component import ApiComponent
from kubespan.api.responses import text_reply
from kubespan.api.server import ApiServer, Route
from kubespan.receive.settings import ReceiverSettings
from kubespan.stats import Counters
from tests.support.api_server import fixture_store, start_api
from tests.support.k8s_fixture import BLOG_TRACE_ID
from tests.support.tempo import get

WALKTHROUGH = '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "default/echo-command" }'


@pytest.fixture(scope="module")
def store():
    return fixture_store()


def test_the_token_guards_every_path_and_is_counted(store):
    api = start_api(store, receivers=ReceiverSettings(token="s3cret"))
    try:
        for path in ("/api/search", "/api/echo", "/api/nowhere", f"/api/traces/{BLOG_TRACE_ID}"):
            status, headers, body = api.get(path)
            assert status == 401 and body == b"missing or invalid bearer token"
            assert headers.get("WWW-Authenticate") == "Bearer"
        status, _, body = api.get("/api/search", {"q": WALKTHROUGH}, {"Authorization": "Bearer wrong"})
        assert status == 401
        status, _, _ = api.get("/api/search", {"q": WALKTHROUGH}, {"Authorization": "Bearer s3cret"})
        assert status == 200
        counts = api.counters.snapshot()
        assert counts["api_requests"] == 6 and counts["api_errors"] == 5 and counts["unauthenticated_requests"] == 5
    finally:
        api.stop()


def test_methods_paths_and_bad_input_get_clear_one_line_answers(store):
    api = start_api(store)
    try:
        status, headers, body = api.get("/api/search", method="DELETE")
        assert status == 405 and headers["Allow"] == "GET, HEAD" and body.count(b"\n") == 0
        status, _, body = api.get("/api/search", method="HEAD")
        assert status == 200 and body == b""
        assert api.get("/nothing/here")[:3:2] == (404, b"404 page not found\n")
        assert api.get("/api/search", {"q": "{ name = }"})[0] == 400
        assert api.get("/api/traces/zz")[0] == 400
        assert api.get("/api/search", {"limit": "999999999"})[0] == 400
        status, _, body = api.get("/api/search", {"q": "{ name = \"" + "x" * 200_000 + "\" }"})
        assert status == 400 and body.startswith(b"TraceQL expression exceeds the configured maximum size of 131072")
        counts = api.counters.snapshot()
        assert counts["api_errors"] == 6 and counts["queries_too_long"] == 1
    finally:
        api.stop()


def test_a_query_past_its_timeout_gets_504_and_is_counted(store):
    api = start_api(store, query_timeout_s=1e-9)
    try:
        status, _, body = api.get("/api/search", {"q": '{ name =~ ".*Container.*" }'})
        assert status == 504 and body.startswith(b"query timed out after"), body
        assert b"spans examined" in body
        assert api.counters.snapshot()["queries_timed_out"] >= 1
        assert api.get("/ready")[0] == 200  # the probes do not queue behind queries
    finally:
        api.stop()


def _server(handler, **settings) -> tuple[ApiServer, Counters, str]:
    counters = Counters()
    server = ApiServer([Route("/slow", handler), Route("/ready", lambda r: text_reply("ready\n"), query=False)],
                       ApiSettings(address="127.0.0.1:0", **settings), ReceiverSettings(), counters)
    return server, counters, f"http://{server.start()}"


def test_more_queries_than_slots_wait_then_get_429_with_retry_after():
    release, started = threading.Event(), threading.Semaphore(0)

    def slow(_):
        started.release()
        release.wait(10)
        return text_reply("done")

    server, counters, url = _server(slow, max_concurrent=2, queue_wait_s=0.2)
    try:
        answers: list[int] = []
        workers = [threading.Thread(target=lambda: answers.append(get(url + "/slow")[0])) for _ in range(2)]
        for worker in workers:
            worker.start()
        for _ in range(2):
            assert started.acquire(timeout=10)
        status, headers, body = get(url + "/slow")
        assert status == 429 and headers["Retry-After"] == "1" and b"too many queries" in body
        assert get(url + "/ready")[0] == 200
        release.set()
        for worker in workers:
            worker.join(10)
        assert answers == [200, 200] and get(url + "/slow")[0] == 200
        assert counters.snapshot()["api_throttled"] == 1
    finally:
        release.set()
        server.stop()


def test_a_query_over_its_memory_bound_gets_413_and_is_counted(store):
    from kubespan.cli.api_options import api_settings
    from kubespan.cli.main import build_parser

    args = build_parser().parse_args(["serve", "--max-query-mib", "0.5"])
    assert api_settings(args).max_query_memory_bytes == 1 << 19
    api = start_api(store, max_query_memory_bytes=50_000)
    try:
        status, _, body = api.get("/api/search", {"q": "{ } >> { }"})  # the structure needs ~150 kB
        assert status == 413 and b"for its intermediate results" in body and body.count(b"\n") == 0, body
        assert api.get("/api/search", {"q": WALKTHROUGH})[0] == 200  # a plain filter stays within it
        assert api.counters.snapshot()["queries_over_memory"] == 1
    finally:
        api.stop()


class _HeldStore:
    """The fixture store, but every query waits at its snapshot until `gate` opens."""

    def __init__(self, store, gate: threading.Event, inside: threading.Semaphore) -> None:
        self.store, self.gate, self.inside = store, gate, inside

    def reader(self):
        self.inside.release()
        self.gate.wait(10)
        return self.store.reader()

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_kubespans_routes_run_as_many_queries_as_configured_and_refuse_the_next_with_429(store):
    from kubespan.cli.api_options import api_settings
    from kubespan.cli.main import build_parser

    args = build_parser().parse_args(["serve", "--api-max-queries", "2", "--query-timeout", "20"])
    configured = api_settings(args)
    assert (configured.max_concurrent, configured.query_timeout_s) == (2, 20.0)
    gate, inside = threading.Event(), threading.Semaphore(0)
    api = start_api(_HeldStore(store, gate, inside), max_concurrent=configured.max_concurrent, queue_wait_s=0.2)
    try:
        answers: list[int] = []
        held = [threading.Thread(target=lambda: answers.append(api.get("/api/search", {"q": WALKTHROUGH})[0]))
                for _ in range(2)]
        for thread in held:
            thread.start()
        for _ in range(2):
            assert inside.acquire(timeout=10)
        status, headers, body = api.get(f"/api/v2/traces/{BLOG_TRACE_ID}")
        assert status == 429 and headers["Retry-After"] == "1", body
        assert body == b"too many queries: 2 are running; retry in 1 s"
        assert api.get("/api/echo")[0] == 200  # probes never queue
        gate.set()
        for thread in held:
            thread.join(10)
        assert answers == [200, 200] and api.get(f"/api/v2/traces/{BLOG_TRACE_ID}")[0] == 200
        assert api.counters.snapshot()["api_throttled"] == 1
    finally:
        gate.set()
        api.stop()


def test_a_failing_handler_is_a_one_line_500_and_the_server_goes_on():
    def broken(_):
        raise KeyError("secret detail")

    server, counters, url = _server(broken)
    try:
        status, _, body = get(url + "/slow")
        assert status == 500 and body == b"internal error: KeyError" and b"Traceback" not in body
        assert get(url + "/ready")[0] == 200 and counters.snapshot()["api_errors"] == 1
    finally:
        server.stop()


def test_a_taken_default_port_is_a_warning_and_a_chosen_one_an_error(store):
    first = start_api(store)
    try:
        taken = first.component.address
        quiet = ApiComponent(ApiSettings(address=taken, explicit=False), ReceiverSettings(), Counters(), store)
        assert quiet.start() is None and "in use" in quiet.warnings[0] and len(quiet.warnings) == 1
        loud = ApiComponent(ApiSettings(address=taken, explicit=True), ReceiverSettings(), Counters(), store)
        with pytest.raises(OSError, match="query API: cannot listen on"):
            loud.start()
    finally:
        first.stop()


def test_an_exposed_api_without_auth_is_loud(store):
    component = ApiComponent(ApiSettings(address="0.0.0.0:0", explicit=True), ReceiverSettings(), Counters(), store)
    try:
        component.start()
        assert any("reachable from other machines without auth or TLS" in w for w in component.warnings)
    finally:
        component.stop()
    guarded = ApiComponent(ApiSettings(address="0.0.0.0:0", explicit=True), ReceiverSettings(token="t"), Counters(),
                           store)
    try:
        guarded.start()
        assert any("without TLS" in w for w in guarded.warnings)
    finally:
        guarded.stop()


def test_answers_are_bounded_in_spans(store):
    from tests.support.k8s_fixture import BLOG_TRACE_ID as blog

    api = start_api(store, max_answer_spans=5)
    try:
        status, _, body = api.get("/api/search", {"q": "{ }", "limit": "3"})
        assert status == 413 and b"search answer too large: 8 spans in 3 traces; at most 5" in body
        status, _, body = api.get(f"/api/v2/traces/{blog}")
        answer = __import__("json").loads(body)
        spans = [s for rs in answer["trace"]["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
        assert status == 200 and answer["status"] == "PARTIAL" and len(spans) == 5
        assert answer["message"].startswith("Trace exceeds max size")
    finally:
        api.stop()
