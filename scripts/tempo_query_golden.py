#!/usr/bin/env python3
"""Capture a real Tempo's answers to kubespan's TraceQL test queries, as golden data for CI.

    python scripts/tempo_query_golden.py --http 53200 --otlp-http 54318 OUT.json

Tempo must already run (`bash ../shared/tools/tempo.sh run BIN DIR`, with its ports). The script
sends the spans of `tests/query/tempo_fixture.py` (times around now: Tempo searches recent data),
waits until Tempo finds all of its traces, then runs every query of `tests/query/tempo_queries.py`
through `/api/search` (spss and limit at their maximum) and writes, per query, either Tempo's
400 message or its spansets: the span keys of each, its `matched` count and its attributes.
`tests/query/test_tempo_golden.py` rebuilds the fixture with the same base time and checks that
kubespan answers the same.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.query.tempo_fixture import SPANS, build_request, span_key
from tests.query.tempo_queries import QUERIES

SPSS = 100
"""Tempo refuses spss above 100; every fixture trace has fewer spans."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--http", type=int, default=43200, help="Tempo's HTTP API port")
    parser.add_argument("--otlp-http", type=int, default=44318, help="Tempo's OTLP/HTTP port")
    args = parser.parse_args()
    api = f"http://127.0.0.1:{args.http}"
    base_ns = (time.time_ns() - 60 * 10**9) // 10**6 * 10**6
    send(f"http://127.0.0.1:{args.otlp_http}/v1/traces", build_request(base_ns).SerializeToString())
    start, end = base_ns // 10**9 - 60, base_ns // 10**9 + 600
    wait_for_traces(api, start, end, len({s.trace for s in SPANS}))
    answers = {query: search(api, query, start, end) for query in QUERIES}
    version = json.loads(get(f"{api}/api/status/buildinfo")[1] or "{}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"tempo": {k: version.get(k) for k in ("version", "revision")},
                                    "base_ns": base_ns, "answers": answers}, indent=1, sort_keys=True) + "\n")
    refused = sum(1 for a in answers.values() if "error" in a)
    print(f"{len(answers)} queries ({refused} refused by Tempo) -> {args.out}")
    return 0


def send(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, body, {"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def search_url(api: str, query: str, start: int, end: int) -> str:
    params = {"q": query, "limit": 1000, "spss": SPSS, "start": start, "end": end}
    return f"{api}/api/search?{urllib.parse.urlencode(params)}"


def wait_for_traces(api: str, start: int, end: int, traces: int, timeout: float = 120) -> None:
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        status, body = get(search_url(api, "{}", start, end))
        if status == 200 and len(json.loads(body).get("traces", [])) >= traces:
            time.sleep(2)  # let the last spans of each trace land too
            return
        time.sleep(1)
    raise SystemExit(f"Tempo did not show {traces} traces within {timeout:.0f} s")


def search(api: str, query: str, start: int, end: int) -> dict:
    status, body = get(search_url(api, query, start, end))
    if status != 200:
        return {"error": body.strip(), "status": status}
    traces = json.loads(body).get("traces", [])
    spansets = []
    for trace in traces:
        trace_id = trace["traceID"]
        for spanset in trace.get("spanSets", [trace.get("spanSet", {})]):
            spansets.append({
                "spans": sorted(span_key(trace_id, s["spanID"]) for s in spanset.get("spans", [])),
                "matched": spanset.get("matched", 0),
                "attributes": sorted(_attribute(a) for a in spanset.get("attributes", [])),
                "span_attributes": sorted(
                    f"{span_key(trace_id, s['spanID'])} {_attribute(a)}"
                    for s in spanset.get("spans", []) for a in s.get("attributes", [])),
            })
    spansets.sort(key=lambda s: (s["spans"], s["attributes"]))
    return {"spansets": spansets}


def _attribute(kv: dict) -> str:
    value = kv.get("value", {})
    (kind, val), = value.items() if value else (("none", None),)
    return f"{kv['key']}={kind}:{json.dumps(val, sort_keys=True)}"


if __name__ == "__main__":
    raise SystemExit(main())
