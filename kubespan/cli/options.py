"""Command-line options shared by `kubespan`, `kubespan serve` and `kubespan open`.

The options a Collector config file can also set are parsed with the `Given*` actions,
which record on `args.given_options` that the user typed them: those win over the file
even when they equal the default (`--grpc 127.0.0.1:4317` beats a file's `0.0.0.0:4317`).
"""

from __future__ import annotations

import argparse
import math
import os

from kubespan.receive.settings import (
    DEFAULT_GRPC,
    DEFAULT_HTTP,
    DEFAULT_MAX_RECV_MIB,
    split_host_port,
)
from kubespan.service.configs import DEFAULT_MAX_SPANS
from kubespan.service.options import OptionsLayer
from kubespan.writers.stream import DEFAULT_QUEUE_MIB


def _mark_given(namespace: argparse.Namespace, dest: str) -> None:
    given = getattr(namespace, "given_options", None)
    if given is None:
        given = set()
        namespace.given_options = given
    given.add(dest)


class Given(argparse.Action):
    """`store`, and remember that the option was given."""

    def __call__(self, parser, namespace, values, _option_string=None) -> None:
        setattr(namespace, self.dest, values)
        _mark_given(namespace, self.dest)


class GivenFlag(argparse.Action):
    """`store_true`, and remember that the option was given."""

    def __init__(self, option_strings, dest, default=False, help=None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, _option_string=None) -> None:
        setattr(namespace, self.dest, True)
        _mark_given(namespace, self.dest)


class GivenAppend(argparse.Action):
    """`append` (repeatable), and remember that the option was given."""

    def __call__(self, parser, namespace, values, _option_string=None) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])
        _mark_given(namespace, self.dest)


def given(args: argparse.Namespace) -> set[str]:
    """The dests of the options typed on the command line (of those parsed with `Given*`)."""
    return set(getattr(args, "given_options", None) or ())


