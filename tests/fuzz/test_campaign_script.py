"""scripts/fuzz_campaign.py keeps working: a few seconds of it, and its report."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_campaign.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_campaign", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_short_campaign_reports_its_examples(capsys: pytest.CaptureFixture[str]) -> None:
    status = _load().main(["--target", "query", "--minutes", "0.01", "--examples-per-round", "30", "--seed", "7"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert status == 0 and report["failures"] == 0
    assert report["targets"]["query"]["examples"] >= 30
    assert sum(report["targets"]["query"]["outcomes"].values()) == report["targets"]["query"]["examples"]


def test_a_failing_check_is_shrunk_and_counted(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    campaign = _load()
    broken = campaign.Target("query", campaign.TARGETS["query"].strategy, lambda text: 1 / len(text) and "ok")
    monkeypatch.setitem(campaign.TARGETS, "query", broken)
    status = campaign.main(["--target", "query", "--minutes", "0.01", "--examples-per-round", "50", "--seed", "7"])
    out = capsys.readouterr().out
    report = json.loads(out.strip().splitlines()[-1])
    assert status == 1 and report["failures"] == 1
    assert report["targets"]["query"]["failed_at"][0].startswith("ZeroDivisionError")
    assert "value=''" in out  # the minimal input
