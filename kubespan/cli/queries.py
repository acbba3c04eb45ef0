"""Checks of the queries `serve --filter` and `--drop` apply at ingest, span by span.

Both refuse to start (exit 2) on a syntax error, with the column and a caret, and on
a query that needs whole traces (spanset `&&`, structural `>`/`>>`/…): spans arrive
a request at a time, so such a query cannot be decided when a span is received.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

TRACE_LEVEL_HINT = (
    "it needs whole traces (spanset && or a structural operator), but {option} decides span by span "
    "as requests arrive; use it in the viewer's filter bar, or on a dump with `kubespan filter`"
)


def check_ingest_query(option: str, text: str) -> None:
    """Exit 2 with a clear message if `text` cannot be applied per span by `option`."""
    from kubespan.query import QuerySyntaxError, compile_query

    try:
        query = compile_query(text)
    except QuerySyntaxError as exc:
        caret = exc.caret(text).replace("\n", "\n  ")
        refuse(f"{option}: invalid query: {exc.message} at column {exc.column}\n  {caret}")
    if not query.per_span:
        refuse(f"{option}: {text!r}: {TRACE_LEVEL_HINT.format(option=option)}")


def refuse(message: str) -> NoReturn:
    """Exit 2 with `kubespan: message` on stderr, like a usage error."""
    print(f"kubespan: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def timeout_seconds(text: str) -> float:
    """`--query-timeout` of `filter` and `metrics`: 0 or more seconds (0: no limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    return value
