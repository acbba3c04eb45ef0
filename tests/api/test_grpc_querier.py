"""Tempo's streaming gRPC query API (`tempopb.StreamingQuerier`) on the query API's port, end to end with a
grpcio client built from the generated modules: the same answers as the HTTP endpoints, Tempo's status
codes, the token, TLS (ALPN h2 for gRPC, HTTP/1.1 kept for HTTP clients), and a cancelled stream."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import grpc
import pytest
from google.protobuf import json_format

from kubespan.api import throttle
from kubespan.api.grpc_querier import PACKET_BYTES, metrics_params, search_params, segments
from kubespan.api.h2_front import PREFACE
from kubespan.api.tempopb import tempo_pb2 as pb
from kubespan.api.tempopb import tempo_pb2_grpc as pb_grpc
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.receive.settings import ReceiverSettings
from kubespan.store import SpanStore
from tests.receive.test_auth_tls import read
from tests.support.api_server import fixture_store, start_api
from tests.support.k8s_fixture import FIXTURE_START_NS, load_fixture
from tests.support.secutil import Pki, make_pki
from tests.support.tempo import BUILD_HINT, tempo_cli

TOKEN = "grpc-query-token"
KUBELET = '{ resource.service.name = "kubelet" }'


@pytest.fixture(scope="module")
def api():
    running = start_api(fixture_store(0))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def stub(api):
    with grpc.insecure_channel(api.component.address) as channel:
        yield pb_grpc.StreamingQuerierStub(channel)


def _json(message) -> dict:
    return json.loads(json_format.MessageToJson(message))


def _http_json(api, path: str, params: list[tuple[str, str]]) -> dict:
    status, _, body = api.get(path, params)
    assert status == 200, body
    return json.loads(body)


def test_search_streams_the_http_answer(api, stub):
    request = pb.SearchRequest(Query=KUBELET, Limit=5, SpansPerSpanSet=2)
    messages = list(stub.Search(request, timeout=30))
    assert len(messages) == 1
    answer = _json(messages[0])
    expected = _http_json(api, "/api/search", search_params(request))
    assert len(answer["traces"]) == 5
    assert answer["traces"] == expected["traces"]
    assert all(len(t["spanSet"]["spans"]) <= 2 for t in answer["traces"])
    assert answer["metrics"]["completedJobs"] == 1 and answer["metrics"]["totalJobs"] == 1


def test_search_by_tags_and_a_pipeline(api, stub):
    by_tags = _json(list(stub.Search(pb.SearchRequest(Tags={"service.name": "kubelet"}, Limit=3)))[0])
    assert [t["rootServiceName"] for t in by_tags["traces"]] and len(by_tags["traces"]) == 3
    pipeline = pb.SearchRequest(Query='{ } | by(resource.service.name) | count() > 1', Limit=4)
    answer = _json(list(stub.Search(pipeline))[0])
    assert answer["traces"] == _http_json(api, "/api/search", search_params(pipeline))["traces"]


def test_tags_and_tag_values_are_the_http_answers(api, stub):
    names = list(stub.SearchTags(pb.SearchTagsRequest(scope="resource")))
    assert _json(names[0])["tagNames"] == _http_json(api, "/api/search/tags", [("scope", "resource")])["tagNames"]
    v2 = _json(list(stub.SearchTagsV2(pb.SearchTagsRequest(scope="span")))[0])
    assert v2["scopes"] == _http_json(api, "/api/v2/search/tags", [("scope", "span")])["scopes"]
    values = _json(list(stub.SearchTagValues(pb.SearchTagValuesRequest(tagName="service.name")))[0])
    assert "kubelet" in values["tagValues"]
    typed = _json(list(stub.SearchTagValuesV2(pb.SearchTagValuesRequest(
        tagName="resource.service.name", query=KUBELET)))[0])
    assert typed["tagValues"] == [{"type": "string", "value": "kubelet"}]


def test_metrics_range_and_instant_are_the_http_answers(api, stub):
    start = FIXTURE_START_NS // 10**9 // 60 * 60
    window = {"start": start * 10**9, "end": (start + 240) * 10**9}
    ranged = pb.QueryRangeRequest(query="{ } | rate() by (resource.service.name)", step=60 * 10**9, **window)
    answer = _json(list(stub.MetricsQueryRange(ranged))[0])
    expected = _http_json(api, "/api/metrics/query_range", metrics_params(ranged))
    assert answer["series"] == expected["series"] and len(answer["series"]) >= 3
    instant = pb.QueryInstantRequest(query="{ } | count_over_time() by (resource.service.name)", **window)
    answer = _json(list(stub.MetricsQueryInstant(instant))[0])
    expected = _http_json(api, "/api/metrics/query", metrics_params(instant))
    assert answer["series"] == expected["series"] and sum(s["value"] for s in answer["series"]) > 0
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.MetricsQueryRange(pb.QueryRangeRequest(query="{ } | rate(", **window)))
    assert caught.value.code() == grpc.StatusCode.UNKNOWN  # as Tempo: its combiner's parse fails as a plain error
    assert caught.value.details().startswith("parse error at line 1, col ")


def test_a_bad_query_is_invalid_argument_with_tempos_text(api, stub):
    before = api.counters.get("api_errors")
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Search(pb.SearchRequest(Query="{ .a = ")))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("invalid TraceQL query: parse error at line 1, col ")
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Search(pb.SearchRequest(Query=KUBELET, SpansPerSpanSet=101)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert api.counters.get("api_errors") == before + 2


def test_the_same_port_still_serves_http_1_1(api):
    status, _, body = api.get("/api/echo")
    assert (status, body) == (200, b"echo\n")
    host, port = api.component.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:  # shorter than the preface
        raw.sendall(b"GET /ready HTTP/1.0\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.0 200")
    with socket.create_connection((host, int(port)), timeout=5) as raw:  # the preface's first letters, slowly
        for piece in (b"P", b"RO", b"PFIND /ready HTTP/1.0\r\n\r\n"):
            raw.sendall(piece)
            time.sleep(0.05)
        assert raw.recv(100).startswith(b"HTTP/1.0 405")


def test_a_cancelled_stream_frees_its_worker(stub, api):
    """A query that would run until its deadline: cancelling the stream cancels the deadline, the worker
    thread leaves the query and the slot is free again."""
    started, ended = threading.Event(), threading.Event()
    servicer = api.component.grpc.servicer

    def endless(request):
        started.set()
        try:
            deadline = throttle.current()
            while True:
                deadline.check()
                time.sleep(0.01)
        finally:
            ended.set()

    original = servicer.handlers["/api/search"]
    servicer.handlers["/api/search"] = api.component.context.guarded(endless)
    try:
        cancelled = api.counters.get("queries_cancelled")
        call = stub.Search(pb.SearchRequest(Query=KUBELET))
        assert started.wait(10)
        call.cancel()
        assert ended.wait(10), "the worker still runs the cancelled query"
        assert api.counters.get("queries_cancelled") == cancelled + 1
    finally:
        servicer.handlers["/api/search"] = original
    assert len(list(stub.Search(pb.SearchRequest(Query=KUBELET, Limit=1)))[0].traces) == 1


def test_a_slow_search_says_it_is_under_way_then_answers(stub, api):
    """Like Tempo's diffs while its jobs run: an empty message with 0 of 1 jobs done every 0.5 s, then the answer."""
    servicer = api.component.grpc.servicer
    original = servicer.handlers["/api/search"]

    release = threading.Event()

    def slow(request):
        assert release.wait(30)
        return original(request)

    servicer.handlers["/api/search"] = slow
    try:
        stream = stub.Search(pb.SearchRequest(Query=KUBELET, Limit=2), timeout=60)
        messages = [_json(next(stream)), _json(next(stream))]  # two progress messages while it waits
        release.set()
        messages += [_json(m) for m in stream]
    finally:
        release.set()
        servicer.handlers["/api/search"] = original
    assert len(messages) >= 3
    assert all(m == {"metrics": {"totalJobs": 1}} for m in messages[:-1])
    assert len(messages[-1]["traces"]) == 2 and messages[-1]["metrics"]["completedJobs"] == 1


