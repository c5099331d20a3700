"""The list in metric_names.py matches what the OpenTelemetry Prometheus exporter really prints."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from .metric_names import AGENT_ATTRIBUTES, AGENT_METRICS, DIRECT_SCRAPE_ONLY, PRODUCED

pytestmark = pytest.mark.timeout(120)

# The same steps that produced metric_names.py, in a fresh interpreter (the metric reader and the
# system-metrics instrumentor are process-global).
_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from prometheus_client import REGISTRY, generate_latest
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider

    instruments = json.loads(sys.argv[1])
    attributes = {name: "x" for name in json.loads(sys.argv[2])}
    provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
    meter = provider.get_meter("otel_ai")
    for name, unit, kind in instruments:
        if kind == "histogram":
            meter.create_histogram(name, unit=unit).record(1.0, attributes)
        else:
            meter.create_counter(name, unit=unit).add(1.0, attributes)
    SystemMetricsInstrumentor().instrument(meter_provider=provider)
    time.sleep(0.2)
    print(generate_latest(REGISTRY).decode())
    """
)


@pytest.fixture(scope="module")
def exposition() -> str:
    instruments = [
        (name, unit, "counter" if unit in {"{USD}", "{request}", "{character}"} else "histogram")
        for name, unit in AGENT_METRICS
    ]
    attributes = sorted(AGENT_ATTRIBUTES)
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(instruments), json.dumps(attributes)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _series(exposition: str) -> set[str]:
    return {
        line.split("{", 1)[0].split(" ", 1)[0] for line in exposition.splitlines() if line and not line.startswith("#")
    }


def test_every_listed_name_is_produced(exposition):
    assert PRODUCED - _series(exposition) == set()


def test_every_produced_name_is_listed(exposition):
    assert _series(exposition) - PRODUCED - DIRECT_SCRAPE_ONLY == set()
    # prometheus_client's own collectors share the registry on the direct path.
    assert _series(exposition) >= DIRECT_SCRAPE_ONLY


def test_attributes_become_the_listed_labels(exposition):
    line = next(line for line in exposition.splitlines() if line.startswith("otel_ai_client_requests_total{"))
    for label in AGENT_ATTRIBUTES.values():
        assert f'{label}="x"' in line
