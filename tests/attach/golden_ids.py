"""Reduce the attach-shorthand golden answers to what the test reads: each trace's id.

    TEMPO_BIN=/work/tempo-bin/tempo python scripts/tempo_golden.py attach-shorthand
    python -m tests.attach.golden_ids

Tempo's full answers to searches that match most of the fixture are megabytes (every trace with its
spanset twice); the ids are what `test_translate.py` compares, so only they are kept.
"""

from __future__ import annotations

import json

from tests.support.golden_tempo import GOLDEN_DIR, load_cases

LIST = "attach-shorthand"


def main() -> None:
    for case in load_cases(LIST):
        path = GOLDEN_DIR / LIST / f"{case.name}.json"
        record = json.loads(path.read_text())
        if record.get("status") == 200 and "json" in record:
            traces = record["json"].get("traces") or []
            record["json"] = {"traces": [{"traceID": trace["traceID"]} for trace in traces]}
            record["reduced"] = "trace ids only (tests/attach/golden_ids.py)"
        path.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
