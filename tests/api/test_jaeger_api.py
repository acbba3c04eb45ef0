"""Jaeger's query API over the k8s fixture: v1 JSON (services, operations, search, trace by id,
dependencies) and api_v3 (OTLP JSON), each answer checked against what the fixture's spans say,
computed here from the raw OTLP requests, by Jaeger's rules (memory store: one span meets every
condition; microsecond times; typed tags; CHILD_OF references; errors in Jaeger's envelope)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tests.support.api_server import fixture_store, start_api
from tests.support.k8s_fixture import BLOG_TRACE_ID, fixture_bounds, load_fixture

WALKTHROUGH = {"service": "kubelet", "operation": "syncPod", "tags": json.dumps({"k8s.pod": "default/echo-command"})}


@pytest.fixture(scope="module")
def api():
    running = start_api(fixture_store())
    yield running
    running.stop()


@pytest.fixture(scope="module")
def spans():
    """Every span of the fixture as (service, span, {attribute key: value text})."""
    out = []
    for req in load_fixture():
        for rs in req.resource_spans:
            service = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
            for ss in rs.scope_spans:
                for span in ss.spans:
                    attributes = {a.key: a.value.string_value or str(a.value.int_value) for a in span.attributes}
                    out.append((service, span, attributes))
    return out


def _json(api, path, params=None) -> tuple[int, dict]:
    status, _, body = api.get(path, params)
    return status, json.loads(body)


def _trace_ids(spans, keep) -> set[str]:
    return {span.trace_id.hex() for service, span, attributes in spans if keep(service, span, attributes)}


def test_services_and_operations(api, spans):
    status, body = _json(api, "/api/services")
    assert status == 200 and body["data"] == sorted({service for service, _, _ in spans})
    assert body["total"] == len(body["data"]) and body["errors"] is None
    kubelet = {span.name for service, span, _ in spans if service == "kubelet"}
    assert _json(api, "/api/services/kubelet/operations")[1]["data"] == sorted(kubelet)
    status, body = _json(api, "/api/operations", {"service": "kubelet", "spanKind": "server"})
    servers = {span.name for service, span, _ in spans if service == "kubelet" and span.kind == 2}
    assert status == 200 and {o["name"] for o in body["data"]} == servers
    assert {o["spanKind"] for o in body["data"]} == {"server"}
    status, body = _json(api, "/api/operations")
    assert status == 400 and body["errors"] == [{"code": 400, "msg": "parameter 'service' is required"}]
    assert _json(api, "/api/services/nobody/operations")[1]["data"] is None  # Jaeger's nil list


def test_the_walkthrough_search_and_jaegers_span_model(api, spans):
    status, body = _json(api, "/api/traces", WALKTHROUGH)
    expected = _trace_ids(spans, lambda s, span, a: s == "kubelet" and span.name == "syncPod"
                          and a.get("k8s.pod") == "default/echo-command")
    assert status == 200 and {t["traceID"] for t in body["data"]} == expected and len(expected) == 9
    blog = next(t for t in body["data"] if t["traceID"] == BLOG_TRACE_ID)
    raw = {span.span_id.hex(): (service, span) for service, span, _ in spans if span.trace_id.hex() == BLOG_TRACE_ID}
    assert len(blog["spans"]) == len(raw) == 11
    for shown in blog["spans"]:
        service, span = raw[shown["spanID"]]
        assert shown["operationName"] == span.name and shown["traceID"] == BLOG_TRACE_ID
        assert shown["startTime"] == span.start_time_unix_nano // 1000
        assert shown["duration"] == (span.end_time_unix_nano - span.start_time_unix_nano) // 1000
        parent = span.parent_span_id.hex()
        assert shown["references"] == ([{"refType": "CHILD_OF", "traceID": BLOG_TRACE_ID, "spanID": parent}]
                                       if parent else [])
        assert blog["processes"][shown["processID"]]["serviceName"] == service
        assert all(tag["type"] in ("string", "int64", "float64", "bool", "binary") for tag in shown["tags"])
    root = next(s for s in blog["spans"] if not s["references"])
    assert {"key": "k8s.pod", "type": "string", "value": "default/echo-command"} in root["tags"]


def test_search_conditions_time_window_and_limit(api, spans):
    status, body = _json(api, "/api/traces", {"service": "kubelet", "minDuration": "1s"})
    slow = _trace_ids(spans, lambda s, span, a: s == "kubelet"
                      and span.end_time_unix_nano - span.start_time_unix_nano >= 1_000_000_000)
    assert status == 200 and {t["traceID"] for t in body["data"]} == slow and slow
    errors = _trace_ids(spans, lambda s, span, a: s == "apiserver" and span.status.code == 2)
    query = {"service": "apiserver", "tags": json.dumps({"error": "true"}), "limit": "1000"}
    body = _json(api, "/api/traces", query)[1]
    assert {t["traceID"] for t in body["data"]} == errors and errors
    status, body = _json(api, "/api/traces", {"tags": json.dumps({"error": "true"})})
    assert status == 400 and body["errors"] == [{"code": 400, "msg": "parameter 'service' is required"}]
    newest = _json(api, "/api/traces", {"service": "etcd", "limit": "2"})[1]["data"]
    assert len(newest) == 2
    starts = [min(s["startTime"] for s in t["spans"]) for t in newest]
    assert starts == sorted(starts, reverse=True)
    _, hi = fixture_bounds(load_fixture())
    after = {"service": "etcd", "start": str(hi // 1000 + 1), "end": str(hi // 1000 + 60_000_000)}
    assert _json(api, "/api/traces", after)[1]["data"] == []
    status, body = _json(api, "/api/traces", {"service": "etcd", "minDuration": "2s", "maxDuration": "1s"})
    assert status == 400 and "'maxDuration' should be greater than 'minDuration'" in body["errors"][0]["msg"]


def test_trace_by_id_under_jaeger_and_an_unknown_one(api):
    status, body = _json(api, f"/jaeger/api/traces/{BLOG_TRACE_ID.upper()}")
    assert status == 200 and body["data"][0]["traceID"] == BLOG_TRACE_ID and len(body["data"][0]["spans"]) == 11
    status, body = _json(api, "/jaeger/api/traces/0123456789abcdef0123456789abcdef")
    assert status == 404 and body == {"data": None, "total": 0, "limit": 0, "offset": 0,
                                      "errors": [{"code": 404, "msg": "trace not found"}]}
    assert _json(api, "/jaeger/api/traces/xyz")[0] == 400
    assert _json(api, "/jaeger/api/services")[1]["data"] == _json(api, "/api/services")[1]["data"]


def test_dependencies_count_every_parent_child_pair_of_the_traces_in_the_window(api, spans):
    by_trace: dict[str, dict[str, str]] = {}
    for service, span, _ in spans:
        by_trace.setdefault(span.trace_id.hex(), {})[span.span_id.hex()] = service
    expected: dict[tuple[str, str], int] = {}
    for service, span, _ in spans:
        parent = by_trace[span.trace_id.hex()].get(span.parent_span_id.hex())
        if parent is not None:
            expected[(parent, service)] = expected.get((parent, service), 0) + 1
    lo, hi = fixture_bounds(load_fixture())
    status, body = _json(api, "/api/dependencies", {"endTs": str(hi // 10**6 + 1000),
                                                     "lookback": str((hi - lo) // 10**6 + 60_000)})
    edges = {(d["parent"], d["child"]): d["callCount"] for d in body["data"]}
    assert status == 200 and edges == expected and expected[("apiserver", "apiserver")] > 0
    kubelet = _json(api, "/api/dependencies", {"endTs": str(hi // 10**6 + 1000), "lookback": "86400000",
                                               "service": "kubelet"})[1]
    assert {(d["parent"], d["child"]) for d in kubelet["data"]} == {k for k in expected if "kubelet" in k}
    before = _json(api, "/api/dependencies", {"endTs": str(lo // 10**6 - 1), "lookback": "60000"})[1]
    assert before["data"] == []
    # a trace that reaches past the window's end is left out (Jaeger keeps only traces inside it)
    cut = _json(api, "/api/dependencies", {"endTs": str(hi // 10**6 - 1), "lookback": "86400000"})[1]
    assert sum(d["callCount"] for d in cut["data"]) < sum(expected.values())


def _rfc3339(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_api_v3_answers_otlp_json(api, spans):
    assert _json(api, "/api/v3/services")[1] == {"services": sorted({service for service, _, _ in spans})}
    operations = _json(api, "/api/v3/operations", {"service": "kubelet", "spanKind": "server"})[1]["operations"]
    assert {o["name"] for o in operations} == {span.name for s, span, _ in spans if s == "kubelet" and span.kind == 2}
    lo, hi = fixture_bounds(load_fixture())
    status, body = _json(api, "/api/v3/traces", {
        "query.service_name": "kubelet", "query.operation_name": "syncPod",
        "query.attributes": json.dumps({"k8s.pod": "default/echo-command"}),
        "query.start_time_min": _rfc3339(lo - 10**9), "query.start_time_max": _rfc3339(hi + 10**9)})
    found = {span["traceId"] for rs in body["result"]["resourceSpans"] for ss in rs["scopeSpans"]
             for span in ss["spans"]}
    assert status == 200 and len(found) == 9 and BLOG_TRACE_ID in found
    status, body = _json(api, f"/api/v3/traces/{BLOG_TRACE_ID}")
    names = [span["name"] for rs in body["result"]["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]]
    assert status == 200 and len(names) == 11 and "syncPod" in names
    status, body = _json(api, "/api/v3/traces", {"query.service_name": "kubelet"})
    assert status == 400 and body["error"]["message"] == "query.start_time_min and query.start_time_max are required"
