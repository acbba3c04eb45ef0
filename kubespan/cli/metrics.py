"""`kubespan metrics QUERY [FILE…|-]`: TraceQL metrics over OTLP/JSON-lines dumps.

The dumps are loaded into a span store and the query runs on the same engine as the API
(`/api/metrics/query_range`). The window is the dumps' own time range unless `--start`,
`--end` or `--since` say otherwise; `--since` counts back from the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from typing import Any

from kubespan.cli.queries import timeout_seconds
from kubespan.query.limits import DEFAULT_TIMEOUT_S, Deadline, QueryStopped


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="TraceQL metrics (rate, quantiles, histograms …) over OTLP/JSON-lines dumps",
        description="Compute a TraceQL metrics query, as Grafana Tempo does, over the spans of OTLP/JSON-lines "
        "dumps: QUERY is a spanset and a function, e.g. '{ } | rate() by (resource.service.name)' or "
        "'{ resource.service.name = \"kubelet\" } | quantile_over_time(duration, .5, .99) by (name)'. "
        "Prints a table (one row per series, one column per step); --json gives Tempo's query_range answer.",
    )
    parser.__class__ = _IntermixedParser  # options may come after the files, as in `… FILE --json`
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument("files", metavar="FILE", nargs="*", help="dump files; '-' or none for stdin")
    parser.add_argument("--step", metavar="DURATION",
                        help="width of each step: 10s, 1m, or seconds (default: a round step giving about 12 "
                        "columns; with --json Tempo's default, about 240 points)")
    parser.add_argument("--since", metavar="DURATION",
                        help="only the last DURATION before the end (15m, 1h, 2d); default: all of the dumps")
    parser.add_argument("--start", metavar="TIME", help="window start: unix seconds or nanoseconds, or RFC 3339")
    parser.add_argument("--end", metavar="TIME", help="window end (default: the latest span's start)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print Tempo's query_range (or query) JSON answer")
    output.add_argument("--plot", action="store_true", help="draw the series as a line chart")
    parser.add_argument("--instant", action="store_true",
                        help="one value per series over the whole window (Tempo's /api/metrics/query)")
    parser.add_argument("--query-timeout", type=timeout_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"stop a query running longer than this (default {DEFAULT_TIMEOUT_S:g}; 0: no limit)")
    parser.set_defaults(run=run)


class _IntermixedParser(argparse.ArgumentParser):
    """Positionals and options in any order (argparse's intermixed parsing for this subcommand)."""

    _nested = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._nested:
            return super().parse_known_args(args, namespace)
        self._nested = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._nested = False


def run(args: argparse.Namespace) -> int:
    from kubespan.metrics import compile_metrics
    from kubespan.query import QuerySyntaxError

    try:
        compile_metrics(args.query)
    except QuerySyntaxError as exc:
        print(f"kubespan metrics: invalid query: {exc.message} at column {exc.column}", file=sys.stderr)
        print("  " + exc.caret(args.query).replace("\n", "\n  "), file=sys.stderr)
        return 2
    try:
        store, warnings = _load(args.files or ["-"])
    except OSError as exc:
        print(f"kubespan metrics: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"kubespan metrics: warning: {warning}", file=sys.stderr)
    try:
        return _evaluate(args, store)
    except QueryStopped as stopped:
        print(f"kubespan metrics: {stopped.message}; {stopped.progress.describe()} before it stopped", file=sys.stderr)
        return 1


def _evaluate(args: argparse.Namespace, store: Any) -> int:
    from kubespan.metrics.endpoints import (
        MetricsRequestError,
        parse_instant,
        parse_range,
    )
    from kubespan.metrics.engine import evaluate
    from kubespan.metrics.render import chart, readable_step, table
    from kubespan.metrics.series import instant_json, range_json

    snap = store.snapshot()
    if snap.stop == snap.floor and not (args.start and args.end):
        print(json.dumps({"series": [], "metrics": {"inspectedSpans": "0"}}) if args.json
              else "no series: the input holds no spans")
        return 0
    starts = snap.column("start")
    latest = int(starts.max()) if len(starts) else 0
    earliest = int(starts.min()) if len(starts) else 0
    end = args.end or str(latest)
    params = {"q": args.query, "end": end}
    if args.start:
        params["start"] = args.start
    elif args.since:
        params["since"] = args.since
    else:
        params["start"] = str(max(0, earliest - 1))
    if args.step:
        params["step"] = args.step
    now = max(time.time_ns(), latest)  # a dump is complete: no step is cut short as "still arriving"
    try:
        request = parse_instant(params, now) if args.instant else parse_range(params, now)
        if not args.step and not args.json and not args.instant:
            grid = request.grid
            params["step"] = str(readable_step(grid.end - grid.start) / 1e9)
            request = parse_range(params, now)
    except MetricsRequestError as exc:
        print(f"kubespan metrics: {exc}", file=sys.stderr)
        return 2
    deadline = Deadline(args.query_timeout)
    result = evaluate(request.query, snap, request.grid, deadline)
    timestamps = request.grid.timestamps_ms()
    metrics = {"inspectedSpans": str(result.inspected_spans), "completedJobs": 1, "totalJobs": 1}
    if args.json:
        body = instant_json(result.series, metrics) if args.instant else range_json(result.series, timestamps, metrics)
        print(json.dumps(body, indent=1))
        return 0
    seconds = _in_seconds(request.query)
    if args.plot:
        width = shutil.get_terminal_size((100, 24)).columns
        sys.stdout.write(chart(result.series, timestamps, width=width, seconds=seconds))
    else:
        sys.stdout.write(table(result.series, timestamps, seconds=seconds))
    return 0


def _in_seconds(query: Any) -> bool:
    """Whether the values are durations (quantiles, min, max, sum or avg of a duration)."""
    pipelines = query.pipelines()
    fields = [getattr(p.first, "field", None) for p in pipelines]
    ops = [getattr(p.first, "op", "") for p in pipelines]
    return bool(fields) and all(f is not None and f.field.kind == "duration" for f in fields) and \
        "histogram_over_time" not in ops


def _load(files: list[str]) -> tuple[Any, list[str]]:
    """The spans of the dumps in one store, and what was wrong with them (one line each)."""
    from kubespan.dumps import DumpReader, open_dump, read_error
    from kubespan.otlp.attributes import new_attribute_table
    from kubespan.otlp.decode import decode_request
    from kubespan.store import SpanStore

    table = new_attribute_table()
    store = SpanStore(table, max_spans=2**62)
    warnings: list[str] = []
    for name in files:
        try:
            with open_dump(name) as stream:
                reader = DumpReader("<stdin>" if name == "-" else name, stream)
                for request in reader.requests():
                    batch, rejections = decode_request(request.SerializeToString(), table)
                    if rejections.count:
                        warnings.append(f"{reader.report.name}: {rejections.message}")
                    if batch.span_count:
                        store.consume_traces(batch)
        except OSError as exc:
            raise OSError(f"{name}: {read_error(exc)}") from None
        warnings += [line for line in (reader.report.skipped(), reader.report.problem()) if line]
    return store, warnings
