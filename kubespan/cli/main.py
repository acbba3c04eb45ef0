"""The `kubespan` command: subcommands dispatch to the front ends over the same core."""

from __future__ import annotations

import argparse
import sys

from kubespan import __version__
from kubespan.cli import attach, k8s, serve, tui
from kubespan.cli import filter as filter_command
from kubespan.cli import metrics as metrics_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubespan",
        description="Receive, explore, forward and dump OpenTelemetry traces from a terminal.",
    )
    parser.add_argument("--version", action="version", version=f"kubespan {__version__}")
    tui.add_main_options(parser)  # `kubespan [receiver options]` opens the viewer
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.add_parser(subparsers)
    tui.add_open_parser(subparsers)
    attach.add_parser(subparsers)
    filter_command.add_parser(subparsers)
    metrics_command.add_parser(subparsers)
    k8s.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command and _options_before(args.command, argv):
        # argparse lets the subcommand's defaults silently replace them: `kubespan --token T serve`
        # would run without a token. The values are not echoed: one of them may be a secret.
        parser.error(f"options go after the command: kubespan {args.command} [OPTIONS]")
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except BrokenPipeError:  # `kubespan … | head`: the reader has all it wanted
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail once more."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _options_before(command: str, argv: list[str]) -> bool:
    """True when an option precedes the first `command` token (the command or an option's value)."""
    return any(token.startswith("-") for token in argv[: argv.index(command)])
