"""Budgets in one process (otel_ai/budgets/): settings, calendar periods, threshold notices
exactly once per period, blocking, gauges, and installation through the calls seam.

The clock is injected (a list holding unix seconds), so periods roll over without waiting; the
notifications are collected by a dispatcher installed with `notify.set_dispatcher`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded, ConfigError
from otel_ai.genai import hooks as calls
from otel_ai.notify import notification as notify
from otel_ai.runtime.settings import Settings

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc).timestamp()  # a Tuesday
CHAT = calls.CallScope("openai", "chat", "gpt-4o-mini", None)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def facts(cost: float, scope: calls.CallScope = CHAT) -> calls.CallFacts:
    return calls.CallFacts(scope, cost, 10, 10, 0, False)


@pytest.fixture(autouse=True)
def _clean_seam() -> Iterator[None]:
    yield
    B.uninstall()
    calls.SEAM.gates = ()
    calls.SEAM.listeners = ()


def budget(**kw: Any) -> B.Budget:
    return B.Budget(**{"name": "daily", "limit_usd": 1.0, **kw})


# -- settings ----------------------------------------------------------------------------------------------


def test_inline_json_is_read_with_defaults() -> None:
    found, problems = B.parse_budgets(json.dumps([
        {"name": "all", "limit_usd": 10},
        {"name": "gpt", "scope": {"provider": "openai", "model": "gpt-4o-mini", "task_type": "summarize",
                                  "service": "api"},
         "period": "month", "limit_usd": 2.5, "warn_at": [0.8, 0.5], "action": "block", "timezone": "Europe/Paris"},
    ]))
    assert problems == []
    first, second = found
    assert first == B.Budget(name="all", limit_usd=10.0, period="day", scope={}, warn_at=(0.5, 0.8), action="alert")
    assert second.scope == {"provider": "openai", "model": "gpt-4o-mini", "task_type": "summarize", "service": "api"}
    assert (second.period, second.limit_usd, second.action, second.timezone) == ("month", 2.5, "block", "Europe/Paris")
    assert second.thresholds == (0.5, 0.8, 1.0)


def test_a_yaml_file_and_a_json_file_are_read(tmp_path: Path) -> None:
    yaml_file = tmp_path / "budgets.yaml"
    yaml_file.write_text("budgets:\n  - name: weekly\n    period: week\n    limit_usd: 5\n    warn_at: [0.5]\n")
    json_file = tmp_path / "budgets.json"
    json_file.write_text(json.dumps([{"name": "monthly", "period": "month", "limit_usd": 50}]))
    assert B.parse_budgets(str(yaml_file)) == ([B.Budget("weekly", 5.0, "week", {}, (0.5,))], [])
    assert B.parse_budgets(str(json_file))[0][0].name == "monthly"


@pytest.mark.parametrize(("entry", "says"), [
    ({"name": "a", "limit_usd": 0}, "'limit_usd' must be a number greater than 0"),
    ({"name": "a", "limit_usd": "5"}, "'limit_usd' must be a number"),
    ({"name": "a", "limit_usd": 1, "period": "year"}, "'period' is 'year', not one of: day, week, month"),
    ({"name": "a", "limit_usd": 1, "action": "stop"}, "'action' is 'stop'"),
    ({"name": "a", "limit_usd": 1, "warn_at": [1.5]}, "'warn_at' must be a list of fractions"),
    ({"name": "a", "limit_usd": 1, "scope": {"region": "eu"}}, "unknown scope key(s) region"),
    ({"name": "a", "limit_usd": 1, "limit": 3}, "unknown key(s) limit"),
    ({"name": "a", "limit_usd": 1, "timezone": "Mars/Olympus"}, "'timezone' 'Mars/Olympus' is not a known"),
    ({"limit_usd": 1}, "'name' must be a non-empty string"),
    ("daily", "expected an object"),
])
def test_each_bad_entry_is_one_line_naming_the_variable_and_is_skipped(entry: Any, says: str) -> None:
    good = {"name": "good", "limit_usd": 1}
    found, problems = B.parse_budgets(json.dumps([good, entry]))
    assert [b.name for b in found] == ["good"]
    (line,) = problems
    assert line.startswith("OTEL_AI_BUDGETS: entry 2") and says in line and line.endswith("; skipped")


def test_a_duplicate_name_and_unreadable_documents_are_problems(tmp_path: Path) -> None:
    found, problems = B.parse_budgets('[{"name": "a", "limit_usd": 1}, {"name": "a", "limit_usd": 2}]')
    assert [b.limit_usd for b in found] == [1.0] and "used by an earlier entry" in problems[0]
    assert B.parse_budgets("[{")[1][0].startswith("OTEL_AI_BUDGETS: not valid JSON")
    missing = tmp_path / "none.yaml"
    assert B.parse_budgets(str(missing))[1][0].startswith(f"OTEL_AI_BUDGETS file '{missing}': cannot be read")
    (tmp_path / "bad.yaml").write_text("- name: [unclosed\n")
    assert "not valid YAML" in B.parse_budgets(str(tmp_path / "bad.yaml"))[1][0]
    assert "expected a list of budgets" in B.parse_budgets('{"name": "a"}')[1][0]


def test_settings_report_budget_problems_and_strict_mode_stops_on_them() -> None:
    env = {"OTEL_AI_BUDGETS": '[{"name": "a", "limit_usd": -1}]', "OTEL_AI_BUDGET_SERVER": "localhost:8200",
           "OTEL_AI_BUDGET_SERVER_TTL": "0"}
    problems = Settings.from_env(env).problems
    assert any(p.startswith("OTEL_AI_BUDGETS: entry 1 ('a')") for p in problems)
    assert any(p.startswith("OTEL_AI_BUDGET_SERVER='localhost:8200' is not an http://") for p in problems)
    assert any(p.startswith("OTEL_AI_BUDGET_SERVER_TTL='0'") for p in problems)
    with pytest.raises(ConfigError, match="OTEL_AI_BUDGETS"):
        Settings.from_env({**env, "OTEL_AI_STRICT": "true"}).raise_if_strict()
    config, none = B.parse_budget_config({"OTEL_AI_BUDGETS": '[{"name": "a", "limit_usd": 1}]',
                                          "OTEL_AI_BUDGET_SERVER": "http://127.0.0.1:8200/",
                                          "OTEL_AI_BUDGET_SERVER_TTL": "2.5"})
    assert none == [] and config.server == "http://127.0.0.1:8200" and config.ttl_s == 2.5


# -- periods -----------------------------------------------------------------------------------------------


def test_calendar_periods_in_utc_and_in_a_time_zone() -> None:
    utc = timezone.utc
    start, end = B.period_bounds("day", utc, T0)
    assert (start.isoformat(), end.isoformat()) == ("2026-03-10T00:00:00+00:00", "2026-03-11T00:00:00+00:00")
    start, end = B.period_bounds("week", utc, T0)
    assert (start.date().isoformat(), end.date().isoformat()) == ("2026-03-09", "2026-03-16")  # Monday to Monday
    start, end = B.period_bounds("month", utc, datetime(2026, 12, 31, 23, tzinfo=utc).timestamp())
    assert (start.date().isoformat(), end.date().isoformat()) == ("2026-12-01", "2027-01-01")
    # Los Angeles: 2026-03-10 02:00 UTC is still March 9 there; the day is 24 h after the DST change.
    la = ZoneInfo("America/Los_Angeles")
    start, end = B.period_bounds("day", la, datetime(2026, 3, 10, 2, tzinfo=utc).timestamp())
    assert start.isoformat() == "2026-03-09T00:00:00-07:00" and end.isoformat() == "2026-03-10T00:00:00-07:00"
    start, end = B.period_bounds("day", la, datetime(2026, 3, 8, 12, tzinfo=utc).timestamp())  # the 23-hour day
    assert end.timestamp() - start.timestamp() == 23 * 3600  # (aware datetimes in one zone subtract wall time)


# -- thresholds and notices --------------------------------------------------------------------------------


def test_warn_at_half_sends_one_warning_at_half_and_one_critical_at_the_limit_once_per_period(
    notices: list[notify.Notification],
) -> None:
    clock = Clock()
    tracker = B.BudgetTracker([budget(warn_at=(0.5,))], clock=clock)
    for _ in range(4):
        tracker.on_call(facts(0.2))  # 0.2 0.4 0.6 0.8
    assert [(n.severity, n.threshold) for n in notices] == [("warning", 0.5)]
    for _ in range(5):
        tracker.on_call(facts(0.2))  # past the limit, and on
    assert [(n.severity, n.threshold) for n in notices] == [("warning", 0.5), ("critical", 1.0)]
    warning, critical = notices
    assert warning.kind == "budget" and warning.name == "daily" and warning.period == "day"
    assert warning.value == pytest.approx(0.6) and warning.limit == 1.0
    assert warning.period_start == "2026-03-10T00:00:00+00:00"
    assert "budget 'daily' passed 50% of its limit" in warning.message
    assert critical.value == pytest.approx(1.0) and "reached its limit" in critical.message
    # The next day starts from zero: the same two notices come again, once.
    clock.now += 86400
    for _ in range(10):
        tracker.on_call(facts(0.2))
    assert [(n.severity, n.period_start[:10]) for n in notices[2:]] == [("warning", "2026-03-11"),
                                                                       ("critical", "2026-03-11")]
    (status,) = tracker.statuses()
    assert status.spent_usd == pytest.approx(2.0) and status.period_start.date().isoformat() == "2026-03-11"


def test_severities_info_warning_critical_and_a_jump_over_several_thresholds(
    notices: list[notify.Notification],
) -> None:
    tracker = B.BudgetTracker([budget(warn_at=(0.5, 0.8))], clock=Clock())
    tracker.on_call(facts(0.55))
    tracker.on_call(facts(0.5))  # 1.05: passes 0.8 and the limit in one call
    assert [(n.severity, n.threshold) for n in notices] == [("info", 0.5), ("warning", 0.8), ("critical", 1.0)]
    assert B.severity(budget(warn_at=(0.25, 0.5, 0.9)), 0.5) == "info"
    assert B.severity(budget(warn_at=(1.0,)), 1.0) == "critical"


def test_scopes_match_provider_model_task_type_and_the_process_service(
    notices: list[notify.Notification],
) -> None:
    declared = [
        B.Budget("openai", 10, scope={"provider": "openai"}),
        B.Budget("mini", 10, scope={"model": "gpt-4o-mini"}),
        B.Budget("summaries", 10, scope={"task_type": "summarize"}),
        B.Budget("this-service", 10, scope={"service": "api"}),
        B.Budget("other-service", 10, scope={"service": "worker"}),
        B.Budget("everything", 10),
    ]
    tracker = B.BudgetTracker(declared, service="api", clock=Clock())
    tracker.on_call(facts(1.0))
    tracker.on_call(facts(2.0, calls.CallScope("elevenlabs", "text_to_speech", "eleven_v3", "summarize")))
    tracker.on_call(facts(4.0, calls.CallScope("openai", "chat", "gpt-4o", "summarize")))
    tracker.on_call(facts(0.0))  # free calls change nothing
    spent = {s.budget.name: s.spent_usd for s in tracker.statuses()}
    assert spent == {"openai": 5.0, "mini": 1.0, "summaries": 6.0, "this-service": 7.0, "other-service": 0.0,
                     "everything": 7.0}


def test_threads_adding_at_once_lose_nothing_and_notify_once(notices: list[notify.Notification]) -> None:
    import threading

    tracker = B.BudgetTracker([budget(limit_usd=100.0, warn_at=(0.5,))], clock=Clock())
    barrier = threading.Barrier(8)

    def spend() -> None:
        barrier.wait()
        for _ in range(2000):
            tracker.on_call(facts(0.01))

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tracker.statuses()[0].spent_usd == pytest.approx(160.0)
    assert [n.threshold for n in notices] == [0.5, 1.0]


# -- blocking ----------------------------------------------------------------------------------------------


def test_a_block_budget_raises_before_the_call_once_spent_and_lets_calls_through_next_period() -> None:
    clock = Clock()
    tracker = B.BudgetTracker([budget(action="block", scope={"model": "gpt-4o-mini"}),
                               B.Budget("watch", 0.1)], clock=clock)
    tracker.gate(CHAT)
    tracker.on_call(facts(0.99))
    tracker.gate(CHAT)
    tracker.on_call(facts(0.01))
    with pytest.raises(BudgetExceeded) as caught:
        tracker.gate(CHAT)
    assert (caught.value.budget, caught.value.limit_usd, caught.value.period) == ("daily", 1.0, "day")
    assert "the request was not sent" in str(caught.value)
    tracker.gate(calls.CallScope("openai", "chat", "gpt-4o", None))  # outside the scope; alert budgets never block
    clock.now += 86400
    tracker.gate(CHAT)


# -- installation through the seam -------------------------------------------------------------------------


def test_no_budgets_install_nothing_and_alert_budgets_add_no_gate() -> None:
    assert B.install(B.BudgetConfig()) is None
    assert calls.SEAM.listeners == () and calls.SEAM.gates == ()
    tracker = B.install(B.BudgetConfig((budget(),)), service="api", meter_provider=MeterProvider())
    assert tracker is not None and B.active() is tracker
    assert calls.SEAM.listeners == (tracker.listener,) and calls.SEAM.gates == ()
    B.uninstall()
    assert calls.SEAM.listeners == () and B.active() is None


def test_installed_budgets_count_published_calls_block_at_the_gate_and_export_gauges(
    notices: list[notify.Notification], monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    config = B.BudgetConfig((budget(name="hard", action="block", warn_at=(0.5,)),
                             B.Budget("monthly", 10.0, period="month", scope={"service": "checkout"})))
    tracker = B.install(config, meter_provider=meters, tracer_provider=tracer_provider, clock=Clock())
    assert tracker is not None and tracker.service == "checkout"
    assert calls.SEAM.gates == (tracker.checker,)
    calls.publish(facts(0.6))
    calls.gate(CHAT)
    calls.publish(facts(0.4))
    with pytest.raises(BudgetExceeded):
        calls.gate(CHAT)
    assert [(n.name, n.severity, n.service) for n in notices] == [
        ("hard", "warning", "checkout"), ("hard", "critical", "checkout")]
    points: dict[tuple[str, str, str], float] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                assert metric.unit == "{USD}"
                for p in metric.data.data_points:
                    attrs = dict(p.attributes or {})
                    points[(metric.name, str(attrs["otel_ai.budget.name"]), str(attrs["otel_ai.budget.period"]))] = (
                        p.value)
    assert points == {
        ("otel_ai.budget.spent", "hard", "day"): pytest.approx(1.0),
        ("otel_ai.budget.limit", "hard", "day"): 1.0,
        ("otel_ai.budget.spent", "monthly", "month"): pytest.approx(1.0),
        ("otel_ai.budget.limit", "monthly", "month"): 10.0,
    }
    # The service name comes from OTEL_SERVICE_NAME when the tracer provider has none.
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert B._service_name(object()) == "from-env"


def test_install_reads_the_environment_and_skips_bad_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_AI_BUDGETS", '[{"name": "bad", "limit_usd": 0}, {"name": "ok", "limit_usd": 1, '
                       '"action": "block"}]')
    tracker = B.install(meter_provider=MeterProvider(), service="svc")
    assert tracker is not None and [b.name for b in tracker.budgets] == ["ok"] and tracker.blocking
