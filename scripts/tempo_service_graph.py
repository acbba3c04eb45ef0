"""Capture what Grafana Tempo's service-graph processor makes of the k8s fixture, as a golden file.

    TEMPO_BIN=/work/tempo-bin/tempo python scripts/tempo_service_graph.py

Writes tests/golden/tempo/service-graph/edges.json (Tempo's request and failed counters per edge;
how: tests/support/tempo_service_graph.py). tests/metrics/test_service_graph_golden.py compares
kubespan's service graph with it. About 40 s; Tempo is stopped and its data removed at the end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.tempo import TempoPorts, tempo_bin  # noqa: E402
from tests.support.tempo_service_graph import capture  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "golden" / "tempo" / "service-graph" / "edges.json"


def main() -> int:
    binary = tempo_bin()
    if binary is None:
        print("TEMPO_BIN is not set: see /work/coord/tempo.md for the Tempo build", file=sys.stderr)
        return 2
    import os

    answer = capture(binary, TempoPorts.from_env() if "TEMPO_HTTP" in os.environ else None)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(answer, indent=1) + "\n")
    print(f"{len(answer['edges'])} edges written to {OUT}")
    for edge in answer["edges"]:
        print(edge)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
