"""Running an OpenTelemetry Collector config file (`--config otel-collector.yaml`) unchanged."""
