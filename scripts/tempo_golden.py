"""Capture a real Grafana Tempo's answers on the k8s fixture as golden files.

    TEMPO_BIN=/work/tempo-bin/tempo python scripts/tempo_golden.py                 # every request list
    TEMPO_BIN=/work/tempo-bin/tempo python scripts/tempo_golden.py search tags     # some lists
    python scripts/tempo_golden.py --tempo-url http://127.0.0.1:43200 --otlp-url http://127.0.0.1:44318

Starts a fresh Tempo (TEMPO_BIN, on TEMPO_HTTP=43200, TEMPO_OTLP_GRPC=44317, TEMPO_OTLP_HTTP=44318,
TEMPO_GRPC=49095, TEMPO_MEMBERLIST=47946 unless set) or uses one given by --tempo-url/--otlp-url that
does not hold the fixture yet. Moves the fixture (tests/data/k8s_fixture.jsonl.gz) to the last few
minutes, sends it over OTLP/HTTP, waits until every trace is searchable and every span is counted by
the metrics engine (polling, no fixed sleeps), then runs the requests of each list
(tests/golden/tempo/requests/<list>.json) and writes the answers to tests/golden/tempo/<list>/<case>.json,
with the shift and the request window in tests/golden/tempo/<list>/_capture.json. A case with `cli`
(the tempo-cli list) first runs that tempo-cli command (TEMPO_CLI) against Tempo through a recording
proxy, checks it sent exactly the listed request, and keeps what tempo-cli printed with the answer. A list's golden
directory is replaced as a whole, so answers never mix two captures.
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
    GOLDEN_DIR,
    Capture,
    capture_path,
    golden_path,
    list_names,
    load_cases,
    place_fixture,
    response_record,
)
from tests.support.k8s_fixture import BLOG_TRACE_ID  # noqa: E402
from tests.support.tempo import (  # noqa: E402
    BUILD_HINT,
    TempoProcess,
    get,
    metrics_total,
    search_count,
    send_requests,
    tempo_bin,
    tempo_cli,
    wait_until,
)
from tests.support.tempo_cli_cases import request_difference, run_case  # noqa: E402


def count_fixture(requests: list) -> tuple[int, int]:
    """(traces, spans) in the fixture."""
    traces, spans = set(), 0
    for req in requests:
        for rs in req.resource_spans:
            for ss in rs.scope_spans:
                spans += len(ss.spans)
                traces.update(s.trace_id for s in ss.spans)
    return len(traces), spans


def ingest(api: str, otlp: str, timeout: float) -> Capture:
    """Sends the fixture and waits until Tempo's search and metrics see all of it."""
    status, _, _ = get(f"{api}/api/traces/{BLOG_TRACE_ID}")
    if status == 200:
        raise SystemExit("this Tempo already holds the fixture; capture on a fresh one (or let the script start it)")
    capture, requests = place_fixture(time.time())
    n_traces, n_spans = count_fixture(requests)
    send_requests(otlp, requests)
    t0 = time.monotonic()
    wait_until(lambda: search_count(api, capture.start, capture.end) == n_traces, timeout,
               f"{n_traces} traces to be searchable")
    wait_until(lambda: metrics_total(api, capture.start - 60, capture.end + 60) == n_spans, timeout,
               f"{n_spans} spans in TraceQL metrics")
    wait_until(lambda: time.time() > capture.end + 120, timeout, "the request window to be in the past")
    print(f"fixture ingested: {n_traces} traces, {n_spans} spans, searchable after "
          f"{time.monotonic() - t0:.1f} s; window {capture.start}..{capture.end}", file=sys.stderr)
    return capture


def run_list(api: str, list_name: str, capture: Capture, buildinfo: dict) -> int:
    cases = load_cases(list_name)
    cli = tempo_cli() if any(case.cli for case in cases) else None
    if any(case.cli for case in cases) and cli is None:
        raise SystemExit(f"{list_name} runs tempo-cli commands: set TEMPO_CLI ({BUILD_HINT})")
    out_dir = GOLDEN_DIR / list_name
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for case in cases:
        cli_answer = None
        if case.cli:  # the command first: it must send exactly the listed request
            assert cli is not None
            run = run_case(cli, case, capture, api)
            problem = request_difference(case, capture, run.recorded)
            if problem:
                raise SystemExit(f"{list_name}/{case.name}: {problem}; fix the list")
            cli_answer = run.to_json()
        path, params = case.resolved(capture)
        status, headers, body = get(api + quote(path, safe="/:"), params, dict(case.headers), case.method,
                                    case.body.encode() if case.body else None)
        if status == 0:
            raise RuntimeError(f"{list_name}/{case.name}: Tempo did not answer")
        record = {"name": case.name, "request": {"method": case.method, "path": path, "params": params,
                                                 "headers": dict(case.headers)}}
        record.update(response_record(status, headers, body))
        if cli_answer is not None:
            record["tempo_cli"] = cli_answer
        golden_path(list_name, case.name).write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    meta = capture.to_json() | {"captured_at": int(time.time()), "tempo_buildinfo": buildinfo,
                                "fixture": "tests/data/k8s_fixture.jsonl.gz"}
    capture_path(list_name).write_text(json.dumps(meta, indent=1) + "\n")
    return len(cases)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lists", nargs="*", help=f"request lists (default: all of {', '.join(list_names())})")
    ap.add_argument("--tempo-url", help="use this Tempo's HTTP API instead of starting TEMPO_BIN")
    ap.add_argument("--otlp-url", help="its OTLP/HTTP receiver (with --tempo-url)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for ingestion (default 180)")
    args = ap.parse_args(argv)
    lists = args.lists or list_names()
    unknown = sorted(set(lists) - set(list_names()))
    if unknown:
        ap.error(f"no such request list: {', '.join(unknown)}")
    for name in lists:
        load_cases(name)  # refuse a broken list before starting anything
    tempo = None
    if args.tempo_url:
        if not args.otlp_url:
            ap.error("--tempo-url needs --otlp-url")
        api, otlp = args.tempo_url.rstrip("/"), args.otlp_url.rstrip("/")
    else:
        binary = tempo_bin()
        if binary is None:
            print(f"TEMPO_BIN not set: {BUILD_HINT}", file=sys.stderr)
            return 2
        tempo = TempoProcess(binary).start()
        api, otlp = tempo.api, tempo.otlp_http
    try:
        capture = ingest(api, otlp, args.timeout)
        status, _, body = get(api + "/api/status/buildinfo")
        buildinfo = json.loads(body) if status == 200 else {}
        for name in lists:
            n = run_list(api, name, capture, buildinfo)
            print(f"{name}: {n} answers written to {GOLDEN_DIR / name}", file=sys.stderr)
    finally:
        if tempo is not None:
            tempo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
