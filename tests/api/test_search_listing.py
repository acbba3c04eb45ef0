"""The newest-traces listing (`{ }`: chosen from the trace table, no span scan) answers exactly what the
general search path and a naive computation over the stored spans answer, also after evictions left
traces partly stored; and the store version that lets a polling client skip unchanged searches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kubespan.otlp.decode import decode_request
from tests.support.api_server import fixture_store, start_api
from tests.support.k8s_fixture import load_fixture

EVERY_SPAN_GENERAL_PATH = "{ duration >= 0 }"
"""Matches every span too, but through the engine and the matched-ordinals path."""


@pytest.fixture(scope="module")
def api():
    store = fixture_store(max_spans=2_000)  # the fixture holds 3,116 spans: the oldest are evicted
    running = start_api(store)
    yield running
    running.stop()


def _search(api, params: dict) -> dict:
    status, headers, body = api.get("/api/search", params)
    assert status == 200, body[:300]
    return json.loads(body)


def _naive_newest(store, limit: int, start_s: int = 0, end_s: int = 0) -> list[str]:
    """Trace ids (as Tempo prints them) of the newest `limit` traces overlapping the window, from the spans."""
    snap = store.reader().snap
    rows, starts, ends = snap.column("trace").tolist(), snap.column("start").tolist(), snap.column("end").tolist()
    bounds: dict[int, list[int]] = {}
    for row, start, end in zip(rows, starts, ends):
        first, last = bounds.setdefault(row, [start, end])
        bounds[row] = [min(first, start), max(last, end)]
    if start_s and end_s:
        bounds = {r: b for r, b in bounds.items() if b[0] <= end_s * 10**9 and b[1] >= start_s * 10**9}
    newest = sorted(bounds, key=lambda r: (bounds[r][0], r), reverse=True)[:limit]
    return [snap.trace_ids[r].hex().lstrip("0") for r in newest]


def test_evictions_left_partly_stored_traces(api):
    snap = api.store.reader().snap
    live = snap.traces.count[:snap.n_traces] > 0
    assert api.store.evicted_spans > 0 and (snap.traces.dirty[:snap.n_traces] & live).any()


@pytest.mark.parametrize("limit,spss", [(20, 3), (5, 1), (500, 2), (10_000, 3)])
def test_listing_equals_the_general_path_and_the_naive_answer(api, limit, spss):
    params = {"limit": str(limit), "spss": str(spss)}
    listing = _search(api, {"q": "{ }", **params})
    general = _search(api, {"q": EVERY_SPAN_GENERAL_PATH, **params})
    assert listing == general
    assert [t["traceID"] for t in listing["traces"]] == _naive_newest(api.store, limit)
    counts = {t["traceID"]: sum(s["spanCount"] for s in t["serviceStats"].values()) for t in listing["traces"]}
    assert all(t["spanSet"]["matched"] == counts[t["traceID"]] for t in listing["traces"])
    assert all(len(t["spanSet"]["spans"]) == min(spss, counts[t["traceID"]]) for t in listing["traces"])


def test_listing_in_a_window_equals_the_naive_answer(api):
    snap = api.store.reader().snap
    starts = np.sort(snap.column("start"))
    start_s, end_s = int(starts[len(starts) // 3]) // 10**9, int(starts[2 * len(starts) // 3]) // 10**9 + 1
    params = {"limit": "50", "spss": "1", "start": str(start_s), "end": str(end_s)}
    listing = _search(api, {"q": "{ }", **params})
    assert listing == _search(api, {"q": EVERY_SPAN_GENERAL_PATH, **params})
    assert [t["traceID"] for t in listing["traces"]] == _naive_newest(api.store, 50, start_s, end_s)
    assert listing["traces"]


def test_the_store_version_is_offered_and_moves_with_every_batch():
    store = fixture_store()
    api = start_api(store)
    try:
        status, _, body = api.get("/api/status/buildinfo")
        assert status == 200 and "store-version" in json.loads(body)["features"]
        _, _, body = api.get("/api/kubespan/status")
        before = json.loads(body)
        assert before == {"storeVersion": str(store.version), "storedSpans": len(store)}
        _, headers, _ = api.get("/api/search", {"q": "{ }", "limit": "5"})
        assert headers["X-Kubespan-Store-Version"] == before["storeVersion"]
        batch, _ = decode_request(load_fixture(shift_ns=10**12)[0].SerializeToString(), store.table)
        store.consume_traces(batch)
        after = json.loads(api.get("/api/kubespan/status")[2])
        assert int(after["storeVersion"]) > int(before["storeVersion"])
        assert api.get("/api/search", {"q": "{ }"})[1]["X-Kubespan-Store-Version"] == after["storeVersion"]
    finally:
        api.stop()
