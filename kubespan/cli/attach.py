"""`kubespan attach [URL]`: the viewer over a remote Tempo-compatible API (a kubespan's `--api`, Grafana Tempo).

Bad options, an unreadable CA file and a remote that refuses our credentials are one-line
errors before the screen is taken (exit 2 for usage, 1 otherwise). A remote that is not up
yet is not an error: the viewer opens, says "unreachable, retrying" and fills in when it answers.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from kubespan.cli.options import positive_float, token, token_problem
from kubespan.remote.settings import (
    DEFAULT_LIMIT,
    DEFAULT_LOOKBACK_S,
    DEFAULT_MAX_BODY_MIB,
    DEFAULT_TIMEOUT_S,
    DEFAULT_URL,
    RemoteSettings,
    SettingsError,
    parse_header,
    parse_url,
)

DEFAULT_REFRESH_S = 2.0


def _header(value: str) -> tuple[str, str]:
    try:
        return parse_header(value)
    except SettingsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
    if not 1 <= number <= 100_000:
        raise argparse.ArgumentTypeError(f"must be 1..100000, got {value}")
    return number


def _duration(value: str) -> float:
    from kubespan.tui.time_window import TimeWindowError, parse_duration

    try:
        return parse_duration(value) / 1e9
    except (TimeWindowError, ValueError):
        raise argparse.ArgumentTypeError(f"not a duration: {value!r} (examples: 15m, 1h, 2d)") from None


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "attach",
        help="open the viewer over a running kubespan's --api or a Grafana Tempo",
        description="Browse the traces of another kubespan (its --api, default 127.0.0.1:3200) or of a Grafana "
                    "Tempo (single binary or a cluster's query-frontend) in the viewer. The trace list follows "
                    "new traces by searching the last --since every --refresh seconds; the filter is sent as "
                    "TraceQL (the shorthand is translated, and the translation is shown).",
    )
    parser.add_argument("url", nargs="?", default=DEFAULT_URL, metavar="URL",
                        help=f"the API's base URL (default {DEFAULT_URL}); https://USER:PASSWORD@host sends basic "
                             "auth (Grafana Cloud: the instance id and an access token)")
    auth = parser.add_argument_group("auth and TLS")
    auth.add_argument("--token", type=token, default=None,
                      help="send 'Authorization: Bearer TOKEN' (default: $KUBESPAN_TOKEN)")
    auth.add_argument("--header", action="append", default=[], type=_header, metavar="K=V",
                      help="send this header too (repeatable), e.g. X-Scope-OrgID=team-a or "
                           "Authorization='Basic …'")
    auth.add_argument("--ca-file", metavar="FILE", help="CA certificate(s) to verify an https:// remote")
    auth.add_argument("--client-cert", metavar="FILE",
                      help="client certificate (PEM) for a remote that asks for one (kubespan serve --tls-client-ca)")
    auth.add_argument("--client-key", metavar="FILE", help="its private key, if not in --client-cert")
    auth.add_argument("--insecure-skip-verify", action="store_true",
                      help="do not verify the remote's certificate (says so on stderr)")
    view = parser.add_argument_group("viewer")
    view.add_argument("--filter", metavar="QUERY", help="start with this filter applied")
    view.add_argument("--limit", type=_limit, default=DEFAULT_LIMIT, metavar="N",
                      help=f"traces asked for per search (default {DEFAULT_LIMIT}); the list says when more matched")
    view.add_argument("--since", type=_duration, default=DEFAULT_LOOKBACK_S, metavar="DURATION",
                      help="how far back the live list reaches (default 1h; a filter's own 'since' wins)")
    view.add_argument("--refresh", type=positive_float, default=DEFAULT_REFRESH_S, metavar="SECONDS",
                      help=f"seconds between searches for new traces (default {DEFAULT_REFRESH_S:g})")
    view.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                      help=f"per request (default {DEFAULT_TIMEOUT_S:g})")
    view.add_argument("--max-answer-mib", type=positive_float, default=DEFAULT_MAX_BODY_MIB, metavar="MIB",
                      help=f"largest answer read, e.g. a huge trace (default {DEFAULT_MAX_BODY_MIB:g})")
    view.add_argument("--save-dir", metavar="DIR", default=".", help="where 's' saves traces (default: .)")
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> RemoteSettings:
    """The remote settings the options describe; raises `SettingsError` (one line, no secret)."""
    url, url_headers = parse_url(args.url)
    secret = args.token
    if secret is None and os.environ.get("KUBESPAN_TOKEN"):
        problem = token_problem(os.environ["KUBESPAN_TOKEN"])
        if problem:
            raise SettingsError(f"KUBESPAN_TOKEN: {problem}")
        secret = os.environ["KUBESPAN_TOKEN"]
    if args.client_key and not args.client_cert:
        raise SettingsError("--client-key needs --client-cert")
    return RemoteSettings(url, token=secret, headers=url_headers + tuple(args.header), ca_file=args.ca_file,
                          client_cert=args.client_cert, client_key=args.client_key,
                          insecure_skip_verify=args.insecure_skip_verify, timeout_s=args.timeout, limit=args.limit,
                          lookback_s=args.since, max_body_bytes=int(args.max_answer_mib * 1024 * 1024))


def exposure_warnings(settings: RemoteSettings) -> list[str]:
    from kubespan.remote.client import is_loopback_url

    warnings = []
    credentials = settings.token or any(key.lower() == "authorization" for key, _ in settings.headers)
    if credentials and not settings.tls and not is_loopback_url(settings.url):
        warnings.append(f"warning: credentials go to {settings.display_url} in clear text (use https://)")
    if settings.insecure_skip_verify:
        warnings.append(f"warning: the certificate of {settings.display_url} is not verified "
                        "(--insecure-skip-verify)")
    return warnings


def build(args: argparse.Namespace, *, stderr=None) -> tuple[Any, Any] | int:
    """The viewer and its source as the options describe them, or an exit code after a one-line
    error on `stderr` (2: bad options or files; 1: the remote refused us). Warnings go there too."""
    from kubespan.remote.client import RemoteClient, RemoteError
    from kubespan.remote.detect import detect

    stderr = stderr or sys.stderr
    try:
        settings = settings_from(args)
        client = RemoteClient(settings)
    except SettingsError as exc:
        print(f"kubespan attach: {exc}", file=stderr)
        return 2
    warnings = exposure_warnings(settings)
    for warning in warnings:
        print(f"kubespan attach: {warning}", file=stderr)
    info = None
    try:
        info = detect(client)
    except RemoteError as exc:
        if not exc.unreachable:
            print(f"kubespan attach: {exc.message}", file=stderr)
            return 1
        print(f"kubespan attach: {exc.message}; the viewer retries until it answers", file=stderr)
    from kubespan.query import compile_query
    from kubespan.tui.attach_app import AttachApp
    from kubespan.tui.source.remote import RemoteSource

    source = RemoteSource(settings, compile_query=compile_query, client=client, info=info,
                          refresh_s=args.refresh, warnings=warnings)
    return AttachApp(source, initial_filter=args.filter or "", save_dir=args.save_dir), source


def run(args: argparse.Namespace) -> int:
    built = build(args)
    if isinstance(built, int):
        return built
    app, source = built
    previous = signal.signal(signal.SIGTERM, lambda *_: app.exit())
    try:
        app.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        source.close()
    return app.return_code or 0
