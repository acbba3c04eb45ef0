"""`kubespan serve`: the headless receiver, a drop-in for the Collector while debugging."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from kubespan.cli.api_options import add_api_options
from kubespan.cli.config import print_processing, service_options, start_service
from kubespan.cli.forward_options import (
    add_config_option,
    add_forward_options,
    add_processing_options,
)
from kubespan.cli.options import (
    add_output_options,
    add_receiver_options,
    add_store_options,
)
from kubespan.os_tuning import raise_open_files_limit, tune_malloc
from kubespan.service.options import OptionsLayer, service_config
from kubespan.service.service import Service
from kubespan.service.warnings import print_warnings

SIGNAL_POLL_S = 0.2
"""The main thread wakes this often: a signal delivered to one of grpc's threads only sets
a flag, and Python runs the handler once the main thread is back in the interpreter."""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="receive OTLP traces headless; print, dump or forward them",
        description="Receive OTLP traces without the TUI. Data goes to stdout, diagnostics to stderr.",
    )
    add_receiver_options(parser)
    add_output_options(parser)
    add_store_options(parser)  # serve keeps the index too: the stats line reports it
    add_api_options(parser)  # the query API over the store: kubespan.api
    add_config_option(parser)  # forwarding/processing options: kubespan.cli.forward_options
    add_processing_options(parser)
    add_forward_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    problem = output_conflict(args)
    if problem:
        print(f"kubespan serve: error: {problem}", file=sys.stderr)
        return 2
    tune_malloc()  # before the receivers start their threads
    raise_open_files_limit()
    options = service_options(args, OptionsLayer(store=args.max_spans > 0))
    service = Service(service_config(options))
    if service.store is None:
        report_empty_store(service)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    addresses = start_service(service)
    if addresses is None:
        return 1
    print_warnings(service.warnings)
    for name, bound in addresses.items():
        print(f"kubespan: OTLP/{name} listening on {bound}", file=sys.stderr, flush=True)
    if service.api_address:
        print(f"kubespan: query API (Tempo, Jaeger) listening on {service.api_address}", file=sys.stderr, flush=True)
    print_processing(options)
    _wait(stop, service, args.stats)
    service.shutdown()
    print(service.counters.report_line(), file=sys.stderr, flush=True)
    return 0


def output_conflict(args: argparse.Namespace) -> str | None:
    """Outputs that cannot share stdout: `--print` text would tear through `--jsonl` lines."""
    if args.jsonl and (args.print_spans or args.print_format):
        return ("--print and --jsonl both write to stdout; use --print with --dump FILE, "
                "or --jsonl alone")
    return None


STORE_KEYS = ("stored_spans", "evicted_spans", "traces", "store_memory_bytes")


def report_empty_store(service: Service) -> None:
    """`--max-spans 0` keeps nothing, but the stats line keeps its documented keys, at 0."""
    for name in STORE_KEYS:
        service.counters.add(name, 0)


def _wait(stop: threading.Event, service: Service, stats_every: float | None) -> None:
    """Block until a signal (or a closed stdout), reporting stats if asked."""
    threading.Thread(target=_watch_output, args=(service, stop), daemon=True).start()
    next_report = time.monotonic() + stats_every if stats_every else None
    while not stop.wait(SIGNAL_POLL_S if next_report is None else
                        max(0.0, min(SIGNAL_POLL_S, next_report - time.monotonic()))):
        if stats_every and next_report is not None and time.monotonic() >= next_report:
            print(service.counters.report_line(), file=sys.stderr, flush=True)
            next_report += stats_every


def _watch_output(service: Service, stop: threading.Event) -> None:
    service.broken_output.wait()
    stop.set()