def address(value: str) -> str | None:
    """`HOST:PORT`, or `off` to disable a receiver."""
    if value.lower() == "off":
        return None
    try:
        split_host_port(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def token(value: str) -> str:
    """A bearer token: printable ASCII without spaces. Errors never repeat the value."""
    problem = token_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def token_problem(value: str) -> str | None:
    if not value:
        return "the token is empty"
    if not all("!" <= char <= "~" for char in value):
        return "the token must be printable ASCII without spaces (it travels in an HTTP header and gRPC metadata)"
    return None


def positive_float(value: str) -> float:
    """A finite number above zero (fractions allowed); nan and inf are refused."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {value}")
    return number


def add_receiver_options(parser: argparse.ArgumentParser, *, grpc_default: str | None = DEFAULT_GRPC,
                         http_default: str | None = DEFAULT_HTTP) -> None:
    group = parser.add_argument_group("receivers")
    group.add_argument("--grpc", type=address, action=Given, default=grpc_default, metavar="HOST:PORT",
                       help=f"OTLP/gRPC listen address, or 'off' (default {grpc_default or 'off'})")
    group.add_argument("--http", type=address, action=Given, default=http_default, metavar="HOST:PORT",
                       help=f"OTLP/HTTP listen address, or 'off' (default {http_default or 'off'})")
    group.add_argument("--max-recv-mib", type=positive_float, action=Given, default=DEFAULT_MAX_RECV_MIB,
                       metavar="MIB", help="largest request accepted, after decompression (default %(default)s)")
    group.add_argument("--token", type=token, default=None,
                       help="require 'Authorization: Bearer TOKEN' on both receivers (default: $KUBESPAN_TOKEN)")
    group.add_argument("--decode-workers", type=span_budget, default=None, metavar="N",
                       help="processes that decode requests beside this one, 0 for none (default: 0 with "
                            "the compiled decoder, else 2 on two cores or more)")
    group.add_argument("--tls-cert", action=Given, metavar="FILE", help="serve TLS with this certificate chain")
    group.add_argument("--tls-key", action=Given, metavar="FILE", help="private key for --tls-cert")
    group.add_argument("--tls-client-ca", action=Given, metavar="FILE",
                       help="require client certificates signed by this CA")


def default_decode_workers() -> int:
    """Decode workers by default (proto_notes/receivers.md): with the compiled decoder none, as
    one process then ingests as fast as with workers, for less CPU; without it two, on two cores."""
    from kubespan.otlp import compiled

    return 2 if not compiled.available() and (os.cpu_count() or 1) >= 2 else 0


def span_budget(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return number


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """The span store's budget, shared by the viewer and `serve`."""
    group = parser.add_argument_group("span store")
    group.add_argument("--max-spans", type=span_budget, default=DEFAULT_MAX_SPANS, metavar="N",
                       help="spans kept in memory; the oldest are evicted (default %(default)s)")
    group.add_argument("--max-memory-mib", "--max-memory-mb", "--max-memory", dest="max_memory_mib",
                       type=positive_float, action=Given, default=None, metavar="MIB",
                       help="also evict when the store uses more than MIB mebibytes (2^20 bytes); "
                            "--max-memory and --max-memory-mb are the same option")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("outputs")
    group.add_argument("--print", dest="print_spans", action=GivenFlag,
                       help="print spans on stdout like the Collector's debug exporter (detailed)")
    group.add_argument("--print-format", choices=["detailed", "legacy"], action=Given, default=None,
                       help="implies --print; 'legacy' is the older format (STRING(...), SPAN_KIND_SERVER)")
    group.add_argument("--jsonl", action="store_true", help="OTLP/JSON lines on stdout, one span per line")
    group.add_argument("--dump", action=Given, metavar="FILE", help="append OTLP/JSON lines to FILE")
    group.add_argument("--writer-queue-mib", type=positive_float, default=DEFAULT_QUEUE_MIB, metavar="MIB",
                       help="request bytes each of --print/--jsonl/--dump may hold before the receivers "
                            "answer UNAVAILABLE / 503 (default %(default)s)")
    group.add_argument("--filter", metavar="QUERY", help="only spans matching QUERY reach --print/--jsonl/--dump")
    group.add_argument("--stats", type=positive_float, metavar="SECONDS",
                       help="print a JSON counters line to stderr every SECONDS")


def receiver_layer(args: argparse.Namespace) -> OptionsLayer:
    """The receiver options given on the command line, and the token (flag or environment)."""
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("kubespan: --tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        raise SystemExit("kubespan: --tls-client-ca needs --tls-cert and --tls-key")
    typed = given(args)
    layer = OptionsLayer(token=args.token or _env_token(), decode_workers=decode_workers(args))
    for name in ("grpc", "http", "max_recv_mib", "tls_cert", "tls_key", "tls_client_ca"):
        if name in typed:
            layer[name] = getattr(args, name)
    return layer


def _env_token() -> str | None:
    """`KUBESPAN_TOKEN`, checked like `--token`; unset or empty means no token."""
    value = os.environ.get("KUBESPAN_TOKEN")
    if not value:
        return None
    problem = token_problem(value)
    if problem:
        raise SystemExit(f"kubespan: KUBESPAN_TOKEN: {problem}")
    return value


def decode_workers(args: argparse.Namespace) -> int:
    chosen = getattr(args, "decode_workers", 0)
    return default_decode_workers() if chosen is None else chosen


def output_layer(args: argparse.Namespace) -> OptionsLayer:
    """The store and output options: those a config file can also set only when given."""
    typed = given(args)
    layer = OptionsLayer(jsonl=bool(args.jsonl), filter=args.filter,
                         writer_queue_mib=getattr(args, "writer_queue_mib", DEFAULT_QUEUE_MIB),
                         max_spans=getattr(args, "max_spans", DEFAULT_MAX_SPANS))
    if typed & {"print_spans", "print_format"}:
        layer["print_format"] = args.print_format or "detailed"
    if "dump" in typed:
        layer["dump"] = args.dump
    if "max_memory_mib" in typed:
        layer["max_memory_mib"] = args.max_memory_mib
    return layer
