"""kubespan: receive, index, show, forward and dump OpenTelemetry traces from a terminal."""

__version__ = "0.1.0"
