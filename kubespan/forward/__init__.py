"""Forwarding to Jaeger or any OTLP backend, like the Collector's OTLP exporters."""
