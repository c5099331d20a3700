"""Prometheus exposition without a collector: the agent's metrics at `/metrics` of the app itself.

`OTEL_METRICS_EXPORTER=prometheus` (the OpenTelemetry exporter) serves them on its own port
(`OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`, default localhost:9464). `OTEL_METRICS_EXPORTER=otel_ai_prometheus`
registers the same reader without a server, for apps that mount `metrics_app()` on their own port.
Both feed the default `prometheus_client` registry, so names are identical either way.
"""

from __future__ import annotations

from opentelemetry.exporter.prometheus import PrometheusMetricReader  # the 'prometheus' extra


class MountedPrometheusMetricReader(PrometheusMetricReader):
    """The OpenTelemetry Prometheus reader, without the HTTP server: the app serves `/metrics`."""
