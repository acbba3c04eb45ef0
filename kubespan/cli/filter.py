"""`kubespan filter QUERY [FILE ...]`: grep for OTLP/JSON-lines dumps, with the query language."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from kubespan.cli.queries import timeout_seconds
from kubespan.query import QuerySyntaxError, compile_query
from kubespan.query.limits import DEFAULT_TIMEOUT_S, Deadline, QueryStopped


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "filter",
        help="write the spans of OTLP/JSON dumps that match a query",
        description="Read OTLP/JSON (kubespan dumps, one span per line; the Collector's file exporter, many "
        "spans per line; or whole JSON documents, pretty-printed or not) and write the matching spans, one "
        "per line. QUERY is the filter-bar shorthand (service=kubelet name=syncPod) or TraceQL ({ ... }). "
        "Exits 1 when a file cannot be read or holds no OTLP/JSON, 130 when interrupted.",
    )
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument("files", metavar="FILE", nargs="*", help="dump files; '-' or none for stdin")
    parser.add_argument("--traces", action="store_true", help="write whole traces that contain a match")
    parser.add_argument("--print", dest="print_spans", action="store_true",
                        help="write the Collector's debug exporter text instead of JSON lines; a TraceQL "
                             "select(…) adds a 'Selected:' block of its fields after each span")
    parser.add_argument("--print-format", choices=["detailed", "legacy"], default=None, help="implies --print")
    parser.add_argument("--query-timeout", type=timeout_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"stop a query running longer than this (default {DEFAULT_TIMEOUT_S:g}; 0: no limit)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except KeyboardInterrupt:
        try:  # keep the spans already matched
            sys.stdout.flush()
        except (KeyboardInterrupt, OSError, ValueError):
            _quiet_stdout()
        print("kubespan filter: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    try:
        query = compile_query(args.query)
    except QuerySyntaxError as exc:
        print(f"kubespan filter: invalid query: {exc.message} at column {exc.column}", file=sys.stderr)
        print("  " + exc.caret(args.query).replace("\n", "\n  "), file=sys.stderr)
        return 2
    from kubespan.dumpfilter import filter_files

    files = args.files or ["-"]
    if "-" in files and sys.stdin is not None and sys.stdin.isatty():
        print("kubespan filter: reading OTLP/JSON from stdin (the terminal); end with Ctrl-D, "
              "or name dump files", file=sys.stderr, flush=True)
    print_format = args.print_format or ("detailed" if args.print_spans else None)
    out = sys.stdout
    deadline = Deadline(args.query_timeout)
    try:
        report = filter_files(query, files, out.write, traces=args.traces, print_format=print_format,
                              deadline=deadline)
        out.flush()
    except QueryStopped as stopped:
        out.flush()
        print(f"kubespan filter: {stopped.message}; {stopped.progress.describe()} before it stopped "
              "(spans written so far stay written)", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    for warning in report.warnings():
        print(f"kubespan filter: warning: {warning}", file=sys.stderr)
    problems = report.problems()
    for problem in problems:
        print(f"kubespan filter: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail or complain."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
