"""Build the processors a `RuntimeConfig` asks for, in the order they run."""

from __future__ import annotations

from kubespan.model import AttributeTable
from kubespan.stats import Counters


def build_processors(config, table: AttributeTable, counters: Counters) -> list:
    """`--drop` queries first, then the sampler (both per-span filters, so order only moves counts)."""
    processors: list = []
    if config.drop:
        from kubespan.process.drop import DropProcessor, compile_queries

        processors.append(DropProcessor(compile_queries(config.drop), table, counters))
    if config.sample_percent is not None:
        from kubespan.process.sampler import ProbabilisticSampler

        processors.append(ProbabilisticSampler(config.sample_percent, config.sample_seed, table, counters))
    return processors
