"""The list in metric_names.py matches what the OpenTelemetry Prometheus exporter really prints."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from .metric_names import (
    AGENT_ATTRIBUTES,
    AGENT_METRICS,
    BASIC_SYSTEM_METRICS,
    DIRECT_SCRAPE_ONLY,
    FILESYSTEM_LABELS,
    FILESYSTEM_METRICS,
    GPU_LABELS,
    GPU_METRICS,
    PREVIOUS_NAMES,
    PRODUCED,
    SYSTEM_METRICS,
)

pytestmark = pytest.mark.timeout(120)

# The same steps that produced metric_names.py, in a fresh interpreter (the metric reader and the
# system-metrics instrumentor are process-global). NVML is a stand-in with one device, so the GPU names
# are rendered by the real exporter on machines without a GPU too.
_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time, types
    from collections import namedtuple
    os.environ["OTEL_AI_SYSTEM_METRICS"] = sys.argv[3]
    os.environ["OTEL_AI_SEMCONV"] = sys.argv[4]
    os.environ.pop("OTEL_PYTHON_SYSTEM_METRICS_EXCLUDED_METRICS", None)
    nvml = types.ModuleType("pynvml")
    nvml.nvmlInit = nvml.nvmlShutdown = lambda: None
    nvml.nvmlDeviceGetCount = lambda: 1
    nvml.nvmlDeviceGetHandleByIndex = lambda index: index
    nvml.nvmlDeviceGetName = lambda handle: "NVIDIA H200"
    nvml.nvmlDeviceGetUUID = lambda handle: "GPU-00000000-0000-0000-0000-000000000000"
    nvml.nvmlDeviceGetUtilizationRates = lambda handle: namedtuple("U", "gpu memory")(50, 20)
    nvml.nvmlDeviceGetMemoryInfo = lambda handle: namedtuple("M", "total free used")(100, 60, 40)
    nvml.nvmlDeviceGetTemperature = lambda handle, sensor: 60
    nvml.nvmlDeviceGetPowerUsage = lambda handle: 250000
    sys.modules["pynvml"] = nvml
    from prometheus_client import REGISTRY, generate_latest
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from otel_ai.system import SystemMetricsInstrumentor
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


def _exposition(metric_set: str, semconv: str = "current") -> str:
    instruments = [
        (name, unit, "counter" if unit in {"{USD}", "{request}", "{character}"} else "histogram")
        for name, unit in AGENT_METRICS
    ]
    attributes = sorted(AGENT_ATTRIBUTES)
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(instruments), json.dumps(attributes), metric_set, semconv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def exposition() -> str:
    return _exposition("full")


def _series(exposition: str) -> set[str]:
    return {
        line.split("{", 1)[0].split(" ", 1)[0] for line in exposition.splitlines() if line and not line.startswith("#")
    }


def test_every_listed_name_is_produced(exposition):
    assert PRODUCED - PREVIOUS_NAMES - _series(exposition) == set()


def test_the_previous_names_come_with_both_and_only_then_next_to_the_current_ones():
    both = _series(_exposition("basic", "both"))
    assert both >= PREVIOUS_NAMES
    assert "process_unix_file_descriptor_count" in both
    assert not PREVIOUS_NAMES & _series(_exposition("basic"))


def test_every_produced_name_is_listed(exposition):
    assert _series(exposition) - PRODUCED - DIRECT_SCRAPE_ONLY == set()
    # prometheus_client's own collectors share the registry on the direct path.
    assert _series(exposition) >= DIRECT_SCRAPE_ONLY


def test_attributes_become_the_listed_labels(exposition):
    line = next(line for line in exposition.splitlines() if line.startswith("otel_ai_client_requests_total{"))
    for label in AGENT_ATTRIBUTES.values():
        assert f'{label}="x"' in line


@pytest.mark.parametrize(
    ("names", "labels"), [(FILESYSTEM_METRICS, FILESYSTEM_LABELS), (GPU_METRICS, GPU_LABELS)], ids=["disk", "gpu"]
)
def test_system_attributes_become_the_listed_labels(exposition, names, labels):
    found: set[str] = set()
    for line in exposition.splitlines():
        if line.split("{", 1)[0] in names:
            found |= {pair.split("=", 1)[0] for pair in line.split("{", 1)[1].rsplit("}", 1)[0].split('",')}
    assert labels <= found, labels - found


def test_the_default_basic_set_is_the_listed_one():
    """OTEL_AI_SYSTEM_METRICS=basic (the default): what dashboards and alerts may rely on without configuration."""
    host = SYSTEM_METRICS | FILESYSTEM_METRICS
    assert _series(_exposition("basic")) & host == BASIC_SYSTEM_METRICS
