"""The options `kubespan ARGV` would run with, without running it."""

from __future__ import annotations

from kubespan.cli.config import service_options
from kubespan.cli.main import build_parser
from kubespan.service.options import OptionsLayer, ServiceOptions


def cli_options(argv: list[str]) -> ServiceOptions:
    """Parse `argv` as the command line, merge `--config` under it, check it (exit 2 like kubespan)."""
    args = build_parser().parse_args(argv)
    return service_options(args, OptionsLayer(store=True))
