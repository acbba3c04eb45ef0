"""Filter OTLP/JSON-lines dumps with a query: the core of `kubespan filter`.

Span-level queries stream: each dump line (one span, or a Collector file-exporter
batch) is matched on its own. Queries that relate spans (TraceQL `&&`, `>`, `>>`…)
and `--traces` need whole traces, so the input is loaded into a `SpanStore` first and
the matching spans are written in input order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from kubespan.dumps import DumpReader, DumpReport, open_dump, read_error, span_lines_text, stored_requests
from kubespan.encode.debugtext import render_traces
from kubespan.encode.debugtext.render import SpanNotes
from kubespan.encode.inert import escape_keeping_lines as inert
from kubespan.model import AttributeTable, TraceBatch
from kubespan.otlp.attributes import new_attribute_table
from kubespan.otlp.decode import decode_request
from kubespan.otlp.select import select_spans
from kubespan.query import Query
from kubespan.query.ast import Filter
from kubespan.query.limits import Deadline
from kubespan.query.values import display
from kubespan.store import SpanStore

OUTPUT_CHUNK_SPANS = 512
"""Spans per request rebuilt from the store for output."""


@dataclass
class FilterReport:
    """What `filter_dumps` read and wrote; ``files`` has one report per input file."""

    rejected_spans: int = 0
    files: list[DumpReport] = field(default_factory=list)
    rejections: dict[str, tuple[int, str]] = field(default_factory=dict)
    """Per file: spans the decoder rejected (bad ids, ...) and the first reason."""

    def warnings(self) -> list[str]:
        """One line per file that had bad records or rejected spans."""
        out = []
        for report in self.files:
            skipped = report.skipped()
            if skipped and report.good:
                out.append(skipped)
            rejected = self.rejections.get(report.name)
            if rejected:
                out.append(f"{report.name}: rejected {rejected[0]:,} spans: {rejected[1]}")
        return out

    def problems(self) -> list[str]:
        """One line per file that gave nothing: unreadable, or no record is OTLP/JSON."""
        return [problem for report in self.files if (problem := report.problem())]


def formatter(print_format: str | None, notes: SpanNotes | None = None) -> Callable[[ExportTraceServiceRequest], str]:
    """JSON lines (one span per line) by default, or the Collector's debug text (`notes` after each span)."""
    if print_format is None:
        return span_lines_text
    return lambda request: render_traces(request, legacy=print_format == "legacy", notes=notes)


def filter_files(query: Query, names: Iterable[str], write: Callable[[str], object], *, traces: bool = False,
                 print_format: str | None = None, stdin: IO[bytes] | None = None,
                 deadline: Deadline | None = None) -> FilterReport:
    """`filter_dumps` over files by name (`-` is stdin), each opened when its turn comes."""
    report = FilterReport()

    def sources() -> Iterator[DumpReader]:
        for name in names:
            try:
                with open_dump(name, stdin) as stream:
                    yield DumpReader(name, stream)
            except OSError as exc:
                failed = DumpReport(name, error=read_error(exc))
                report.files.append(failed)

    return filter_dumps(query, sources(), write, traces=traces, print_format=print_format, report=report,
                        deadline=deadline)


def filter_dumps(query: Query, readers: Iterable[DumpReader], write: Callable[[str], object], *,
                 traces: bool = False, print_format: str | None = None,
                 report: FilterReport | None = None, deadline: Deadline | None = None) -> FilterReport:
    """Write the spans of ``readers`` that match ``query``; ``traces`` keeps whole traces.

    ``deadline`` stops the query (`QueryStopped`, carrying how far it got); what was written stays.
    """
    report = report if report is not None else FilterReport()
    table = new_attribute_table()
    render = formatter(print_format)
    batches = _batches(readers, table, report)
    if isinstance(query.root, Filter) and not traces:
        for batch in batches:
            keep = query.match_batch(batch, table, deadline)
            if any(keep):
                selected = select_spans(batch, keep)
                write(render(selected.request))
        return report
    store = SpanStore(table, max_spans=2**62)
    for batch in batches:
        store.consume_traces(batch)
    spansets = None
    if print_format is not None and query.is_pipeline:  # `select(…)` fields are shown with each span
        spansets = store.spansets(query, deadline)
        render = formatter(print_format, selected_notes(store, spansets))
    if traces:
        found = store.search_traces(query, deadline=deadline)
        ordinals = sorted(o for trace_id in found for o in store.trace_ordinals(trace_id))
    elif spansets is not None:
        ordinals = sorted({o for spanset in spansets for o in spanset.spans})
    else:
        ordinals = store.search(query, deadline).tolist()
    for request in stored_requests(store, ordinals, OUTPUT_CHUNK_SPANS):
        write(render(request))
    return report


def selected_notes(store: SpanStore, spansets: list) -> SpanNotes | None:
    """The `Selected:` lines of each span the spansets select fields of (None: no `select()`)."""
    from kubespan.store.engine_sources import selected_values

    values = selected_values(store.snapshot(), spansets)
    if not values:
        return None
    rows = store.span_rows(sorted(values))
    text = {(row.trace_id, row.span_id): "Selected:\n" + "".join(
        f"     -> {name}: {inert(_shown(value))}\n" for name, value in values[row.ordinal]) for row in rows}
    return lambda span: text.get((span.trace_id, span.span_id), "")


def _shown(value: tuple) -> str:
    """A selected value as TraceQL writes it: strings quoted, the rest as Tempo displays them."""
    return json.dumps(value[1], ensure_ascii=False) if value[0] == "str" else display(value)


def _batches(readers: Iterable[DumpReader], table: AttributeTable, report: FilterReport) -> Iterator[TraceBatch]:
    for reader in readers:
        report.files.append(reader.report)
        name = reader.report.name
        try:
            for request in reader.requests():
                batch, rejections = decode_request(request.SerializeToString(), table)
                if rejections.count:
                    report.rejected_spans += rejections.count
                    count, first = report.rejections.get(name, (0, rejections.message))
                    report.rejections[name] = (count + rejections.count, first)
                if batch.span_count:
                    yield batch
        except OSError as exc:  # a read error midway: keep what was read
            reader.report.error = read_error(exc)
