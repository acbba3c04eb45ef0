"""`--print` and `--jsonl` show hostile text inert; a writer survives a batch it cannot format."""

from __future__ import annotations

import re
import threading

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.encode.debugtext import render_traces
from kubespan.encode.span_lines import encode_span_lines
from kubespan.model import TraceBatch
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.otlp.jsoncodec import decode_traces_json
from kubespan.stats import Counters
from kubespan.writers.stream import StreamWriter
from tests.hostile import payloads
from tests.hostile.cases import ESCAPES
from tests.hostile.clients import send_grpc
from tests.support.serve_process import ServeProcess

ACTIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f]")
"""Characters that act on a terminal or hide text; tab and newline are layout."""
SHOWN = ("\\x1b[2J", "\\x1b]8;;http://evil.example\\x07click", "\\x9b31m", "\\r", "\\u202eevil",
         "[bold red]x[/]")


def hostile_request() -> ExportTraceServiceRequest:
    """Every text field of the debug output carries terminal escapes and markup."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add(schema_url=ESCAPES)
    resource_spans.resource.attributes.add(key=ESCAPES).value.string_value = ESCAPES
    scope_spans = resource_spans.scope_spans.add(schema_url=ESCAPES)
    scope_spans.scope.name, scope_spans.scope.version = ESCAPES, ESCAPES
    span = scope_spans.spans.add(trace_id=payloads.TRACE_ID, span_id=b"12345678", name=ESCAPES,
                                 trace_state=ESCAPES)
    span.status.message = ESCAPES
    span.attributes.add(key="list").value.array_value.values.add().string_value = ESCAPES
    span.attributes.add(key="map").value.kvlist_value.values.add(key=ESCAPES).value.string_value = ESCAPES
    event = span.events.add(name=ESCAPES)
    event.attributes.add(key=ESCAPES).value.string_value = ESCAPES
    span.links.add(trace_id=payloads.TRACE_ID, span_id=b"87654321", trace_state=ESCAPES)
    return request


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
def test_debug_text_escapes_every_hostile_field(legacy: bool) -> None:
    text = render_traces(hostile_request(), legacy=legacy)
    assert not ACTIVE.search(text)
    for shown in SHOWN:
        assert shown in text, shown
    assert f"    Name           : {SHOWN[0]}" in text


def test_debug_text_keeps_newlines_and_tabs_like_the_collector() -> None:
    request = hostile_request()
    request.resource_spans[0].scope_spans[0].spans[0].name = "two\tcolumns\nsecond line"
    assert "    Name           : two\tcolumns\nsecond line\n" in render_traces(request)


def test_jsonl_escapes_terminal_characters_and_decodes_to_the_same_text() -> None:
    request = hostile_request()
    for line in encode_span_lines(request):
        assert not ACTIVE.search(line) and "\\u009b31m" in line
        assert decode_traces_json(line) == request


def test_serve_print_writes_hostile_names_inert() -> None:
    server = ServeProcess("--grpc", "127.0.0.1:0", "--http", "off", "--print")
    try:
        answer = send_grpc(server.addresses["grpc"], payloads.request(payloads.span(name=ESCAPES)))
        assert answer.status == "OK"
        lines = server.read_stdout_lines(20)
        server.stop()
    finally:
        server.kill()
    text = b"".join(lines + server.remaining_stdout()).decode()
    assert f"    Name           : {ESCAPES}" not in text
    assert "\\x1b[2J\\x1b]8;;http://evil.example\\x07click" in text and not ACTIVE.search(text)


def test_writer_skips_a_batch_it_cannot_format_and_writes_the_next(tmp_path) -> None:
    table = new_attribute_table()
    batches = [decode_request(payloads.valid(n), table)[0] for n in (3, 2)]
    written = threading.Event()

    def formatter(batch: TraceBatch) -> tuple[bytes, int]:
        if batch is batches[0]:
            raise RecursionError("maximum recursion depth exceeded")
        written.set()
        return b"ok\n", batch.span_count

    counters = Counters()
    writer = StreamWriter.to_file("print", str(tmp_path / "out"), formatter, counters, max_queue_spans=4)
    for batch in batches:
        writer.consume_traces(batch)
    assert written.wait(10)
    writer.close()
    assert (tmp_path / "out").read_bytes() == b"ok\n"
    assert counters.get("print_unformattable_spans") == 3 and counters.get("written_spans") == 2
    assert counters.snapshot()["print_queue_spans"] == 0  # nothing left to wedge the receivers