def test_segments_keep_metrics_in_every_packet():
    response = pb.SearchResponse(metrics=pb.SearchMetrics(inspectedTraces=7, completedJobs=1, totalJobs=1))
    for number in range(50):
        response.traces.add(traceID=f"{number:032x}", rootServiceName="s" * 100)
    packets = segments(response, "traces", most=1000)
    assert len(packets) > 1 and all(p.ByteSize() <= 1000 for p in packets)
    assert [t.traceID for p in packets for t in p.traces] == [t.traceID for t in response.traces]
    assert all(p.metrics.inspectedTraces == 7 for p in packets)


# ---------------------------------------------------------------------- token and TLS
@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def secured(pki):
    receivers = ReceiverSettings(token=TOKEN, tls_cert=pki.server_cert, tls_key=pki.server_key)
    running = start_api(fixture_store(0), receivers=receivers)
    yield running
    running.stop()


def _secure_stub(address: str, pki: Pki):
    channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(read(pki.ca)),
                                  options=[("grpc.ssl_target_name_override", "localhost")])
    return channel, pb_grpc.StreamingQuerierStub(channel)


def test_tls_and_the_token(secured, pki):
    channel, stub = _secure_stub(secured.component.address, pki)
    with channel:
        answer = list(stub.Search(pb.SearchRequest(Query=KUBELET, Limit=2),
                                  metadata=(("authorization", f"Bearer {TOKEN}"),)))
        assert len(answer[0].traces) == 2
        refused = secured.counters.get("unauthenticated_requests")
        for metadata in [(), (("authorization", "Bearer wrong"),), (("authorization", f"Basic {TOKEN}"),)]:
            with pytest.raises(grpc.RpcError) as caught:
                list(stub.SearchTags(pb.SearchTagsRequest(), metadata=metadata))
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert caught.value.details() == "missing or invalid bearer token"
        assert secured.counters.get("unauthenticated_requests") == refused + 3


