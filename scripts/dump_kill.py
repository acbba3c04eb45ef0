#!/usr/bin/env python3
"""Kill -9 `kubespan serve --dump` mid-stream, repeatedly; check what it leaves behind.

Each round streams spans into `serve --dump FILE` over OTLP/gRPC, sends SIGKILL after a random
delay, then checks that every complete line of FILE is valid OTLP/JSON holding one span, that
no span is written twice, and that `kubespan filter` reads the file (skipping a torn last line
with a warning if the kill left one).

    python scripts/dump_kill.py --rounds 20
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kubespan.otlp.jsoncodec import decode_traces_json  # noqa: E402
from tests.support.load_clients import send_until  # noqa: E402
from tests.support.serve_process import ServeProcess  # noqa: E402


def one_round(path: Path, delay: float) -> dict:
    """Stream into a fresh dump, SIGKILL serve after `delay` seconds, and inspect the file."""
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--dump", str(path))
    stop = threading.Event()
    client = threading.Thread(target=send_until, args=(server.addresses["grpc"], stop), daemon=True)
    client.start()
    stop.wait(delay)  # the point of the kill is arbitrary by design
    server.process.kill()
    server.process.wait(timeout=10)
    stop.set()
    client.join(timeout=10)
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    torn = bool(lines) and not lines[-1].endswith(b"\n")
    names = []
    for line in lines[:-1] if torn else lines:
        request = decode_traces_json(line)
        names.extend(s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans)
    filtered = subprocess.run([sys.executable, "-m", "kubespan", "filter", "", str(path)],
                              capture_output=True, text=True, timeout=300)
    return {"lines": len(lines) - torn, "torn": torn, "spans": len(names), "distinct": len(set(names)),
            "filter_exit": filtered.returncode, "filter_lines": len(filtered.stdout.splitlines()),
            "filter_warned": "torn last line skipped" in filtered.stderr}


def problems(result: dict) -> list[str]:
    found = []
    if result["spans"] != result["lines"] or result["distinct"] != result["spans"]:
        found.append(f"{result['lines']} lines hold {result['spans']} spans ({result['distinct']} distinct)")
    if result["filter_exit"] != 0 or result["filter_lines"] != result["lines"]:
        found.append(f"filter exit {result['filter_exit']}, {result['filter_lines']} lines out")
    if result["torn"] and not result["filter_warned"]:
        found.append("a torn last line was not reported")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="kills (default 10)")
    parser.add_argument("--max-delay", type=float, default=3.0, help="longest run before a kill (default 3 s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory() as directory:
        for round_no in range(args.rounds):
            path = Path(directory) / f"dump-{round_no}.jsonl"
            result = one_round(path, rng.uniform(0.2, args.max_delay))
            found = problems(result)
            failures += bool(found)
            print(f"round {round_no}: {result} {'OK' if not found else 'FAIL: ' + '; '.join(found)}", flush=True)
    print(f"{args.rounds - failures}/{args.rounds} rounds OK")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
