"""`kubespan serve --api`: the API end to end over HTTP, fed through the OTLP/HTTP receiver, with the
requests Grafana's Tempo and Jaeger data sources document, the walkthrough's Jaeger search, TLS, the
token, the stats line, and a taken port."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import sys
import urllib.request

import pytest

from tests.support.k8s_fixture import BLOG_TRACE_ID, fixture_bounds, load_fixture
from tests.support.secutil import make_pki
from tests.support.serve_process import ServeProcess
from tests.support.tempo import get, send_requests

WALKTHROUGH_Q = '{ resource.service.name = "kubelet" && name = "syncPod" && span.k8s.pod = "default/echo-command" }'


def _api_address(serve: ServeProcess) -> str:
    line = serve.wait_stderr(lambda line: "query API (Tempo, Jaeger) listening on" in line)
    return re.search(r"listening on (\S+)", line).group(1)


@pytest.fixture(scope="module")
def served():
    serve = ServeProcess("--grpc", "off", "--http", "127.0.0.1:0", "--api", "127.0.0.1:0")
    requests = load_fixture()
    send_requests(f"http://{serve.addresses['http']}", requests)
    yield serve, "http://" + _api_address(serve), fixture_bounds(requests)
    serve.kill()


def test_grafanas_tempo_data_source_requests(served):
    _, url, (lo, hi) = served
    start, end = str(lo // 10**9), str(hi // 10**9 + 1)
    assert get(url + "/api/echo")[2] == b"echo\n"
    assert json.loads(get(url + "/api/status/buildinfo")[2])["version"].startswith("2.9.0-kubespan")
    status, _, body = get(url + "/api/search", {"q": WALKTHROUGH_Q, "limit": "20", "spss": "3", "start": start,
                                                "end": end})
    traces = json.loads(body)["traces"]
    assert status == 200 and len(traces) == 9 and BLOG_TRACE_ID in {t["traceID"] for t in traces}
    status, _, body = get(url + f"/api/v2/traces/{BLOG_TRACE_ID}", {"start": start, "end": end})
    spans = [s for rs in json.loads(body)["trace"]["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert status == 200 and len(spans) == 11
    for scope in ("resource", "span", "intrinsic"):
        status, _, body = get(url + "/api/v2/search/tags", {"scope": scope, "start": start, "end": end})
        assert status == 200 and json.loads(body)["scopes"][0]["name"] == scope
    status, _, body = get(url + "/api/v2/search/tag/span.k8s.pod.update_type/values",
                          {"q": '{ span.k8s.pod = "default/echo-command" }', "start": start, "end": end})
    assert {v["value"] for v in json.loads(body)["tagValues"]} == {"create", "update", "sync"}
    status, _, body = get(url + "/api/v2/search/tag/resource.service.name/values", {"q": "{}"})
    assert len(json.loads(body)["tagValues"]) == 4


def test_the_walkthrough_jaeger_query_returns_its_nine_traces(served):
    _, url, _ = served
    status, _, body = get(url + "/api/traces", {"service": "kubelet", "operation": "syncPod",
                                                "tags": json.dumps({"k8s.pod": "default/echo-command"})})
    data = json.loads(body)["data"]
    assert status == 200 and len(data) == 9
    blog = next(t for t in data if t["traceID"] == BLOG_TRACE_ID)
    assert len(blog["spans"]) == 11 and {p["serviceName"] for p in blog["processes"].values()} == {"kubelet",
                                                                                                   "containerd"}
    assert json.loads(get(url + "/api/services")[2])["data"] == ["apiserver", "containerd", "etcd", "kubelet"]
    assert "syncPod" in json.loads(get(url + "/api/services/kubelet/operations")[2])["data"]
    assert json.loads(get(url + f"/jaeger/api/traces/{BLOG_TRACE_ID}")[2])["data"][0]["traceID"] == BLOG_TRACE_ID


def test_requests_and_errors_are_in_the_stats_line(served):
    serve, url, _ = served
    assert get(url + "/api/search", {"q": "{ nope"})[0] == 400
    serve.process.send_signal(__import__("signal").SIGTERM)
    serve.process.wait(timeout=30)
    counters = json.loads(serve.wait_stderr(lambda line: line.startswith("{")))
    assert counters["api_requests"] >= 10 and counters["api_errors"] >= 1


def test_a_chosen_port_in_use_is_an_error_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "kubespan", "serve", "--grpc", "off", "--http", "off", "--api",
                               f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("kubespan: ") and "in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_api_takes_the_receivers_tls_and_token(tmp_path):
    pki = make_pki(tmp_path)
    serve = ServeProcess("--grpc", "off", "--http", "off", "--api", "127.0.0.1:0", "--tls-cert", pki.server_cert,
                         "--tls-key", pki.server_key, "--token", "t0ken")
    try:
        address = _api_address(serve)
        context = ssl.create_default_context(cafile=pki.ca)
        request = urllib.request.Request(f"https://{address}/api/echo", headers={"Authorization": "Bearer t0ken"})
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            assert answer.read() == b"echo\n"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"https://{address}/api/echo", context=context, timeout=10)
        assert refused.value.code == 401
        assert get(f"http://{address}/api/echo")[0] == 0  # no plain HTTP on a TLS listener
    finally:
        serve.kill()
