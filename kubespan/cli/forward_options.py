"""Command-line options for forwarding, processing and `--config`, and how they meet the file.

`finish_runtime_config(config, args)` completes the `RuntimeConfig` built from the
receiver/output flags: forward targets, sampler, drop queries, then the Collector
config file, where every option given on the command line wins over the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from kubespan.forward.settings import (
    ForwardSettings,
    QueueSettings,
    RetrySettings,
    parse_header,
    parse_queue_size,
)


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
    group.add_argument("--sample", type=_percent, metavar="PERCENT",
                       help="keep PERCENT of traces, decision for decision like the Collector's "
                            "probabilistic_sampler (hash_seed mode)")
    group.add_argument("--sample-seed", type=_seed, default=0, metavar="N", help="the sampler's hash_seed (default 0)")
    group.add_argument("--drop", action="append", default=[], metavar="QUERY",
                       help="drop spans matching QUERY at ingest (repeatable); counted as dropped_spans")


def add_forward_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("forwarding (like the Collector's OTLP exporters)")
    group.add_argument("--forward", action="append", default=[], metavar="URL",
                       help="forward to grpc://HOST:4317, grpcs://..., http://HOST:4318 or https://... (repeatable)")
    group.add_argument("--forward-header", action="append", default=[], type=_header, metavar="K=V",
                       help="header sent with every forwarded request, e.g. 'Authorization=Bearer ...'")
    group.add_argument("--forward-compression", choices=["gzip", "none"], default=None,
                       help="compression of forwarded requests (default gzip; none for loopback targets)")
    group.add_argument("--forward-ca", metavar="FILE", help="CA certificate(s) to verify grpcs:// and https:// backends")
    group.add_argument("--forward-insecure-skip-verify", action="store_true",
                       help="do not verify the backend's certificate (https:// only)")
    group.add_argument("--forward-timeout", type=_seconds, default=5.0, metavar="SECONDS",
                       help="timeout of each attempt (default 5)")
    group.add_argument("--forward-queue", type=_queue, default=(1000, "requests"), metavar="SIZE",
                       help="queue per target: N requests (default 1000), or Nspans; a full queue drops and counts")
    group.add_argument("--forward-give-up", type=_seconds, default=300.0, metavar="SECONDS",
                       help="stop retrying a request after SECONDS (default 300; 0 = never)")
    group.add_argument("--forward-env", action="store_true",
                       help="without --forward, forward to $OTEL_EXPORTER_OTLP_ENDPOINT (with its _HEADERS etc.)")


def forward_targets(args: argparse.Namespace) -> list[ForwardSettings]:
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
            timeout=target.timeout if from_env and "forward_timeout" not in args.given else args.forward_timeout,
            tls=tls,
            retry=RetrySettings(max_elapsed_time=args.forward_give_up),
            queue=QueueSettings(size=size, sizer=sizer, consumers=target.queue.consumers),
        ))
    return out


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


def finish_runtime_config(config, args: argparse.Namespace):
    """Add forwarding/processing flags, then the `--config` file under the flags."""
    given = getattr(args, "given", None)
    if given is None:
        given = args.given = set()
    config.forwards = forward_targets(args)
    config.sample_percent = args.sample
    config.sample_seed = args.sample_seed
    config.drop = list(args.drop)
    _check_queries(config)
    if getattr(args, "config", None):
        from kubespan.collector.loader import apply_update, load_collector_config
        from kubespan.collector.schema import ConfigError

        try:
            update = load_collector_config(args.config)
        except ConfigError as exc:
            _refuse(f"config {args.config}: {exc}")
        for warning in update.warnings:
            print(f"kubespan: config {args.config}: {warning}", file=sys.stderr)
        apply_update(config, update, given)
        for note in update.components:  # one line per component: what it became
            print(f"kubespan: config {args.config}: {note.line()}", file=sys.stderr, flush=True)
    _refuse_loops(config)
    return config


def _refuse_loops(config) -> None:
    """A target that is one of our own receivers would send every span around forever."""
    from kubespan.forward.loopcheck import own_receiver

    receivers = (("gRPC", config.receivers.grpc), ("HTTP", config.receivers.http))
    for target in config.forwards:
        receiver = own_receiver(target, receivers)
        if receiver:
            _refuse(f"forward target {target.name} is kubespan's own {receiver} receiver: spans would loop forever")


def print_processing(runtime) -> None:
    """One stderr line per forward target and processor, secrets redacted."""
    config = runtime.config
    for forwarder in runtime.forwarders:
        print(f"kubespan: forwarding to {forwarder.settings.describe()} as {forwarder.settings.name}",
              file=sys.stderr, flush=True)
    if config.sample_percent is not None:
        print(f"kubespan: sampling {config.sample_percent:g}% of traces (hash_seed {config.sample_seed})",
              file=sys.stderr, flush=True)
    for query in config.drop:
        print(f"kubespan: dropping spans matching {query}", file=sys.stderr, flush=True)


def _check_queries(config) -> None:
    """Refuse at startup a `--drop` or `--filter` query that cannot be applied span by span."""
    from kubespan.cli.queries import check_ingest_query

    for text in config.drop:
        check_ingest_query("--drop", text)
    if config.filter:
        check_ingest_query("--filter", config.filter)


def _refuse(message: str) -> None:
    """Exit 2 with a clear message, like a usage error (and like the Collector on a bad config)."""
    print(f"kubespan: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def given_dests(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The dests of the options actually present in `argv` (not defaults)."""
    saved = []
    parsers = _all_parsers(parser)
    for each in parsers:
        saved.append((each, dict(each._defaults), [(a, a.default) for a in each._actions]))
        each._defaults.clear()
        for action in each._actions:
            action.default = argparse.SUPPRESS
    try:
        namespace, _ = parser.parse_known_args(argv)
        return set(vars(namespace))
    except SystemExit:
        return set()
    finally:
        for each, defaults, actions in saved:
            each._defaults.update(defaults)
            for action, default in actions:
                action.default = default


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_all_parsers(sub))
    return found
