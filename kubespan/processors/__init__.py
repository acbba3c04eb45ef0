"""Processors that run before every output: sampling and dropping, like the Collector's."""
