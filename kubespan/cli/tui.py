"""`kubespan` (no subcommand) and `kubespan open FILE...`: the live terminal UI."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys

from kubespan.cli.api_options import add_api_options
from kubespan.cli.config import service_options, start_service
from kubespan.cli.forward_options import add_config_option, add_forward_options, add_processing_options
from kubespan.cli.options import Given, add_receiver_options, add_store_options, positive_float
from kubespan.os_tuning import raise_open_files_limit, tune_malloc
from kubespan.service.options import OptionsLayer, ServiceOptions, service_config
from kubespan.service.service import Service


def add_tui_options(parser: argparse.ArgumentParser) -> None:
    """Options of the TUI, shared by the top-level command and `open`."""
    add_store_options(parser)
    group = parser.add_argument_group("viewer")
    group.add_argument("--filter", metavar="QUERY", help="start with this filter applied")
    group.add_argument("--dump", action=Given, metavar="FILE",
                       help="also append every received span to FILE as OTLP/JSON lines")
    group.add_argument("--save-dir", metavar="DIR", default=".", help="where 's' saves traces (default: .)")
    parser.set_defaults(print_spans=False, print_format=None, jsonl=False, stats=None)


def add_core_options(parser: argparse.ArgumentParser) -> None:
    """What `serve` takes besides its stdout outputs: forwarding, processing, `--config`."""
    add_config_option(parser)
    add_processing_options(parser)
    add_forward_options(parser)


def add_demo_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("demo")
    group.add_argument("--demo", action="store_true",
                       help="feed the viewer a simulated k3d cluster through its own OTLP/gRPC receiver")
    group.add_argument("--demo-rate", type=positive_float, default=None, metavar="SPANS",
                       help="demo spans per second (default: the cluster's own pace, in real time)")


def add_main_options(parser: argparse.ArgumentParser) -> None:
    """The top-level parser takes the receiver and viewer options when no subcommand is given."""
    add_receiver_options(parser)
    add_api_options(parser)
    add_tui_options(parser)
    add_core_options(parser)
    add_demo_options(parser)
    parser.set_defaults(run=run, files=[])


def add_open_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "open",
        help="open OTLP/JSON dumps in the viewer ('-' reads stdin)",
        description="Load OTLP/JSON files (kubespan --dump, the Collector's file exporter, or whole JSON "
                    "documents such as Tempo's trace answers) into the viewer. A file that cannot be read or "
                    "holds no OTLP/JSON is refused before the screen is taken (exit 1). "
                    "With --grpc/--http it also listens for new spans.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="OTLP/JSON file, or '-' for stdin (piped)")
    add_receiver_options(parser, grpc_default=None, http_default=None)
    add_api_options(parser, default=None)
    add_tui_options(parser)
    add_core_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files = list(getattr(args, "files", []) or [])
    refused = _refuse_files(files)
    if refused:
        message, code = refused
        print(f"kubespan open: {message}", file=sys.stderr)
        return code
    from kubespan.tui.factory import local_app

    tune_malloc()  # before the receivers start their threads
    raise_open_files_limit()
    # --filter is the viewer's initial filter here, not an output filter
    options = service_options(args, OptionsLayer(store=True), output_filter=False)
    options = skip_stdout_exporters(options, getattr(args, "config", None))
    problem = demo_problem(args, options)
    if problem:
        print(f"kubespan: {problem}", file=sys.stderr)
        return 2
    runtime = Service(service_config(options))
    assert runtime.store is not None
    runtime.store.index_ahead()
    if start_service(runtime) is None:
        return 1
    stdin = _take_piped_stdin() if "-" in files else None
    loader = _dump_loader(files, runtime, stdin) if files else None
    demo = start_demo(args, runtime)
    app = local_app(
        runtime.store,
        counters=runtime.counters,
        addresses={**runtime.addresses, **({"api": runtime.api_address} if runtime.api_address else {})},
        warnings=runtime.warnings,
        loader=loader,
        label=", ".join(files) or ("demo" if demo else ""),
        initial_filter=args.filter or "",
        save_dir=args.save_dir,
        forward_status=lambda: [forwarder.status() for forwarder in runtime.forwarders],
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: app.exit())
    try:
        app.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if demo is not None:
            demo.stop()
        runtime.shutdown()
    print(runtime.counters.report_line(), file=sys.stderr, flush=True)
    return app.return_code or 0


def _refuse_files(files: list[str]) -> tuple[str, int] | None:
    """Why `open` cannot take these files, and its exit code, before the screen is taken.

    A terminal on stdin for `-` would leave the viewer waiting for input it cannot get while it
    holds the keyboard. A file that cannot be read, or holds no OTLP/JSON, would open an empty
    viewer. Piped stdin is not checked: it may be a live stream.
    """
    from kubespan.dumps import check_dump

    if "-" in files and (sys.stdin is None or sys.stdin.isatty()):
        return ("'-' reads a dump from stdin, which is the terminal; pipe one in "
                "(kubespan open - < spans.jsonl) or name the file", 2)
    for name in dict.fromkeys(files):
        if name != "-":
            problem = check_dump(name)
            if problem:
                return problem, 1
    return None


def _dump_loader(files: list[str], runtime: Service, stdin):
    """The viewer's background loader for `kubespan open FILE...`."""
    from kubespan.dumps import load_dumps

    def loader(progress):
        return load_dumps(files, runtime.pipeline, progress, stdin=stdin)

    return loader


def skip_stdout_exporters(options: ServiceOptions, path: str | None) -> ServiceOptions:
    """The viewer owns the terminal: a config file's `debug`/`logging` exporter does not print.

    It would write over the screen. The spans are in the viewer instead; `kubespan serve
    --config FILE` prints them. Said once on stderr, before the screen is taken.
    """
    if not (options.print_format or options.jsonl):
        return options
    print(f"kubespan: config {path}: the debug/logging exporter does not print in the viewer "
          "(it would draw over the screen); its spans are shown in the viewer, "
          f"and `kubespan serve --config {path}` prints them", file=sys.stderr, flush=True)
    return dataclasses.replace(options, print_format=None, jsonl=False)


def demo_problem(args: argparse.Namespace, options: ServiceOptions) -> str | None:
    """Why `--demo` cannot run with these options, if it cannot."""
    if not getattr(args, "demo", False):
        return None
    if not options.grpc:
        return "--demo sends to the OTLP/gRPC receiver; do not turn it off with --grpc off"
    if options.tls_cert:
        return "--demo sends plaintext OTLP/gRPC; it does not combine with --tls-cert"
    return None


def start_demo(args: argparse.Namespace, runtime: Service):
    """Start the demo feed into the runtime's own gRPC receiver when `--demo` is given."""
    if not getattr(args, "demo", False):
        return None
    from kubespan.k8s.feed import DemoFeed, loopback_endpoint

    endpoint = loopback_endpoint(runtime.addresses["grpc"])
    return DemoFeed(endpoint, rate=args.demo_rate, token=runtime.config.receivers[0].token).start()


def _take_piped_stdin():
    """Keep a piped stdin for the loader and give the UI the terminal on fd 0."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    data = os.fdopen(os.dup(0), "rb")
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return data
    os.dup2(tty, 0)
    os.close(tty)
    sys.stdin = open(0, "r", closefd=False)  # noqa: SIM115 - the process keeps it
    return data
