"""Command-line options shared by `kubespan`, `kubespan serve` and `kubespan open`."""

from __future__ import annotations

import argparse
import math
import os

from kubespan.api.cli_options import api_settings
from kubespan.receive.settings import (
    DEFAULT_GRPC,
    DEFAULT_HTTP,
    DEFAULT_MAX_RECV_MIB,
    ReceiverSettings,
    split_host_port,
)
from kubespan.runtime import DEFAULT_MAX_SPANS, RuntimeConfig
from kubespan.writers.stream import DEFAULT_QUEUE_MIB


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
    group.add_argument("--grpc", type=address, default=grpc_default, metavar="HOST:PORT",
                       help=f"OTLP/gRPC listen address, or 'off' (default {grpc_default or 'off'})")
    group.add_argument("--http", type=address, default=http_default, metavar="HOST:PORT",
                       help=f"OTLP/HTTP listen address, or 'off' (default {http_default or 'off'})")
    group.add_argument("--max-recv-mib", type=positive_float, default=DEFAULT_MAX_RECV_MIB, metavar="MIB",
                       help="largest request accepted, after decompression (default %(default)s)")
    group.add_argument("--token", type=token, default=None,
                       help="require 'Authorization: Bearer TOKEN' on both receivers (default: $KUBESPAN_TOKEN)")
    group.add_argument("--decode-workers", type=span_budget, default=None, metavar="N",
                       help="processes that decode requests beside this one, 0 for none (default: 0 with "
                            "the compiled decoder, else 2 on two cores or more)")
    group.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this certificate chain")
    group.add_argument("--tls-key", metavar="FILE", help="private key for --tls-cert")
    group.add_argument("--tls-client-ca", metavar="FILE", help="require client certificates signed by this CA")


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
                       type=positive_float, default=None, metavar="MIB",
                       help="also evict when the store uses more than MIB mebibytes (2^20 bytes); "
                            "--max-memory and --max-memory-mb are the same option")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("outputs")
    group.add_argument("--print", dest="print_spans", action="store_true",
                       help="print spans on stdout like the Collector's debug exporter (detailed)")
    group.add_argument("--print-format", choices=["detailed", "legacy"], default=None,
                       help="implies --print; 'legacy' is the older format (STRING(...), SPAN_KIND_SERVER)")
    group.add_argument("--jsonl", action="store_true", help="OTLP/JSON lines on stdout, one span per line")
    group.add_argument("--dump", metavar="FILE", help="append OTLP/JSON lines to FILE")
    group.add_argument("--writer-queue-mib", type=positive_float, default=DEFAULT_QUEUE_MIB, metavar="MIB",
                       help="request bytes each of --print/--jsonl/--dump may hold before the receivers "
                            "answer UNAVAILABLE / 503 (default %(default)s)")
    group.add_argument("--filter", metavar="QUERY", help="only spans matching QUERY reach --print/--jsonl/--dump")
    group.add_argument("--stats", type=positive_float, metavar="SECONDS",
                       help="print a JSON counters line to stderr every SECONDS")


def receiver_settings(args: argparse.Namespace) -> ReceiverSettings:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("kubespan: --tls-cert and --tls-key go together")
    if args.tls_client_ca and not args.tls_cert:
        raise SystemExit("kubespan: --tls-client-ca needs --tls-cert and --tls-key")
    return ReceiverSettings(
        grpc=args.grpc,
        http=args.http,
        max_recv_mib=args.max_recv_mib,
        token=args.token or _env_token(),
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
    )


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


def runtime_config(args: argparse.Namespace) -> RuntimeConfig:
    return RuntimeConfig(
        receivers=receiver_settings(args),
        print_format=args.print_format or ("detailed" if args.print_spans else None),
        jsonl=args.jsonl,
        dump=args.dump,
        filter=args.filter,
        writer_queue_mib=getattr(args, "writer_queue_mib", DEFAULT_QUEUE_MIB),
        max_spans=getattr(args, "max_spans", DEFAULT_MAX_SPANS),
        max_memory_mib=getattr(args, "max_memory_mib", None),
        decode_workers=decode_workers(args),
        api=api_settings(args) if hasattr(args, "api_default") else None,
    )
