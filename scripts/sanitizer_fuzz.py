"""Fuzz the compiled walker and JSON-lines writer built with AddressSanitizer and UBSan.

    python scripts/sanitizer_fuzz.py --minutes 30                 # the long campaign
    python scripts/sanitizer_fuzz.py --minutes 0 --examples 300   # one short round (the suite runs one)

Builds `kubespan/otlp/csrc/*.c` with `-fsanitize=address,undefined -fno-sanitize-recover=all`
into a copy of the package in a temporary directory, then runs `scripts/fuzz_campaign.py
--target proto` against that copy with the sanitizer runtimes preloaded and
`PYTHONMALLOC=malloc` (so Python's own objects, the bytes the walker reads included, are
malloc blocks ASan guards). The proto target decodes each input with the compiled walk and
with protobuf's accessors and compares them, and compares the compiled JSON lines with the
view encoder. Any sanitizer report stops the process (exit status != 0) and is printed.
The last line is a JSON summary: examples run, minutes, sanitizer reports, campaign failures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = re.compile(r"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: UndefinedBehaviorSanitizer")


def runtime(name: str) -> str | None:
    """The path of a sanitizer runtime shared library (gcc's), or None."""
    found = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return found if found and os.path.isabs(found) and os.path.exists(found) else None


def build(into: Path) -> Path:
    """Copy the package into `into` and build the extension there with the sanitizers."""
    shutil.copytree(ROOT / "kubespan", into / "kubespan", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    for part in ("fuzz", "support"):  # the fuzz targets and the helpers they import
        shutil.copytree(ROOT / "tests" / part, into / "tests" / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "tests" / "__init__.py", into / "tests")
    (into / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "fuzz_campaign.py", into / "scripts")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    target = into / "kubespan" / "otlp" / f"_spanwalk{suffix}"
    sources = sorted(str(p) for p in (ROOT / "kubespan" / "otlp" / "csrc").glob("*.c"))
    command = ["gcc", "-shared", "-fPIC", "-O1", "-g", "-fno-omit-frame-pointer",
               "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
               f"-I{sysconfig.get_paths()['include']}", *sources, "-o", str(target)]
    subprocess.run(command, check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--examples", type=int, default=2000, help="examples per round")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    asan, ubsan = runtime("libasan.so"), runtime("libubsan.so")
    if shutil.which("gcc") is None or asan is None or ubsan is None:
        print("sanitizer_fuzz: needs gcc with libasan and libubsan (apt-get install gcc)", file=sys.stderr)
        return 2
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kubespan-asan-") as tmp:
        build(Path(tmp))
        env = dict(os.environ, PYTHONPATH=tmp, PYTHONMALLOC="malloc", LD_PRELOAD=f"{asan}:{ubsan}",
                   ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:allocator_may_return_null=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1", KUBESPAN_REQUIRE_COMPILED="1")
        env.pop("KUBESPAN_PURE_PYTHON", None)
        command = [sys.executable, str(Path(tmp) / "scripts" / "fuzz_campaign.py"), "--target", "proto",
                   "--minutes", str(max(args.minutes, 0.001)), "--examples-per-round", str(args.examples)]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        check = [sys.executable, "-c", "from kubespan.otlp import compiled; import sys; "
                 "sys.exit(0 if compiled.BytesCache is not None else 'the sanitized extension did not load')"]
        subprocess.run(check, env=env, check=True, cwd=tmp)
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp)
    reports = [line for line in done.stderr.splitlines() if REPORT.search(line)]
    if reports:
        print(done.stderr[-20000:], file=sys.stderr)
    summary_line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
    try:
        campaign = json.loads(summary_line)
    except ValueError:
        campaign = {"unparsed": summary_line[-2000:]}
    print(json.dumps({"examples": campaign.get("examples"), "minutes": round((time.monotonic() - began) / 60, 1),
                      "sanitizer_reports": len(reports), "campaign_exit": done.returncode,
                      "campaign": campaign}))
    return 1 if reports or done.returncode else 0


if __name__ == "__main__":
    raise SystemExit(main())
