"""A short round of the sanitizer fuzz campaign: the compiled walker and JSON-lines writer built
with AddressSanitizer and UBSan decode 60 fuzzed requests (scripts/sanitizer_fuzz.py; the long
campaign's command and result are in proto_notes/fuzzing.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sanitizer_fuzz.py"


def sanitizers_available() -> bool:
    if shutil.which("gcc") is None:
        return False
    found = [subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
             for name in ("libasan.so", "libubsan.so")]
    return all(Path(path).is_absolute() and Path(path).exists() for path in found)


@pytest.mark.skipif(not sanitizers_available(), reason="needs gcc with libasan and libubsan: apt-get install gcc")
def test_a_short_sanitizer_round_finds_nothing():
    done = subprocess.run([sys.executable, str(SCRIPT), "--minutes", "0", "--examples", "60", "--seed", "7"],
                          capture_output=True, text=True, timeout=600)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, done.stderr[-5000:]
    assert summary["sanitizer_reports"] == 0 and summary["examples"] == 60
    assert summary["campaign"]["failures"] == 0
