"""Reading dump files: JSON lines and whole documents, counts per file, what files may carry."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.dumps import DumpReader, check_dump, split_records
from kubespan.encode.otlp_json import encode_request_json
from kubespan.encode.span_lines import encode_span_lines
from kubespan.otlp.jsoncodec import JsonDecodeError, decode_traces_json
from tests.support.spanfactory import S, request, span_id, trace_id

PROTO_EXAMPLE = Path(__file__).parents[1] / "data" / "otlp-proto" / "trace.json"
SPANS = [
    S(1, 1, name="syncPod", service="kubelet"),
    S(1, 2, parent=1, name="PullImage", service="kubelet", kind=3),
    S(1, 3, parent=2, name="PullImage", service="containerd", kind=2),
]


def read(data: str | bytes, **kwargs) -> tuple[list[ExportTraceServiceRequest], DumpReader]:
    raw = data.encode() if isinstance(data, str) else data
    reader = DumpReader("spans.jsonl", io.BytesIO(raw), **kwargs)
    return list(reader.requests()), reader


def names(requests: list[ExportTraceServiceRequest]) -> list[str]:
    return [span.name for r in requests for rs in r.resource_spans for ss in rs.scope_spans for span in ss.spans]


def span_lines() -> list[str]:
    return encode_span_lines(request(SPANS))


def test_span_lines_and_collector_lines_in_one_file() -> None:
    text = "\n".join(span_lines()) + "\n\n" + encode_request_json(request(SPANS)) + "\n"
    got, reader = read(text)
    assert names(got) == ["syncPod", "PullImage", "PullImage"] * 2
    report = reader.report
    assert (report.records, report.bad, report.spans, report.documents) == (4, 0, 6, False)
    assert report.skipped() is None and report.problem() is None


def test_str_lines_read_like_bytes() -> None:
    lines = [line + "\n" for line in span_lines()]
    assert list(DumpReader("x", lines).requests()) == read("".join(lines))[0]


def test_bad_lines_are_counted_once_with_the_first_error() -> None:
    lines = span_lines()
    text = lines[0] + "\nnot json\n" + '{"not":"otlp"}\n' + lines[1] + "\n" + lines[2][:50]
    got, reader = read(text)
    assert names(got) == ["syncPod", "PullImage"]
    report = reader.report
    assert (report.records, report.bad, report.good, report.spans) == (5, 3, 2, 2)
    assert report.first_error.startswith("line 2: invalid JSON: Expecting value")
    assert report.skipped() == f"skipped 3 of 5 lines in spans.jsonl: {report.first_error}"
    assert report.problem() is None


def test_a_record_without_resource_spans_is_not_otlp() -> None:
    got, reader = read('{"not":"otlp"}\n{}\n[1]\n')
    assert got == []
    assert reader.report.first_error == "line 1: not OTLP/JSON: no resourceSpans (keys: 'not')"
    assert reader.report.problem() == (
        "spans.jsonl: not OTLP/JSON (none of its 3 lines: line 1: not OTLP/JSON: no resourceSpans (keys: 'not'))")


def test_torn_last_line_is_named() -> None:
    lines = span_lines()
    _, reader = read(lines[0] + "\n" + lines[1][:30])
    assert reader.report.first_error.startswith("line 2: torn last line (no newline")


def test_binary_file_is_one_problem() -> None:
    _, reader = read(bytes(range(256)) * 40)
    assert reader.report.good == 0 and reader.report.bad == reader.report.records > 1
    assert reader.report.problem().startswith("spans.jsonl: not OTLP/JSON (none of its")


def test_reading_is_lazy() -> None:
    line = span_lines()[0] + "\n"
    consumed = []

    def source():
        for i in range(1_000_000):
            consumed.append(i)
            yield line

    first = next(DumpReader("x", source()).requests())
    assert names([first]) == ["syncPod"] and len(consumed) == 1


# ---- whole documents ----------------------------------------------------------------------------


def test_the_proto_repository_example_is_one_span() -> None:
    got, reader = read(PROTO_EXAMPLE.read_bytes())
    (span,) = [span for rs in got[0].resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert span.name == "I'm a server span" and span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.parent_span_id.hex() == "eee19b7ec3c1b173" and span.kind == 2
    assert got[0].resource_spans[0].scope_spans[0].scope.attributes[0].key == "my.scope.attribute"
    assert (reader.report.records, reader.report.bad, reader.report.documents) == (1, 0, True)
    assert reader.report.unit == "document"


def test_pretty_documents_one_after_another() -> None:
    doc = json.dumps(json.loads(encode_request_json(request(SPANS))), indent=2)
    got, reader = read("\n" + doc + "\n" + doc + doc + "\n")
    assert names(got) == ["syncPod", "PullImage", "PullImage"] * 3
    assert [r.line_no for r in split_records(io.BytesIO(("\n" + doc + "\n" + doc).encode()))] == [
        2, 2 + doc.count("\n") + 1]


def test_a_broken_later_document_ends_the_file_with_one_error() -> None:
    doc = json.dumps(json.loads(encode_request_json(request(SPANS))), indent=2)
    got, reader = read(doc + "\n" + doc[:-20])
    assert names(got) == ["syncPod", "PullImage", "PullImage"]
    assert (reader.report.records, reader.report.bad) == (2, 1)
    assert reader.report.first_error.startswith(f"document at line {doc.count(chr(10)) + 2}: invalid JSON")


def test_a_damaged_first_line_falls_back_to_lines() -> None:
    lines = span_lines()
    got, reader = read(lines[0][:25] + "\n" + lines[1] + "\n" + lines[2] + "\n")
    assert names(got) == ["PullImage", "PullImage"]
    assert (reader.report.records, reader.report.bad, reader.report.documents) == (3, 1, False)


def test_a_document_over_the_limit_is_refused_in_one_error() -> None:
    doc = json.dumps(json.loads(encode_request_json(request(SPANS))), indent=2)
    got, reader = read(doc, max_document_bytes=100)
    assert got == [] and reader.report.problem() == (
        "spans.jsonl: not OTLP/JSON (the only document: document at line 1: larger than 100 bytes, the limit for "
        "whole-document files (JSON lines have none))")


# ---- what files carry and receivers refuse ---------------------------------------------------


def legacy_document(**span) -> dict:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "old"}}]},
        "instrumentationLibrarySpans": [{"instrumentationLibrary": {"name": "io.opentelemetry.old", "version": "1"},
                                         "spans": [{"name": "legacy", **span}]}],
    }]}


def test_legacy_instrumentation_library_spans_are_read() -> None:
    got, reader = read(json.dumps(legacy_document()) + "\n")
    assert names(got) == ["legacy"] and reader.report.bad == 0
    assert got[0].resource_spans[0].scope_spans[0].scope.name == "io.opentelemetry.old"
    assert names([decode_traces_json(json.dumps(legacy_document()))]) == []  # receivers: as the Collector


def test_scope_spans_win_over_legacy_ones_in_the_same_resource() -> None:
    doc = legacy_document()
    doc["resourceSpans"][0]["scopeSpans"] = [{"scope": {"name": "new"}, "spans": [{"name": "current"}]}]
    assert names(read(json.dumps(doc) + "\n")[0]) == ["current"]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_base64_ids_are_read_from_files_but_not_by_receivers() -> None:
    doc = legacy_document(traceId=b64(trace_id(7)), spanId=b64(span_id(8)), parentSpanId=b64(span_id(9)).rstrip("="),
                          links=[{"traceId": b64(trace_id(3)), "spanId": b64(span_id(4))}])
    (got,), reader = read(json.dumps(doc) + "\n")
    span = got.resource_spans[0].scope_spans[0].spans[0]
    assert (span.trace_id, span.span_id, span.parent_span_id) == (trace_id(7), span_id(8), span_id(9))
    assert (span.links[0].trace_id, span.links[0].span_id) == (trace_id(3), span_id(4))
    body = json.dumps({"resourceSpans": doc["resourceSpans"][:1]}).replace("instrumentationLibrarySpans", "scopeSpans")
    with pytest.raises(JsonDecodeError, match="invalid hex id"):
        decode_traces_json(body)


def test_hex_wins_where_an_id_reads_both_ways() -> None:
    doc = legacy_document(traceId="5B8EFFF798038103D269B633813FC60C", spanId="EEE19B7EC3C1B174")
    (got,), _ = read(json.dumps(doc))
    span = got.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c" and span.span_id.hex() == "eee19b7ec3c1b174"


def test_an_id_neither_hex_nor_base64_is_a_bad_record() -> None:
    _, reader = read(json.dumps(legacy_document(spanId="not an id!")) + "\n")
    assert reader.report.bad == 1 and "invalid hex or base64 id 'not an id!'" in reader.report.first_error


def test_tempo_answers_are_read() -> None:
    resource_spans = json.loads(encode_request_json(request(SPANS)))["resourceSpans"]
    v1 = json.dumps({"batches": resource_spans})
    v2 = json.dumps({"trace": {"resourceSpans": resource_spans}, "status": "COMPLETE"}, indent=1)
    assert names(read(v1 + "\n" + v1 + "\n")[0]) == ["syncPod", "PullImage", "PullImage"] * 2
    assert names(read(v2)[0]) == ["syncPod", "PullImage", "PullImage"]


# ---- check before opening -----------------------------------------------------------------------


def test_check_dump(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("garbage\n" + "\n".join(span_lines()) + "\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    binary = tmp_path / "some.bin"
    binary.write_bytes(bytes(range(256)) * 100)
    assert check_dump(str(good)) is None and check_dump(str(empty)) is None
    assert check_dump(str(PROTO_EXAMPLE)) is None
    assert check_dump(str(tmp_path / "missing")) == f"{tmp_path / 'missing'}: No such file or directory"
    assert check_dump(str(tmp_path)) == f"{tmp_path}: Is a directory"
    assert check_dump(str(binary)).startswith(f"{binary}: not OTLP/JSON (none of its ")


def test_check_dump_leaves_a_pipe_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "live.jsonl"
    os.mkfifo(fifo)
    assert check_dump(str(fifo)) is None  # returns at once: opening a FIFO would wait for a writer


def test_check_dump_stops_scanning_a_large_file_without_otlp(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("just text\n" * 10_000)
    assert check_dump(str(junk)) == (
        f"{junk}: not OTLP/JSON (none of its 10,000 lines: line 1: invalid JSON: Expecting value (line 1 column 1))")
    assert check_dump(str(junk), scan_bytes=1000) == (
        f"{junk}: not OTLP/JSON (nothing in its first 1,000 bytes: line 1: invalid JSON: Expecting value "
        "(line 1 column 1))")


TEMPO_TRACES = Path(__file__).parents[1] / "golden" / "tempo" / "traces"


@pytest.mark.parametrize("answer", ["v1-blog", "v2-blog"])
def test_a_trace_saved_from_a_real_tempo_reads_whole(answer: str, tmp_path: Path) -> None:
    """Tempo's own answer (tests/golden/tempo), saved as `curl .../api/traces/<id> > trace.json` would."""
    golden = json.loads((TEMPO_TRACES / f"{answer}.json").read_text())
    saved = tmp_path / "trace.json"
    saved.write_text(json.dumps(golden["json"], indent=2))  # base64 ids, enum names, pretty-printed
    with saved.open("rb") as stream:
        reader = DumpReader(str(saved), stream)
        requests = list(reader.requests())
    trace_hex = golden["request"]["path"].rsplit("/", 1)[1]
    spans = [s for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(spans) == 11 and {s.trace_id.hex() for s in spans} == {trace_hex}
    assert sum(s.name == "syncPod" for s in spans) == 1 and all(len(s.span_id) == 8 for s in spans)
    assert (reader.report.records, reader.report.bad) == (1, 0)