def test_tls_http_clients_keep_http_1_1(secured, pki):
    """An HTTP client offering both h2 and http/1.1 (as Go's and Grafana's do) gets HTTP/1.1 from aiohttp."""
    context = ssl.create_default_context(cafile=pki.ca)
    context.set_alpn_protocols(["h2", "http/1.1"])
    host, port = secured.component.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "http/1.1"
            tls.sendall(f"GET /api/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                        "Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"echo\n")


def test_plaintext_grpc_to_a_tls_port_fails_cleanly(secured):
    with grpc.insecure_channel(secured.component.address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            list(pb_grpc.StreamingQuerierStub(channel).SearchTags(pb.SearchTagsRequest(), timeout=5))
    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_tempo_cli_streams_over_tls_with_the_token(secured, pki):
    """tempo-cli `--use-grpc --secure` (grpc-go: ALPN h2 required) with the token as gRPC metadata."""
    cli = tempo_cli()
    if cli is None:
        pytest.skip(f"TEMPO_CLI not set (tempo-cli --use-grpc over TLS): {BUILD_HINT}")
    env = {"SSL_CERT_FILE": pki.ca, "PATH": "/usr/bin:/bin"}  # Go reads its trusted roots from here
    address = secured.component.address

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([cli, "query", "api", *args], capture_output=True, text=True, timeout=60, check=False,
                              env=env)

    header = f"--header=Authorization=Bearer {TOKEN}"
    start = FIXTURE_START_NS // 10**9 // 3600 * 3600
    window = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + hours * 3600)) for hours in (0, 2)]
    done = run("search", "--use-grpc", "--secure", header, "--limit=3", address, KUBELET, *window)
    assert done.returncode == 0, done.stderr[-300:]
    assert [json.loads(line)["traces"][0]["rootServiceName"] for line in done.stdout.splitlines()] == ["kubelet"]
    assert done.stdout.count('"traceID"') == 3
    done = run("search-tag-values", "--use-grpc", "--secure", header, address, "resource.service.name")
    assert done.returncode == 0 and '"kubelet"' in done.stdout, done.stderr[-300:]
    done = run("search-tags", "--use-grpc", "--secure", "--header=Authorization=Bearer wrong", address)
    assert done.returncode == 1
    assert "code = Unauthenticated desc = missing or invalid bearer token" in done.stderr


def test_a_big_answer_streams_in_packets_through_the_relay():
    """Megabytes of traces (the fixture four times over, an hour apart): several packets of at most 1 MiB
    through the relay, each with the metrics, together the HTTP answer."""
    table = new_attribute_table()
    store = SpanStore(table)
    for copy in range(4):
        for request in load_fixture(copy * 3600 * 10**9):
            for span in (s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans):
                span.trace_id = bytes([copy]) + span.trace_id[1:]  # each copy its own traces
            store.consume_traces(decode_request(request.SerializeToString(), table)[0])
    api = start_api(store)
    try:
        with grpc.insecure_channel(api.component.address) as channel:
            request = pb.SearchRequest(Query="{ }", Limit=10000, SpansPerSpanSet=100)
            messages = list(pb_grpc.StreamingQuerierStub(channel).Search(request, timeout=60))
        expected = _http_json(api, "/api/search", search_params(request))
    finally:
        api.stop()
    packets = [m for m in messages if m.traces]  # after any progress messages (no traces) of a slow search
    assert all(not m.traces for m in messages[:len(messages) - len(packets)])
    assert len(packets) > 1 and all(m.ByteSize() <= PACKET_BYTES for m in packets)
    assert all(m.metrics.totalJobs == 1 and m.metrics.inspectedTraces == 4 * 727 for m in packets)
    assert [t for m in packets for t in _json(m)["traces"]] == expected["traces"]


def test_hostile_http2_connections_leave_the_api_serving(api, stub):
    host, port = api.component.address.rsplit(":", 1)
    for payload in (PREFACE, PREFACE + b"\x00" * 64 + b"garbage frames", PREFACE[:10]):
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(payload)
            raw.shutdown(socket.SHUT_WR)
            with contextlib.suppress(ConnectionResetError):
                while raw.recv(4096):  # the server answers what it can, then closes
                    pass
    assert len(list(stub.Search(pb.SearchRequest(Query=KUBELET, Limit=1)))[0].traces) == 1
    assert api.get("/api/echo")[0] == 200


def test_without_a_unix_socket_the_http_api_still_serves(monkeypatch, tmp_path):
    """A temporary directory too long for a Unix socket: one warning, no gRPC, the HTTP API as before."""
    long_dir = tmp_path / ("d" * 120)
    long_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_dir))
    running = start_api(fixture_store(0))
    try:
        assert running.component.grpc is None
        assert [w for w in running.component.warnings if "serves no streaming gRPC" in w]
        assert running.get("/api/echo")[2] == b"echo\n"
        with grpc.insecure_channel(running.component.address) as channel:
            with pytest.raises(grpc.RpcError):
                list(pb_grpc.StreamingQuerierStub(channel).SearchTags(pb.SearchTagsRequest(), timeout=5))
    finally:
        running.stop()
    assert list(long_dir.iterdir()) == []  # the private directory went with the failure
