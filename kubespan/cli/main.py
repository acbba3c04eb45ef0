"""The `kubespan` command: subcommands dispatch to the front ends over the same core."""

from __future__ import annotations

import argparse
import sys

from kubespan import __version__
from kubespan.cli import filter as filter_command
from kubespan.cli import k8s, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubespan",
        description="Receive, explore, forward and dump OpenTelemetry traces from a terminal.",
    )
    parser.add_argument("--version", action="version", version=f"kubespan {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve.add_parser(subparsers)
    filter_command.add_parser(subparsers)
    k8s.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from kubespan.cli.forward_options import given_dests  # which options beat --config

    args.given = given_dests(parser, sys.argv[1:] if argv is None else argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return 2
    return args.run(args)
