"""Capture a real Grafana Tempo's streaming gRPC answers (tempopb.StreamingQuerier) on the k8s fixture.

    TEMPO_BIN=/work/tempo-bin/tempo TEMPO_CLI=/work/tempo-bin/tempo-cli python scripts/tempo_grpc_golden.py

The sibling of scripts/tempo_golden.py: starts a fresh Tempo (`stream_over_http_enabled: true`, ports from
TEMPO_HTTP … as there; pick unused ones), sends the fixture the same way and waits until all of it is
searchable, then makes every call of tests/golden/tempo-grpc/requests/grpc.json on Tempo's HTTP port with a
grpcio client, and runs each case's tempo-cli command (`--use-grpc`) when it has one. Writes
tests/golden/tempo-grpc/grpc/<case>.json (every streamed message, the status, what tempo-cli printed) and
_capture.json (format: tests/support/golden_grpc.py).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tempo_golden import ingest  # noqa: E402

from tests.support.golden_grpc import GOLDEN_DIR, LIST, call, capture_path, golden_path, load_cases, run_cli  # noqa: E402
from tests.support.tempo import BUILD_HINT, TempoProcess, get, tempo_bin, tempo_cli  # noqa: E402


def main() -> int:
    binary, cli = tempo_bin(), tempo_cli()
    if binary is None or cli is None:
        print(f"TEMPO_BIN and TEMPO_CLI must be set: {BUILD_HINT}", file=sys.stderr)
        return 2
    cases = load_cases()
    tempo = TempoProcess(binary).start()
    try:
        capture = ingest(tempo.api, tempo.otlp_http, 180.0)
        address = tempo.api.removeprefix("http://")
        out_dir = GOLDEN_DIR / LIST
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        for case in cases:
            record = {"name": case.name, "method": case.method,
                      "request": json.loads(capture.resolve(json.dumps(case.request)))}
            record.update(call(address, case, capture).to_json())
            if case.cli:
                record["tempo_cli"] = run_cli(cli, case, capture, address)
            golden_path(case.name).write_text(json.dumps(record, indent=1) + "\n")
            print(f"{case.name}: {record['code']}, {len(record['messages'])} message(s)", file=sys.stderr)
        status, _, body = get(tempo.api + "/api/status/buildinfo")
        meta = capture.to_json() | {"captured_at": int(time.time()),
                                    "tempo_buildinfo": json.loads(body) if status == 200 else {},
                                    "fixture": "tests/data/k8s_fixture.jsonl.gz"}
        capture_path().write_text(json.dumps(meta, indent=1) + "\n")
    finally:
        tempo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
