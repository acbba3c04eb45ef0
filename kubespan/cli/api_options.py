"""The query API's command-line options, shared by `serve`, the viewer and `open`."""

from __future__ import annotations

import argparse
import math
from typing import Callable, TypeVar

from kubespan.api.settings import (
    DEFAULT_API,
    DEFAULT_CPU_INTERACTIVE_BURST_S,
    DEFAULT_CPU_SHARE,
    DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_QUERY_BYTES,
    DEFAULT_MAX_QUERY_MIB,
    DEFAULT_QUERY_TIMEOUT_S,
    ApiSettings,
)
from kubespan.cli.options import address
from kubespan.service.options import OptionsLayer

N = TypeVar("N", int, float)


def _number(parse: Callable[[str], N], kind: str, rule: str, ok: Callable[[N], bool]) -> Callable[[str], N]:
    """An option's type: the text read by ``parse`` ("must be KIND" when it cannot be), then checked
    by ``ok`` ("must be RULE")."""

    def read(value: str) -> N:
        try:
            number = parse(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {value!r}") from None
        if not ok(number):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {value}")
        return number

    return read


_seconds = _number(float, "a number of seconds", "a finite number above 0", lambda n: math.isfinite(n) and n > 0)
_count = _number(int, "a whole number", "1 or more", lambda n: n >= 1)
_share = _number(float, "a fraction of a core", "0 or more (cores)", lambda n: math.isfinite(n) and 0 <= n <= 64)
_cpu_seconds = _number(float, "a number of CPU seconds", "0 or more", lambda n: math.isfinite(n) and 0 <= n <= 3600)
_mib = _number(float, "a number of MiB", "a finite number of MiB above 0", lambda n: math.isfinite(n) and n > 0)


def add_api_options(parser: argparse.ArgumentParser, default: str | None = DEFAULT_API) -> None:
    group = parser.add_argument_group("query API (Tempo's HTTP API and Jaeger's query API)")
    group.add_argument("--api", type=address, default=argparse.SUPPRESS, metavar="HOST:PORT",
                       help=f"serve the query API here, or 'off' (default {default or 'off'}; a taken default "
                            "port is a warning, a taken chosen one an error); --token and TLS apply")
    group.add_argument("--query-timeout", type=_seconds, default=DEFAULT_QUERY_TIMEOUT_S, metavar="SECONDS",
                       help="stop a query after this long and answer 504 (default %(default)g)")
    group.add_argument("--api-max-queries", type=_count, default=DEFAULT_MAX_CONCURRENT, metavar="N",
                       help="queries running at once; more wait briefly, then get 429 (default %(default)s)")
    group.add_argument("--api-cpu-share", type=_share, default=DEFAULT_CPU_SHARE, metavar="FRACTION",
                       help="while spans arrive, all API queries together use at most this much of one core on "
                            "average, so ingestion never starves; 0 for no limit (default %(default)s)")
    group.add_argument("--api-interactive-burst", type=_cpu_seconds, default=DEFAULT_CPU_INTERACTIVE_BURST_S,
                       metavar="SECONDS",
                       help="CPU seconds that requests answering a key (kubespan attach's new filters, opened "
                            "traces) may use besides --api-cpu-share's budget, refilled at that share; 0: "
                            "none (default %(default)g)")
    group.add_argument("--max-query-bytes", type=_count, default=DEFAULT_MAX_QUERY_BYTES, metavar="N",
                       help="longest TraceQL query accepted, in bytes (default %(default)s, as Tempo)")
    group.add_argument("--max-query-mib", type=_mib, default=DEFAULT_MAX_QUERY_MIB, metavar="MIB",
                       help="intermediate results one API query may hold; past it the query stops with 413 "
                            "(default %(default)s)")
    parser.set_defaults(api_default=default)


def api_settings(args: argparse.Namespace) -> ApiSettings:
    explicit = hasattr(args, "api")
    address = args.api if explicit else getattr(args, "api_default", DEFAULT_API)
    return ApiSettings(address=address, explicit=explicit,
                       query_timeout_s=getattr(args, "query_timeout", DEFAULT_QUERY_TIMEOUT_S),
                       max_concurrent=getattr(args, "api_max_queries", DEFAULT_MAX_CONCURRENT),
                       max_query_bytes=getattr(args, "max_query_bytes", DEFAULT_MAX_QUERY_BYTES),
                       cpu_share=getattr(args, "api_cpu_share", DEFAULT_CPU_SHARE),
                       cpu_interactive_burst_s=getattr(args, "api_interactive_burst",
                                                       DEFAULT_CPU_INTERACTIVE_BURST_S),
                       max_query_memory_bytes=int(getattr(args, "max_query_mib", DEFAULT_MAX_QUERY_MIB) * (1 << 20)))


def api_layer(args: argparse.Namespace) -> OptionsLayer:
    """The query API's settings, for a command that has its options."""
    return OptionsLayer(api=api_settings(args)) if hasattr(args, "api_default") else OptionsLayer()
