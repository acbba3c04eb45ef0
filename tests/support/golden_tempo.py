"""Golden answers of a real Tempo on the k8s fixture: the request lists, their placeholders and the
stored answers (format in tests/golden/tempo/README.md). Used by scripts/tempo_golden.py to capture
and by the tests that compare kubespan's answers with Tempo's. The same format holds Jaeger's golden
answers (tests/golden/jaeger/): pass `golden_dir`."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "tempo"
_PLACEHOLDER = re.compile(r"\{(start|end)(_ns|_us|_ms|_rfc3339)?([+-]\d+)?\}")


@dataclass(frozen=True)
class Capture:
    """Where the fixture sat in time when Tempo answered: its timestamps moved by `shift_ns`, and the
    request window `start`..`end` (unix seconds) that holds every span."""

    shift_ns: int
    start: int
    end: int

    def resolve(self, text: str) -> str:
        """Replaces `{start}`, `{end}`, `{start+60}`, `{end_ns}`, `{start_ms}`, `{end_rfc3339}` … in `text`."""

        def sub(m: re.Match) -> str:
            seconds = (self.start if m.group(1) == "start" else self.end) + int(m.group(3) or 0)
            unit = m.group(2) or ""
            if unit == "_ns":
                return str(seconds * 1_000_000_000)
            if unit == "_us":
                return str(seconds * 1_000_000)
            if unit == "_ms":
                return str(seconds * 1000)
            if unit == "_rfc3339":
                return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            return str(seconds)

        return _PLACEHOLDER.sub(sub, text)

    def to_json(self) -> dict:
        return {"shift_ns": self.shift_ns, "start": self.start, "end": self.end}

    @classmethod
    def from_json(cls, obj: dict) -> Capture:
        return cls(int(obj["shift_ns"]), int(obj["start"]), int(obj["end"]))


@dataclass(frozen=True)
class Case:
    """One request of a list: `path` and `params` may hold placeholders."""

    name: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    note: str = ""
    cli: tuple[str, ...] = ()
    """tempo-cli's `query api` arguments that send this request (`{address}`, `{url}`: the server's)."""

    def resolved(self, capture: Capture) -> tuple[str, list[tuple[str, str]]]:
        return capture.resolve(self.path), [(k, capture.resolve(v)) for k, v in self.params]

    def cli_args(self, capture: Capture, address: str) -> list[str]:
        """The tempo-cli arguments for a server on `address` (host:port), times resolved."""
        return [capture.resolve(a).replace("{address}", address).replace("{url}", f"http://{address}")
                for a in self.cli]


def place_fixture(now: float) -> tuple[Capture, list]:
    """The fixture moved so that it starts on a whole minute, five minutes before `now`, and its window:
    the requests' widest window ({start-60}..{end+119}) is then in the past."""
    from tests.support.k8s_fixture import FIXTURE_START_NS, fixture_bounds, load_fixture

    start = int(now) // 60 * 60 - 300
    shift = start * 1_000_000_000 - FIXTURE_START_NS
    requests = load_fixture(shift)
    lo, hi = fixture_bounds(requests)
    return Capture(shift, lo // 1_000_000_000, hi // 1_000_000_000 + 1), requests


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, dict) else value or []
    return tuple((str(k), str(v)) for k, v in items)


def list_names(golden_dir: Path = GOLDEN_DIR) -> list[str]:
    """The request lists, by file name (tests/golden/tempo/requests/<name>.json)."""
    return sorted(p.stem for p in (golden_dir / "requests").glob("*.json"))


def load_cases(list_name: str, golden_dir: Path = GOLDEN_DIR) -> list[Case]:
    obj = json.loads((golden_dir / "requests" / f"{list_name}.json").read_text())
    cases = []
    for c in obj["cases"]:
        cases.append(Case(c["name"], c["path"], _pairs(c.get("params")), c.get("method", "GET"),
                          _pairs(c.get("headers")), c.get("body", ""), c.get("note", ""),
                          tuple(c.get("cli", ()))))
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"{list_name}: duplicate case names {sorted(dup)}")
    return cases


def response_record(status: int, headers: dict, body: bytes) -> dict:
    """A stored answer: status, content type and the body as JSON, text or base64 (binary)."""
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    out: dict = {"status": status, "content_type": ctype}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        out["base64"] = base64.b64encode(body).decode()
        return out
    if "protobuf" in ctype:
        out["base64"] = base64.b64encode(body).decode()
    elif text[:1] in "{[":
        try:
            out["json"] = json.loads(text)
        except ValueError:
            out["text"] = text
    else:
        out["text"] = text
    return out


def capture_path(list_name: str, golden_dir: Path = GOLDEN_DIR) -> Path:
    return golden_dir / list_name / "_capture.json"


def golden_path(list_name: str, case_name: str, golden_dir: Path = GOLDEN_DIR) -> Path:
    return golden_dir / list_name / f"{case_name}.json"


def load_capture(list_name: str, golden_dir: Path = GOLDEN_DIR) -> Capture:
    return Capture.from_json(json.loads(capture_path(list_name, golden_dir).read_text()))


def load_golden(list_name: str, case_name: str, golden_dir: Path = GOLDEN_DIR) -> dict:
    return json.loads(golden_path(list_name, case_name, golden_dir).read_text())
