"""Capture a real Jaeger's query API answers on the k8s fixture as golden files.

    JAEGER_BIN=/work/jaeger-bin/jaeger-memory python scripts/jaeger_golden.py
    python scripts/jaeger_golden.py --jaeger-url http://127.0.0.1:46686 --otlp-url http://127.0.0.1:44328

The binary is Jaeger v1.75.0's own query service (cmd/query/app: `/api/*` v1 JSON and `/api/v3/*`) over
its own v2 in-memory trace store, fed over OTLP/HTTP through Jaeger's span sanitizer, as `jaeger_query`
and `jaeger_storage` (memory) serve them inside `cmd/jaeger`. Rebuild it with
`bash scripts/jaeger_build/build.sh OUT` (scripts/jaeger_build/README.md: Jaeger's source at v1.75.0,
Go from PyPI, the Go modules vendored by Grafana Tempo's source plus four fetched from their
repositories; no module proxy needed).

Starts a fresh Jaeger (JAEGER_BIN, on JAEGER_HTTP/JAEGER_GRPC/JAEGER_OTLP_HTTP or free loopback ports)
or uses one given by --jaeger-url/--otlp-url that holds nothing yet. Moves the fixture
(tests/data/k8s_fixture.jsonl.gz) to the last few minutes as scripts/tempo_golden.py does, sends it,
polls until every trace is found by a search, then runs the requests of each list
(tests/golden/jaeger/requests/<list>.json, placeholders as in tests/golden/tempo/README.md plus `_us`)
and writes the answers to tests/golden/jaeger/<list>/<case>.json, with the shift and window in
`_capture.json`. A list's directory is replaced as a whole.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.golden_tempo import (  # noqa: E402
    Capture,
    capture_path,
    golden_path,
    list_names,
    load_cases,
    place_fixture,
    response_record,
)
from tests.support.jaeger import BUILD_HINT, JaegerProcess, jaeger_bin  # noqa: E402
from tests.support.tempo import get, send_requests, wait_until  # noqa: E402

GOLDEN_DIR = ROOT / "tests" / "golden" / "jaeger"


def fixture_traces(requests: list) -> dict[str, set[str]]:
    """{service: its trace ids} of the fixture."""
    out: dict[str, set[str]] = {}
    for req in requests:
        for rs in req.resource_spans:
            service = next(a.value.string_value for a in rs.resource.attributes if a.key == "service.name")
            for ss in rs.scope_spans:
                out.setdefault(service, set()).update(s.trace_id.hex() for s in ss.spans)
    return out


def found_traces(api: str, service: str, capture: Capture) -> set[str]:
    params = {"service": service, "limit": "100000", "start": str(capture.start * 1_000_000 - 60_000_000),
              "end": str(capture.end * 1_000_000 + 60_000_000)}
    status, _, body = get(api + "/api/traces", params)
    return {t["traceID"] for t in json.loads(body).get("data") or []} if status == 200 else set()


def ingest(api: str, otlp: str, timeout: float) -> Capture:
    status, _, body = get(api + "/api/services")
    if status != 200 or json.loads(body).get("data"):
        raise SystemExit("this Jaeger already holds spans (or does not answer); capture on a fresh one")
    capture, requests = place_fixture(time.time())
    expected = fixture_traces(requests)
    send_requests(otlp, requests)
    t0 = time.monotonic()
    wait_until(lambda: all(found_traces(api, s, capture) == ids for s, ids in expected.items()), timeout,
               "every trace of the fixture to be found by service")
    n = len(set().union(*expected.values()))
    print(f"fixture ingested: {n} traces, searchable after {time.monotonic() - t0:.1f} s; "
          f"window {capture.start}..{capture.end}", file=sys.stderr)
    return capture


def run_list(api: str, list_name: str, capture: Capture) -> int:
    cases = load_cases(list_name, GOLDEN_DIR)
    out_dir = GOLDEN_DIR / list_name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for case in cases:
        path, params = case.resolved(capture)
        status, headers, body = get(api + quote(path, safe="/:"), params, dict(case.headers), case.method)
        if status == 0:
            raise RuntimeError(f"{list_name}/{case.name}: Jaeger did not answer")
        record = {"name": case.name, "request": {"method": case.method, "path": path, "params": params}}
        record.update(response_record(status, headers, body))
        golden_path(list_name, case.name, GOLDEN_DIR).write_text(json.dumps(record, separators=(",", ":")) + "\n")
    meta = capture.to_json() | {"captured_at": int(time.time()), "jaeger": "v1.75.0 query service, memory store",
                                "fixture": "tests/data/k8s_fixture.jsonl.gz"}
    capture_path(list_name, GOLDEN_DIR).write_text(json.dumps(meta, indent=1) + "\n")
    return len(cases)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = list_names(GOLDEN_DIR)
    ap.add_argument("lists", nargs="*", help=f"request lists (default: all of {', '.join(names)})")
    ap.add_argument("--jaeger-url", help="use this Jaeger's HTTP API instead of starting JAEGER_BIN")
    ap.add_argument("--otlp-url", help="its OTLP/HTTP receiver (with --jaeger-url)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for ingestion (default 60)")
    args = ap.parse_args(argv)
    lists = args.lists or names
    if set(lists) - set(names):
        ap.error(f"no such request list: {', '.join(sorted(set(lists) - set(names)))}")
    jaeger = None
    if args.jaeger_url:
        if not args.otlp_url:
            ap.error("--jaeger-url needs --otlp-url")
        api, otlp = args.jaeger_url.rstrip("/"), args.otlp_url.rstrip("/")
    else:
        binary = jaeger_bin()
        if binary is None:
            print(f"JAEGER_BIN not set: {BUILD_HINT}", file=sys.stderr)
            return 2
        jaeger = JaegerProcess(binary).start()
        api, otlp = jaeger.api, jaeger.otlp_http
    try:
        capture = ingest(api, otlp, args.timeout)
        for name in lists:
            print(f"{name}: {run_list(api, name, capture)} answers written to {GOLDEN_DIR / name}", file=sys.stderr)
    finally:
        if jaeger is not None:
            jaeger.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
