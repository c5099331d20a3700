"""The agent's own warnings: one stderr line per process and cause, a counter by kind, nothing raised.

Also: an app that never configured logging keeps its warnings on stderr under the agent, and
OTEL_AI_LOG_LEVEL's documented default matches what is exported.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_ai import agent_warnings
from otel_ai.runtime import logs as agent_logs
from tests.support.otlp_receiver import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryMetricReader]:
    """An SDK meter provider as the global one (the counter follows the global provider)."""
    agent_warnings.reset()
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: provider)
    yield reader
    agent_warnings.reset()
    provider.shutdown()


def _counts(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    found: dict[str, int] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == agent_warnings.METRIC:
                    assert metric.unit == "{warning}"
                    for point in metric.data.data_points:
                        assert set(point.attributes or {}) == {agent_warnings.WARNING_KIND}
                        found[str((point.attributes or {})[agent_warnings.WARNING_KIND])] = int(point.value)
    return found


def test_one_line_per_kind_and_cause_every_one_counted(reader: InMemoryMetricReader,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert agent_warnings.warn("pricing.unknown_model", "m1", "no price for model 'm1'") is True
    assert agent_warnings.warn("pricing.unknown_model", "m1", "no price for model 'm1'") is False
    assert agent_warnings.warn("pricing.unknown_model", "m2", "no price for model 'm2'") is True
    assert agent_warnings.warn("budget.server_unreachable", "m1", "budget server m1 did not answer") is True
    assert capsys.readouterr().err.splitlines() == [
        "otel-ai: no price for model 'm1'", "otel-ai: no price for model 'm2'",
        "otel-ai: budget server m1 did not answer",
    ]
    assert _counts(reader) == {"pricing.unknown_model": 3, "budget.server_unreachable": 1}
    assert agent_warnings.counts() == {"pricing.unknown_model": 3, "budget.server_unreachable": 1}


def test_an_unknown_kind_is_other_so_the_metric_stays_low_cardinality(reader: InMemoryMetricReader) -> None:
    for n in range(50):
        agent_warnings.warn(f"made.up.{n}", str(n), "x")
    agent_warnings.count("notify.failed")
    assert _counts(reader) == {"other": 50, "notify.failed": 1}


def test_counted_before_the_sdk_exists_then_flushed(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from opentelemetry.metrics import NoOpMeterProvider

    agent_warnings.reset()
    noop = NoOpMeterProvider()
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: noop)
    agent_warnings.warn("config.invalid", "a", "bad setting a")
    agent_warnings.count("config.invalid")
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: provider)
    assert _counts(reader) == {}
    agent_warnings.flush()
    agent_warnings.flush()  # nothing twice
    assert _counts(reader) == {"config.invalid": 2}
    agent_warnings.reset()


def test_a_broken_stderr_or_meter_never_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    agent_warnings.reset()

    class Broken:
        def write(self, text: str) -> int:
            raise OSError("closed")

        def flush(self) -> None:
            raise OSError("closed")

    def boom() -> Any:
        raise RuntimeError("no provider")

    monkeypatch.setattr(sys, "stderr", Broken())
    monkeypatch.setattr(metrics, "get_meter_provider", boom)
    assert agent_warnings.warn("other", "x", "text") is True
    agent_warnings.count("other")
    agent_warnings.flush()
    agent_warnings.reset()


def test_every_kind_used_in_the_package_is_declared_and_documented() -> None:
    """The kinds passed in otel_ai/ are the declared set, and docs/logs.md lists them all."""
    used: set[str] = set()
    for path in (ROOT / "otel_ai").rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r'agent_warnings\.(?:warn|count)\(\s*"([a-z_.]+)"', text))
    assert used and used <= agent_warnings.KINDS, used - agent_warnings.KINDS
    docs = (ROOT / "docs" / "logs.md").read_text()
    assert all(f"`{kind}`" in docs for kind in agent_warnings.KINDS)
    assert "`otel_ai.agent.warnings`" in docs and "`otel_ai.warning.kind`" in docs


# --- logging under the agent ---------------------------------------------------------------------------------

APP = """
import logging, sys
logging.getLogger("app").info("an info record")
logging.getLogger("app").warning("an app warning")
logging.getLogger("app").error("an app error")
print("app done", file=sys.stderr)
"""


def _run(receiver: OTLPReceiver, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BLRP_SCHEDULE_DELAY": "50",
                "OTEL_METRICS_EXPORTER": "none", "OTEL_TRACES_EXPORTER": "none", **extra})
    bin_dir = Path(sys.executable).parent
    result = subprocess.run([str(bin_dir / "opentelemetry-instrument"), sys.executable, str(app)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_an_unconfigured_apps_warnings_still_reach_stderr_once(tmp_path: Path) -> None:
    """Before: the OTLP handler on the root logger kept Python's last-resort output from running."""
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path)
        assert receiver.wait_for(lambda: any(e.body == "an app error" for e in receiver.log_entries()), 10)
        bodies = [e.body for e in receiver.log_entries()]
    lines = result.stderr.splitlines()
    assert lines.count("an app warning") == 1 and lines.count("an app error") == 1, result.stderr
    assert "an info record" not in result.stderr  # as without the agent: last resort is WARNING and up
    # Unset OTEL_AI_LOG_LEVEL, as documented: what the app's loggers let through (root at WARNING).
    assert "an app warning" in bodies and "an info record" not in bodies


def test_setting_the_level_exports_info_records(tmp_path: Path) -> None:
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path, OTEL_AI_LOG_LEVEL="info")
        assert receiver.wait_for(lambda: any(e.body == "an info record" for e in receiver.log_entries()), 10)
    assert "an info record" not in result.stderr  # the terminal shows what it showed before


def test_the_documented_default_is_what_the_code_does() -> None:
    settings, _ = agent_logs.parse_log_settings({})
    assert settings.level == logging.INFO and not settings.level_set  # from info up, root logger left alone
    for doc in (ROOT / "README.md", ROOT / "docs" / "logs.md"):
        [row] = [line for line in doc.read_text().splitlines() if line.startswith("| `OTEL_AI_LOG_LEVEL` |")]
        default = row.split("|")[2].strip()
        assert default.startswith("unset"), (doc.name, default)
        assert "`info`" not in default or "let" in default, (doc.name, default)
