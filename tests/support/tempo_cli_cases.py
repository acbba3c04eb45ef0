"""tempo-cli's `query api` commands run through a recording proxy: what a command sent, what it printed.

Used by scripts/tempo_golden.py (against a real Tempo: the answers become golden files) and by
tests/api/test_tempo_cli.py (against kubespan, compared with those golden files)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from tests.support.golden_tempo import Capture, Case
from tests.support.recording_proxy import Recorded, RecordingProxy

CLI_TIMEOUT_S = 120


@dataclass(frozen=True)
class CliRun:
    """One tempo-cli command: the requests it sent, its exit code, and what it printed (stdout as
    JSON when it is, the `status:` and `tempo-cli: error:` lines of stderr)."""

    recorded: tuple[Recorded, ...]
    exit_code: int
    stdout: str
    said: tuple[str, ...]

    def stdout_json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None

    def to_json(self) -> dict:
        out: dict = {"exit_code": self.exit_code, "said": list(self.said)}
        try:
            out["stdout_json"] = self.stdout_json()
        except ValueError:
            out["stdout"] = self.stdout
        return out


def run_case(cli: str, case: Case, capture: Capture, upstream: str) -> CliRun:
    """Runs `case`'s tempo-cli command against `upstream` (a base URL) through a recording proxy."""
    with RecordingProxy(upstream) as proxy:
        done = subprocess.run([cli, "query", "api", *case.cli_args(capture, proxy.address)], capture_output=True,
                              text=True, timeout=CLI_TIMEOUT_S, check=False)
        recorded = tuple(proxy.take())
        said = tuple(line.replace(proxy.address, "{address}") for line in done.stderr.splitlines()
                     if line.startswith(("status:", "tempo-cli: error:")))
    return CliRun(recorded, done.returncode, done.stdout, said)


def request_difference(case: Case, capture: Capture, recorded: tuple[Recorded, ...]) -> str | None:
    """How what tempo-cli sent differs from the request the case lists (None: it sent exactly that)."""
    path, params = case.resolved(capture)
    want = (case.method, path, sorted(params), sorted((k.lower(), v) for k, v in case.headers))
    sent = [(r.method, r.path, sorted(r.params), sorted(r.headers)) for r in recorded]
    if sent == [want]:
        return None
    return f"tempo-cli sent {sent}, the list says {want}"
