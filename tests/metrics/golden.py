"""Comparing kubespan's metrics answers with Tempo's golden ones."""

from __future__ import annotations

import json
import math
from typing import Any

from tests.support.golden_tempo import GOLDEN_DIR

LIST = "metrics-engine"


def captured_at() -> int:
    """When Tempo answered (unix seconds): the `now` of requests without an end."""
    return int(json.loads((GOLDEN_DIR / LIST / "_capture.json").read_text())["captured_at"])


def label_key(labels: list[dict[str, Any]]) -> str:
    return json.dumps(labels, sort_keys=True)


def samples_of(series: dict[str, Any]) -> list[tuple[int, float]]:
    if "samples" not in series:
        return [(0, float(series.get("value", 0)))]
    return [(int(s["timestampMs"]), float(s.get("value", 0))) for s in series["samples"]]


def diff_series(ours: dict[str, Any], tempo: dict[str, Any], rel: float = 1e-9) -> list[str]:
    """What differs between two answers: series order, labels, sample times and values (within `rel`)."""
    problems = []
    our_labels = [label_key(s["labels"]) for s in ours["series"]]
    tempo_labels = [label_key(s["labels"]) for s in tempo["series"]]
    if our_labels != tempo_labels:
        missing = sorted(set(tempo_labels) - set(our_labels))[:5]
        extra = sorted(set(our_labels) - set(tempo_labels))[:5]
        problems.append(f"series differ: missing {missing} extra {extra}" if missing or extra
                        else "series order differs")
        return problems
    for mine, theirs in zip(ours["series"], tempo["series"], strict=False):
        a, b = samples_of(mine), samples_of(theirs)
        if [t for t, _ in a] != [t for t, _ in b]:
            problems.append(f"{label_key(mine['labels'])}: sample times differ {a[:3]}… vs {b[:3]}…")
            continue
        for (t, x), (_, y) in zip(a, b, strict=False):
            if not math.isclose(x, y, rel_tol=rel, abs_tol=1e-12):
                problems.append(f"{label_key(mine['labels'])} at {t}: {x!r} vs Tempo {y!r}")
    return problems
