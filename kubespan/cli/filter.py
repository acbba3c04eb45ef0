"""`kubespan filter QUERY [FILE ...]`: grep for OTLP/JSON-lines dumps, with the query language."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Iterator

from kubespan.query import QuerySyntaxError, compile_query
from kubespan.query.limits import DEFAULT_TIMEOUT_S, Deadline, QueryStopped


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "filter",
        help="write the spans of OTLP/JSON-lines dumps that match a query",
        description="Read OTLP/JSON lines (kubespan dumps, one span per line, or the Collector's file "
        "exporter, many spans per line) and write the matching spans, one per line. QUERY is the "
        "filter-bar shorthand (service=kubelet name=syncPod) or TraceQL ({ ... }).",
    )
    parser.add_argument("query", metavar="QUERY")
    parser.add_argument("files", metavar="FILE", nargs="*", help="dump files; '-' or none for stdin")
    parser.add_argument("--traces", action="store_true", help="write whole traces that contain a match")
    parser.add_argument("--print", dest="print_spans", action="store_true",
                        help="write the Collector's debug exporter text instead of JSON lines")
    parser.add_argument("--print-format", choices=["detailed", "legacy"], default=None, help="implies --print")
    parser.add_argument("--query-timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"stop a query running longer than this (default {DEFAULT_TIMEOUT_S:g}; 0: no limit)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        query = compile_query(args.query)
    except QuerySyntaxError as exc:
        print(f"kubespan filter: invalid query: {exc.message} at column {exc.column}", file=sys.stderr)
        print("  " + exc.caret(args.query).replace("\n", "\n  "), file=sys.stderr)
        return 2
    from kubespan.dumpfilter import filter_dumps

    print_format = args.print_format or ("detailed" if args.print_spans else None)
    out = sys.stdout
    deadline = Deadline(args.query_timeout)
    try:
        with contextlib.ExitStack() as stack:
            sources = list(_sources(args.files or ["-"], stack))
            report = filter_dumps(query, sources, out.write, traces=args.traces, print_format=print_format,
                                  deadline=deadline)
            out.flush()
    except QueryStopped as stopped:
        out.flush()
        print(f"kubespan filter: {stopped.message}; {stopped.progress.describe()} before it stopped "
              "(spans written so far stay written)", file=sys.stderr)
        return 1
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0
    except OSError as exc:
        print(f"kubespan filter: {exc}", file=sys.stderr)
        return 1
    for warning in report.warnings:
        print(f"kubespan filter: warning: {warning}", file=sys.stderr)
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    return value


def _sources(files: list[str], stack: contextlib.ExitStack) -> Iterator[tuple[str, object]]:
    for name in files:
        if name == "-":
            yield "<stdin>", sys.stdin.buffer
        else:
            yield name, stack.enter_context(open(name, "rb"))
