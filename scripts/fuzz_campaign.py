"""Long fuzz campaign over kubespan's decoders and query parser (hypothesis).

    PYTHONPATH=. python scripts/fuzz_campaign.py --target all --minutes 12

Targets (tests/fuzz/targets.py): `json` (OTLP/JSON decoder), `proto` (protobuf →
decode → store, checked against the official parse) and `query` (parser, evaluation,
store against the naive evaluator). `--target all` shares the time between them,
round-robin. Each round is a fresh, randomly seeded hypothesis run; a failing round
is shrunk to a minimal input, printed, and the campaign goes on. An input that runs
longer than `--hang` seconds counts as a failure too. The last line is a JSON summary.
Exit status: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.fuzz.targets import TARGETS, Target  # noqa: E402

MAX_SHOWN = 3000
"""Characters of a failing example printed (inputs can be large)."""


class Hang(Exception):
    """One input ran longer than the hang limit."""


@dataclass
class Tally:
    """What one target went through."""

    examples: int = 0
    rounds: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    outcomes: Counter = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # where → minimal example


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang("input ran past the hang limit")


def _instrumented(target: Target, tally: Tally, hang: float):
    """The target's check, counted, timed and interrupted after `hang` seconds."""

    def run(value: object) -> None:
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, hang)
        try:
            tally.outcomes[target.check(value)] += 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            tally.examples += 1
            tally.slowest = max(tally.slowest, time.perf_counter() - started)

    return run


def _where(exc: BaseException) -> str:
    """Exception type and the innermost kubespan or test frame: what makes two failures the same."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/kubespan/" in f.filename
              or "/tests/fuzz/" in f.filename]
    frame = frames[-1] if frames else None
    place = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
    return f"{type(exc).__name__} at {place}"


def run_round(target: Target, tally: Tally, examples: int, hang: float, round_seed: int) -> None:
    """One hypothesis run of `examples` inputs; a failure is shrunk and recorded."""
    check = _instrumented(target, tally, hang)
    test = seed(round_seed)(settings(
        max_examples=examples, deadline=None, database=None, derandomize=False,
        phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck), print_blob=False,
    )(given(target.strategy)(check)))
    started = time.perf_counter()
    try:
        test()
    except Exception as exc:  # noqa: BLE001 - every failure is a finding, whatever its type
        for failure in getattr(exc, "exceptions", [exc]):  # several distinct ones come as a group
            _record(target.name, tally, failure)
    finally:
        tally.rounds += 1
        tally.seconds += time.perf_counter() - started


def _record(name: str, tally: Tally, exc: BaseException) -> None:
    """Keep and print the first minimal example of each distinct failure."""
    key = _where(exc)
    notes = "\n".join(getattr(exc, "__notes__", [])) or repr(exc)
    if len(notes) > MAX_SHOWN:
        notes = notes[:MAX_SHOWN] + f"… ({len(notes)} characters)"
    if key not in tally.failures:
        tally.failures[key] = f"{exc!r}\n{notes}"
        print(f"[{name}] FAILURE {key}: {str(exc)[:200]}\n{notes}\n", flush=True)


def campaign(names: list[str], seconds: float, examples: int, hang: float, base_seed: int) -> dict[str, Tally]:
    """Round-robin rounds over the targets until `seconds` have passed."""
    tallies = {name: Tally() for name in names}
    rng = random.Random(base_seed)
    deadline = time.monotonic() + seconds
    last_report = time.monotonic()
    while time.monotonic() < deadline:
        for name in names:
            if time.monotonic() >= deadline:
                break
            run_round(TARGETS[name], tallies[name], examples, hang, rng.getrandbits(64))
        if time.monotonic() - last_report > 60:
            last_report = time.monotonic()
            print(json.dumps({n: [t.examples, len(t.failures)] for n, t in tallies.items()}), flush=True)
    return tallies


def summary(tallies: dict[str, Tally], seconds: float) -> dict:
    return {
        "seconds": round(seconds, 1),
        "targets": {
            name: {
                "examples": t.examples, "rounds": t.rounds, "seconds": round(t.seconds, 1),
                "examples_per_second": round(t.examples / t.seconds, 1) if t.seconds else 0.0,
                "slowest_example_s": round(t.slowest, 3), "outcomes": dict(t.outcomes),
                "failures": len(t.failures), "failed_at": sorted(t.failures),
            }
            for name, t in tallies.items()
        },
        "examples": sum(t.examples for t in tallies.values()),
        "failures": sum(len(t.failures) for t in tallies.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument("--minutes", type=float, default=10.0, help="total duration (default 10)")
    parser.add_argument("--examples-per-round", type=int, default=2000, help="inputs per hypothesis run")
    parser.add_argument("--hang", type=float, default=10.0, help="seconds after which one input is a hang")
    parser.add_argument("--seed", type=int, default=None, help="seed of the round seeds (default: random)")
    args = parser.parse_args(argv)
    names = list(TARGETS) if args.target == "all" else [args.target]
    base_seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    print(f"fuzz campaign: targets={names} minutes={args.minutes} seed={base_seed}", flush=True)
    warnings.filterwarnings("ignore", message="Generating overly large repr")
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    started = time.monotonic()
    try:
        tallies = campaign(names, args.minutes * 60, args.examples_per_round, args.hang, base_seed)
    finally:
        signal.signal(signal.SIGALRM, previous)
    report = summary(tallies, time.monotonic() - started)
    print(json.dumps(report), flush=True)
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
