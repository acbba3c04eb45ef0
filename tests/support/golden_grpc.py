"""Golden answers of a real Tempo's streaming gRPC API (`tempopb.StreamingQuerier`, served on its HTTP port
with `stream_over_http_enabled: true`) on the k8s fixture: the request list, calling it, the stored answers.

Format (tests/golden/tempo-grpc/): `requests/grpc.json` lists cases, each a `name`, the `method` of
StreamingQuerier, the `request` as protobuf JSON (string values may hold the placeholders of
tests/golden/tempo/README.md: `{start}`, `{end-30}`, …), optional `metadata` pairs, `cli` (tempo-cli
`query api` arguments, `--use-grpc` among them; `{address}` is the server) and a `note`.
`grpc/<case>.json` holds the answer: `code` (gRPC status name), `details`, `messages` (each streamed
message as protobuf JSON), and `tempo_cli` (`exit_code`, `stdout_json`: one object per printed line,
`said`: its `tempo-cli: error:` lines). Used by scripts/tempo_grpc_golden.py (capture) and
tests/api/test_grpc_golden.py (replay against kubespan)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.protobuf import json_format

from kubespan.api.tempopb import tempo_pb2 as pb
from kubespan.api.tempopb import tempo_pb2_grpc as pb_grpc
from tests.support.golden_tempo import Capture

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden" / "tempo-grpc"
LIST = "grpc"
REQUEST_TYPES = {"Search": pb.SearchRequest, "SearchTags": pb.SearchTagsRequest,
                 "SearchTagsV2": pb.SearchTagsRequest, "SearchTagValues": pb.SearchTagValuesRequest,
                 "SearchTagValuesV2": pb.SearchTagValuesRequest, "MetricsQueryRange": pb.QueryRangeRequest,
                 "MetricsQueryInstant": pb.QueryInstantRequest}


@dataclass(frozen=True)
class GrpcCase:
    name: str
    method: str
    request: dict
    metadata: tuple[tuple[str, str], ...] = ()
    cli: tuple[str, ...] = ()
    note: str = ""

    def message(self, capture: Capture):
        resolved = json.loads(capture.resolve(json.dumps(self.request)))
        return json_format.ParseDict(resolved, REQUEST_TYPES[self.method]())

    def cli_args(self, capture: Capture, address: str) -> list[str]:
        return [capture.resolve(a).replace("{address}", address) for a in self.cli]


@dataclass(frozen=True)
class Answer:
    code: str
    details: str
    messages: list[dict]

    def to_json(self) -> dict:
        return {"code": self.code, "details": self.details, "messages": self.messages}


def load_cases() -> list[GrpcCase]:
    obj = json.loads((GOLDEN_DIR / "requests" / f"{LIST}.json").read_text())
    return [GrpcCase(c["name"], c["method"], c["request"], tuple(tuple(p) for p in c.get("metadata", ())),
                     tuple(c.get("cli", ())), c.get("note", "")) for c in obj["cases"]]


def call(address: str, case: GrpcCase, capture: Capture, credentials=None, timeout: float = 60) -> Answer:
    """`case` called on `address` (host:port): every streamed message, then the status."""
    channel = grpc.secure_channel(address, credentials) if credentials else grpc.insecure_channel(address)
    messages: list[dict] = []
    with channel:
        stream = getattr(pb_grpc.StreamingQuerierStub(channel), case.method)(
            case.message(capture), metadata=case.metadata, timeout=timeout)
        try:
            for message in stream:
                messages.append(json_format.MessageToDict(message))
        except grpc.RpcError as error:
            return Answer(error.code().name, error.details() or "", messages)
    return Answer("OK", "", messages)


def run_cli(cli: str, case: GrpcCase, capture: Capture, address: str, env: dict | None = None) -> dict:
    """tempo-cli's `query api` command of `case` against `address`: exit code, printed messages, errors."""
    done = subprocess.run([cli, "query", "api", *case.cli_args(capture, address)], capture_output=True, text=True,
                          timeout=120, check=False, env=env)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip().startswith("{")]
    said = [line.replace(address, "{address}") for line in done.stderr.splitlines()
            if line.startswith("tempo-cli: error:")]
    return {"exit_code": done.returncode, "stdout_json": lines, "said": said}


def capture_path() -> Path:
    return GOLDEN_DIR / LIST / "_capture.json"


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / LIST / f"{name}.json"


def load_capture() -> Capture:
    return Capture.from_json(json.loads(capture_path().read_text()))


def load_golden(name: str) -> dict:
    return json.loads(golden_path(name).read_text())
