"""Local mode (`otel-ai serve`): an OTLP receiver, a store, an API and reports (docs/local.md)."""
