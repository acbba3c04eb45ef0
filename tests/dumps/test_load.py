"""Loading dumps into a pipeline for `kubespan open`: one summary per file, not one toast per line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from kubespan.dumps import load_dumps
from kubespan.encode.otlp_json import encode_request_json
from kubespan.encode.span_lines import encode_span_lines
from kubespan.pipeline import Pipeline
from kubespan.store import SpanStore
from tests.support.spanfactory import S, request

PROTO_EXAMPLE = Path(__file__).parents[1] / "data" / "otlp-proto" / "trace.json"


def loaded(paths: list[str], **kwargs) -> tuple[int, list[dict], SpanStore]:
    pipeline = Pipeline()
    store = SpanStore(pipeline.table)
    pipeline.add_consumer(store)
    reports: list[dict] = []
    spans = load_dumps(paths, pipeline, lambda **report: reports.append(report), **kwargs)
    return spans, [r for r in reports if r.get("finished")], store


def test_bad_lines_make_one_summary(tmp_path):
    lines = encode_span_lines(request([S(1, n, name=f"op{n}") for n in range(1, 5001)]))
    for n in (10, 2000, 4000):
        lines[n] = "garbage " + lines[n]
    dump = tmp_path / "spans.jsonl"
    dump.write_text("\n".join(lines) + "\n")
    spans, (final,), store = loaded([str(dump)], batch_lines=500)
    assert spans == 4997 == final["spans"] == len(store) and final["error"] == ""
    assert final["warnings"] == [f"skipped 3 of 5,000 lines in {dump}: line 11: invalid JSON: Expecting value "
                                 "(line 1 column 1)"]


def test_files_that_give_nothing_are_errors_and_the_others_load(tmp_path):
    binary = tmp_path / "some.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    good = tmp_path / "good.jsonl"
    good.write_text(encode_request_json(request([S(1, 1), S(1, 2, parent=1)])) + "\n")
    spans, finals, store = loaded([str(tmp_path / "missing"), str(binary), str(good), str(PROTO_EXAMPLE)])
    assert spans == 3 == len(store)
    assert [(f["path"], f["spans"], f["warnings"]) for f in finals] == [
        (str(tmp_path / "missing"), 0, []), (str(binary), 0, []), (str(good), 2, []), (str(PROTO_EXAMPLE), 1, [])]
    assert finals[0]["error"] == "No such file or directory"
    assert finals[1]["error"].startswith("not OTLP/JSON (none of its ")
    assert finals[2]["error"] == finals[3]["error"] == ""


def test_stdin_holding_a_pretty_printed_document():
    body = json.dumps(json.loads(encode_request_json(request([S(1, 1), S(2, 2)]))), indent=4).encode()
    spans, (final,), store = loaded(["-"], stdin=io.BytesIO(body))
    assert spans == 2 == len(store) and final["path"] == "-" and final["warnings"] == []
