"""Command-line options for forwarding, processing and `--config`, as an options layer."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import NoReturn

from kubespan.cli.options import Given, GivenAppend, GivenFlag, given
from kubespan.forward.settings import (
    ForwardSettings,
    QueueSettings,
    RetrySettings,
    parse_header,
    parse_queue_size,
)
from kubespan.service.options import OptionsLayer


def _header(value: str) -> tuple[str, str]:
    try:
        return parse_header(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _queue(value: str) -> tuple[int, str]:
    try:
        return parse_queue_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _percent(value: str) -> float:
    number = float(value)
    if not 0 <= number:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return number


def _seed(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"must be 0..4294967295 (a uint32, like hash_seed), got {value}")
    return number


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="run an OpenTelemetry Collector config file (otel-collector.yaml); flags win over it")


def add_processing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("processing (before the store and every output)")
    group.add_argument("--sample", type=_percent, action=Given, metavar="PERCENT",
                       help="keep PERCENT of traces, decision for decision like the Collector's "
                            "probabilistic_sampler (hash_seed mode)")
    group.add_argument("--sample-seed", type=_seed, action=Given, default=0, metavar="N",
                       help="the sampler's hash_seed (default 0)")
    group.add_argument("--drop", action="append", default=[], metavar="QUERY",
                       help="drop spans matching QUERY at ingest (repeatable); counted as dropped_spans")


def add_forward_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("forwarding (like the Collector's OTLP exporters)")
    group.add_argument("--forward", action=GivenAppend, default=[], metavar="URL",
                       help="forward to grpc://HOST:4317, grpcs://..., http://HOST:4318 or https://... (repeatable)")
    group.add_argument("--forward-header", action="append", default=[], type=_header, metavar="K=V",
                       help="header sent with every forwarded request, e.g. 'Authorization=Bearer ...'")
    group.add_argument("--forward-compression", choices=["gzip", "none"], default=None,
                       help="compression of forwarded requests (default gzip; none for loopback targets)")
    group.add_argument("--forward-ca", metavar="FILE",
                       help="CA certificate(s) to verify grpcs:// and https:// backends")
    group.add_argument("--forward-insecure-skip-verify", action="store_true",
                       help="do not verify the backend's certificate (https:// only)")
    group.add_argument("--forward-timeout", type=_seconds, action=Given, default=5.0, metavar="SECONDS",
                       help="timeout of each attempt (default 5)")
    group.add_argument("--forward-queue", type=_queue, default=(1000, "requests"), metavar="SIZE",
                       help="queue per target: N requests (default 1000), or Nspans; a full queue drops and counts")
    group.add_argument("--forward-give-up", type=_seconds, default=300.0, metavar="SECONDS",
                       help="stop retrying a request after SECONDS (default 300; 0 = never)")
    group.add_argument("--forward-env", action=GivenFlag,
                       help="without --forward, forward to $OTEL_EXPORTER_OTLP_ENDPOINT (with its _HEADERS etc.)")


def forward_targets(args: argparse.Namespace) -> tuple[ForwardSettings, ...]:
    """The targets the flags describe (`--forward`, or the environment with `--forward-env`)."""
    targets = [_forward_target(url) for url in args.forward]
    from_env = not targets and args.forward_env
    if from_env:
        from kubespan.forward.env import settings_from_env

        try:
            env_target = settings_from_env(os.environ)
        except ValueError as exc:
            _refuse(f"--forward-env: {exc}")
        if env_target is None:
            _refuse("--forward-env: OTEL_EXPORTER_OTLP_ENDPOINT is not set")
        targets.append(env_target)
    size, sizer = args.forward_queue
    out = []
    for target in targets:
        tls = target.tls
        if not tls.insecure:
            tls = dataclasses.replace(tls, ca_file=args.forward_ca or tls.ca_file,
                                      insecure_skip_verify=args.forward_insecure_skip_verify)
            if target.protocol == "grpc" and tls.insecure_skip_verify:
                _refuse("--forward-insecure-skip-verify works for https:// only "
                        "(grpcio cannot skip verification); use --forward-ca")
        out.append(target.with_options(
            headers=target.headers + tuple(args.forward_header),
            compression=args.forward_compression or target.compression,
            timeout=target.timeout if from_env and "forward_timeout" not in given(args) else args.forward_timeout,
            tls=tls,
            retry=RetrySettings(max_elapsed_time=args.forward_give_up),
            queue=QueueSettings(size=size, sizer=sizer, consumers=target.queue.consumers),
        ))
    return tuple(out)


def _forward_target(url: str) -> ForwardSettings:
    """One `--forward URL`: refused in one line naming the URL (no usage text), near-misses warned."""
    from kubespan.forward.urls import shown, url_warnings

    try:
        target = ForwardSettings.from_url(url)
    except ValueError as exc:
        _refuse(f"--forward: {exc}")
    for warning in url_warnings(url):
        print(f"kubespan: --forward {shown(url)}: {warning}", file=sys.stderr, flush=True)
    return target


def processing_layer(args: argparse.Namespace) -> OptionsLayer:
    """Forwarding and processing options: those a config file can also set only when given."""
    typed = given(args)
    layer = OptionsLayer(drop=tuple(args.drop))
    if typed & {"forward", "forward_env"}:
        layer["forwards"] = forward_targets(args)
    if "sample" in typed:
        layer["sample_percent"] = args.sample
    if "sample_seed" in typed:
        layer["sample_seed"] = args.sample_seed
    return layer


def _refuse(message: str) -> NoReturn:
    """Exit 2 with a clear message, like a usage error (and like the Collector on a bad config)."""
    print(f"kubespan: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)
