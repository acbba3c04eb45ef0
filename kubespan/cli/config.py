"""Merge the options: kubespan's defaults, the front end's, a `--config` file, then the flags.

A flag typed on the command line wins over the file, even when it equals the default. The
result is checked (forwarding loops, queries that cannot run span by span) and its
components described on stderr before anything starts.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kubespan.cli.api_options import api_layer
from kubespan.cli.forward_options import processing_layer
from kubespan.cli.options import given, output_layer, receiver_layer
from kubespan.cli.queries import check_ingest_query, refuse
from kubespan.receive.settings import ListenError
from kubespan.service.options import OptionsLayer, ServiceOptions, merge

if TYPE_CHECKING:
    from kubespan.service.service import Service

FLAGS = {
    "grpc": ("--grpc",), "http": ("--http",), "max_recv_mib": ("--max-recv-mib",), "tls_cert": ("--tls-cert",),
    "tls_key": ("--tls-key",), "tls_client_ca": ("--tls-client-ca",), "max_memory_mib": ("--max-memory-mib",),
    "print_format": ("--print", "--print-format"), "dump": ("--dump",), "forwards": ("--forward", "--forward-env"),
    "sample_percent": ("--sample",), "sample_seed": ("--sample-seed",),
}
"""The flags behind each option a config file can set, for `…; --grpc from the command line wins`."""
DESTS = {"--print": "print_spans", "--print-format": "print_format", "--forward": "forward",
         "--forward-env": "forward_env", "--max-memory-mib": "max_memory_mib"}


def service_options(args: argparse.Namespace, front: OptionsLayer | None = None, *,
                    output_filter: bool = True) -> ServiceOptions:
    """Every option for this run: defaults < the command's own (`front`, and its listen addresses,
    off for `open`) < `--config` < flags given. `output_filter`: `--filter` selects what
    print/jsonl/dump write (in the viewer it is the filter bar's start instead)."""
    command = OptionsLayer(grpc=args.grpc, http=args.http)
    command.update(front or OptionsLayer())
    flags = OptionsLayer()
    flags.update(receiver_layer(args))
    flags.update(output_layer(args))
    flags.update(api_layer(args))
    flags.update(processing_layer(args))
    if not output_filter:
        flags.pop("filter", None)
    file_layer = _file_layer(getattr(args, "config", None), given(args))
    options = merge(ServiceOptions(), command, file_layer, flags)
    for text in options.drop:
        check_ingest_query("--drop", text)
    if options.filter:
        check_ingest_query("--filter", options.filter)
    refuse_loops(options)
    return options


def _file_layer(path: str | None, typed: set[str]) -> OptionsLayer:
    """The options a Collector config file sets; one stderr line per component says what it became."""
    if not path:
        return OptionsLayer()
    from kubespan.collector.loader import load_collector_config
    from kubespan.collector.schema import ConfigError

    try:
        loaded = load_collector_config(path)
    except ConfigError as exc:
        refuse(f"config {path}: {exc}")
    for warning in loaded.warnings:
        print(f"kubespan: config {path}: {warning}", file=sys.stderr)
    for note in loaded.components:
        replaced_by = [flag for option in note.options for flag in FLAGS.get(option, ())
                       if DESTS.get(flag, flag.removeprefix("--").replace("-", "_")) in typed]
        print(f"kubespan: config {path}: {note.line(list(dict.fromkeys(replaced_by)))}", file=sys.stderr,
              flush=True)
    return loaded.layer


def refuse_loops(options: ServiceOptions) -> None:
    """A target that is one of our own receivers would send every span around forever."""
    from kubespan.forward.loopcheck import own_receiver

    receivers = (("gRPC", options.grpc), ("HTTP", options.http))
    for target in options.forwards:
        receiver = own_receiver(target, receivers)
        if receiver:
            refuse(f"forward target {target.name} is kubespan's own {receiver} receiver: spans would loop forever")


def print_processing(options: ServiceOptions) -> None:
    """One stderr line per forward target and processor, secrets redacted."""
    for target in options.forwards:
        print(f"kubespan: forwarding to {target.describe()} as {target.name}", file=sys.stderr, flush=True)
    if options.sample_percent is not None:
        print(f"kubespan: sampling {options.sample_percent:g}% of traces (hash_seed {options.sample_seed})",
              file=sys.stderr, flush=True)
    for query in options.drop:
        print(f"kubespan: dropping spans matching {query}", file=sys.stderr, flush=True)


def start_service(service: Service) -> dict[str, str] | None:
    """Start every component and return what the receivers bound, or say in one line why not (None)."""
    try:
        return service.start()
    except ListenError as exc:  # a port in use: one line, no grpc log or errno
        print(f"kubespan: {exc}", file=sys.stderr)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"kubespan: cannot start receivers: {exc}", file=sys.stderr)
    return None
