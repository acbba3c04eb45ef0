"""Every request of the corpus that kubespan accepts also goes through the real consumers:
the span store, `--print` (current and legacy) and `--jsonl`, with nothing skipped."""

from __future__ import annotations

from pathlib import Path

from kubespan.otlp.jsoncodec import decode_traces_json
from kubespan.pipeline import Pipeline
from kubespan.stats import Counters
from kubespan.store import SpanStore
from kubespan.writers import formats
from kubespan.writers.stream import StreamWriter
from tests.hostile.cases import CASES, Case
from tests.hostile.test_corpus import payload

ACCEPTED = [case for case in CASES if case.expect.accepted and case.method == "POST"
            and (case.headers is None or "json" in case.transports)]


def protobuf_body(case: Case) -> bytes:
    body = payload(case)
    return decode_traces_json(body).SerializeToString() if case.transports == ("json",) else body


def test_accepted_hostile_requests_are_stored_printed_and_dumped(tmp_path: Path) -> None:
    counters = Counters()
    pipeline = Pipeline(counters=counters)
    store = SpanStore(pipeline.table, counters=counters)
    writers = [
        StreamWriter.to_file("print", str(tmp_path / "print"), formats.debug_text(), counters),
        StreamWriter.to_file("legacy", str(tmp_path / "legacy"), formats.debug_text(legacy=True), counters),
        StreamWriter.to_file("jsonl", str(tmp_path / "jsonl"), formats.jsonl, counters),
    ]
    for consumer in (store, *writers):
        pipeline.add_consumer(consumer)
    for case in ACCEPTED:
        result = pipeline.export_traces(protobuf_body(case))
        assert result.rejected_spans == case.expect.rejected, case.name
    for writer in writers:
        writer.close()
    accepted = sum(case.expect.accepted for case in ACCEPTED)
    assert len(ACCEPTED) >= 10 and len(store) == accepted
    for name in ("print", "legacy", "jsonl"):
        assert counters.get(f"{name}_spans") == accepted, name
        assert counters.get(f"{name}_unformattable_spans") == 0, name
    assert len((tmp_path / "jsonl").read_bytes().splitlines()) == accepted
