"""Coverage-guided fuzzing (atheris / libFuzzer) of the same targets as scripts/fuzz_campaign.py.

    pip install atheris
    PYTHONPATH=. python scripts/atheris_harness.py proto -max_total_time=300 -timeout=10 [CORPUS_DIR]

TARGET is `json`, `proto` or `query` (tests/fuzz/targets.py); everything after it goes
to libFuzzer. Hypothesis generates structure; libFuzzer follows kubespan's branch
coverage from raw bytes, which suits the decoders. A check failing (AssertionError) or
any exception other than the decoder's own error is reported as a crash, with the
input saved as crash-<sha1> in the working directory.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import atheris  # noqa: E402

with atheris.instrument_imports(include=["kubespan"]):
    from tests.fuzz.targets import TARGETS  # noqa: E402


def one_input(target: str) -> Callable[[bytes], None]:
    """libFuzzer's entry point for `target`: bytes for the decoders, text for the query parser."""
    check = TARGETS[target].check

    def run(data: bytes) -> None:
        if target == "query":
            check(atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data)))
        else:
            check(data)

    return run


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options]")
    target = sys.argv.pop(1)
    atheris.Setup(sys.argv, one_input(target))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
