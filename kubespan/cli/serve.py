"""`kubespan serve`: the headless receiver, a drop-in for the Collector while debugging."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from kubespan.cli.forward_options import (
    add_config_option,
    add_forward_options,
    add_processing_options,
    finish_runtime_config,
    print_processing,
)
from kubespan.cli.options import add_output_options, add_receiver_options, positive_float, runtime_config
from kubespan.resources import raise_open_files_limit, tune_malloc
from kubespan.runtime import DEFAULT_MAX_SPANS, Runtime, RuntimeConfig, print_warnings


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="receive OTLP traces headless; print, dump or forward them",
        description="Receive OTLP traces without the TUI. Data goes to stdout, diagnostics to stderr.",
    )
    add_receiver_options(parser)
    add_output_options(parser)
    add_store_options(parser)
    add_config_option(parser)  # forwarding/processing options: kubespan.cli.forward_options
    add_processing_options(parser)
    add_forward_options(parser)
    parser.set_defaults(run=run)


def add_store_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("store (off unless one of these is given)")
    group.add_argument("--max-spans", type=int, default=None, metavar="N",
                       help=f"keep up to N spans in memory, evicting the oldest (default with "
                            f"--max-memory-mb: {DEFAULT_MAX_SPANS})")
    group.add_argument("--max-memory-mb", type=positive_float, default=None, metavar="MB",
                       help="keep spans in memory within MB megabytes, evicting the oldest")


def serve_config(args: argparse.Namespace) -> RuntimeConfig:
    """The runtime config of `serve`: a store only when a store bound is given."""
    config = runtime_config(args)
    if args.max_spans is not None or args.max_memory_mb is not None:
        config.store = True
        config.max_spans = DEFAULT_MAX_SPANS if args.max_spans is None else args.max_spans
        config.max_memory_mb = args.max_memory_mb
    return finish_runtime_config(config, args)


def run(args: argparse.Namespace) -> int:
    tune_malloc()  # before the receivers start their threads
    raise_open_files_limit()
    runtime = Runtime(serve_config(args))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        addresses = runtime.start()
    except (OSError, RuntimeError, ValueError) as exc:
        runtime.stop()
        print(f"kubespan: cannot start receivers: {exc}", file=sys.stderr)
        return 1
    print_warnings(runtime.warnings)
    for name, bound in addresses.items():
        print(f"kubespan: OTLP/{name} listening on {bound}", file=sys.stderr, flush=True)
    print_processing(runtime)  # forwarding/processing summary: kubespan.cli.forward_options
    _wait(stop, runtime, args.stats)
    runtime.stop()
    print(runtime.counters.report_line(), file=sys.stderr, flush=True)
    return 0


def _wait(stop: threading.Event, runtime: Runtime, stats_every: float | None) -> None:
    """Block until a signal (or a closed stdout), reporting stats if asked."""
    threading.Thread(target=_watch_output, args=(runtime, stop), daemon=True).start()
    while not stop.wait(stats_every):
        if stats_every:
            print(runtime.counters.report_line(), file=sys.stderr, flush=True)


def _watch_output(runtime: Runtime, stop: threading.Event) -> None:
    runtime.broken_output.wait()
    stop.set()
