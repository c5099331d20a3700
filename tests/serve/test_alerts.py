"""Alerts of `otel-ai serve` (otel_ai/serve/alerts.py) on a real store: a SQLite file populated through
the store's own ingest API (`Store.ingest_traces`), the clock injected so windows move without waiting.

Each rule notifies once when its condition starts, once more when it clears (severity info), and
again only for a new episode. The server test runs the alert thread inside `LocalServer` and checks
that exactly one notification reaches a real webhook receiver over several evaluations.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_ai import notify as notifiers
from otel_ai.cli.serve import add_arguments, resolve_config, run_serve
from otel_ai.notify import NotifierConfig, RetryPolicy
from otel_ai.notify.notification import Notification
from otel_ai.serve.alerts import AlertEvaluator, AlertRules, WindowStats, format_window, store_window_query
from otel_ai.serve.server import LocalServer, ServeConfig
from otel_ai.serve.store import Store, open_store
from tests.serve.test_store import call, synthetic_request
from tests.work.test_notifiers import WebhookReceiver

NS = 1_000_000_000
NOW = 1_773_144_000.0  # 2026-03-10T12:00:00Z


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(str(tmp_path / "alerts.db"))
    try:
        yield store
    finally:
        store.close()


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ingest(store: Store, at: float, ok: int = 0, failed: int = 0, cost: float = 0.001) -> None:
    """`ok` + `failed` calls starting just before `at` (unix seconds), each costing `cost` USD."""
    start = int(at * NS)
    items = [call(start=start - (i + 1) * 1_000_000, cost=cost) for i in range(ok)]
    items += [call(start=start - (ok + i + 1) * 1_000_000, cost=cost, category="rate_limit") for i in range(failed)]
    assert store.ingest_traces(synthetic_request(items)) == ok + failed


def evaluator(store: Store, rules: AlertRules, clock: Clock) -> tuple[AlertEvaluator, list[Notification]]:
    sent: list[Notification] = []
    query = store_window_query(store)
    assert query is not None
    return AlertEvaluator(rules, query, sink=sent.append, clock=clock), sent


def test_the_window_query_counts_calls_errors_and_cost(sqlite_store: Store):
    ingest(sqlite_store, NOW - 60, ok=7, failed=3, cost=0.25)
    ingest(sqlite_store, NOW - 600, ok=5, failed=5, cost=1.0)  # before a 5-minute window
    query = store_window_query(sqlite_store)
    assert query is not None
    assert query(int((NOW - 300) * NS), int(NOW * NS)) == WindowStats(calls=10, errors=3, cost_usd=2.5)
    assert query(int((NOW - 900) * NS), int(NOW * NS)) == WindowStats(calls=20, errors=8, cost_usd=12.5)
    assert query(int(NOW * NS), int((NOW + 60) * NS)) == WindowStats(calls=0, errors=0, cost_usd=0.0)


def test_an_error_rate_episode_notifies_once_then_resolves_once(sqlite_store: Store, caplog):
    clock = Clock()
    rules = AlertRules(error_rate=0.2, window_s=300, min_calls=20)
    alerts, sent = evaluator(sqlite_store, rules, clock)
    ingest(sqlite_store, NOW - 10, ok=20, failed=4)  # 16.7 %: under the limit
    assert alerts.evaluate() == [] and sent == []

    ingest(sqlite_store, NOW + 20, failed=6)  # 10 of 30: 33 %
    clock.now = NOW + 30
    with caplog.at_level(logging.INFO, logger="otel_ai.serve.alerts"):
        [fired] = alerts.evaluate()
    assert fired == Notification(
        kind="error_rate", name="error_rate", severity="critical", threshold=1.0, value=10 / 30, limit=0.2,
        period="5m", period_start="2026-03-10T11:55:30+00:00",
        message="error rate 33% over the last 5m (10 of 30 calls failed), above the limit of 20%",
    )
    assert sent == [fired]
    assert "alert: error rate 33% over the last 5m" in caplog.text

    for step in (60, 90, 120):  # still failing: no new notification
        ingest(sqlite_store, NOW + step, failed=2)
        clock.now = NOW + step + 1
        assert alerts.evaluate() == []
    assert len(sent) == 1

    clock.now = NOW + 1000  # the window moved past every call: cleared
    [resolved] = alerts.evaluate()
    assert resolved.severity == "info" and resolved.kind == "error_rate" and resolved.value == 0.0
    assert resolved.message == ("error rate back to 0% over the last 5m (0 of 0 calls failed; fewer than 20 calls), "
                                "at or under the limit of 20%")
    assert alerts.evaluate() == [] and len(sent) == 2

    ingest(sqlite_store, NOW + 1100, ok=10, failed=15)  # a new episode notifies again
    clock.now = NOW + 1101
    [again] = alerts.evaluate()
    assert again.severity == "critical" and again.value == pytest.approx(0.6)
    assert len(sent) == 3


def test_too_few_calls_say_nothing_about_an_error_rate(sqlite_store: Store):
    alerts, sent = evaluator(sqlite_store, AlertRules(error_rate=0.2, min_calls=20), Clock())
    ingest(sqlite_store, NOW - 5, failed=19)
    assert alerts.evaluate() == [] and sent == []
    ingest(sqlite_store, NOW - 4, failed=1)
    assert len(alerts.evaluate()) == 1


def test_a_cost_rate_episode(sqlite_store: Store):
    clock = Clock()
    alerts, sent = evaluator(sqlite_store, AlertRules(cost_per_hour=5.0, window_s=300), clock)
    ingest(sqlite_store, NOW - 10, ok=40, cost=0.01)  # $0.40 in 5 min: $4.80/h
    assert alerts.evaluate() == []
    ingest(sqlite_store, NOW - 5, ok=2, cost=0.05)  # $0.50: $6.00/h
    [fired] = alerts.evaluate()
    assert fired.kind == "cost_rate" and fired.severity == "critical"
    assert fired.value == pytest.approx(6.0) and fired.limit == 5.0 and fired.period == "5m"
    assert fired.message == "cost rate $6.00/h over the last 5m ($0.50 in 42 calls), above the limit of $5.00/h"
    assert alerts.evaluate() == []
    clock.now = NOW + 301
    [resolved] = alerts.evaluate()
    assert resolved.severity == "info" and resolved.message.startswith("cost rate back to $0.00/h")
    assert [n.severity for n in sent] == ["critical", "info"]


def test_both_rules_are_independent(sqlite_store: Store):
    alerts, sent = evaluator(sqlite_store, AlertRules(error_rate=0.5, cost_per_hour=1.0, min_calls=1), Clock())
    ingest(sqlite_store, NOW - 1, ok=1, cost=1.0)  # $12/h, no errors
    assert [n.kind for n in alerts.evaluate()] == ["cost_rate"]
    ingest(sqlite_store, NOW - 1, failed=3, cost=0.0)
    assert [n.kind for n in alerts.evaluate()] == ["error_rate"]
    assert len(sent) == 2


def test_a_failing_query_is_logged_once_and_never_raises(caplog):
    calls = 0

    def broken(lo: int, hi: int) -> WindowStats:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise OSError("database is locked")
        return WindowStats(30, 30, 0.0)

    sent: list[Notification] = []
    alerts = AlertEvaluator(AlertRules(error_rate=0.2), broken, sink=sent.append, clock=Clock())
    with caplog.at_level(logging.INFO, logger="otel_ai.serve.alerts"):
        for _ in range(3):
            assert alerts.evaluate() == []
        assert len(alerts.evaluate()) == 1
    assert caplog.text.count("the alert query failed") == 1 and "works again" in caplog.text


def test_format_window():
    assert [format_window(s) for s in (300, 3600, 90, 86400, 120.5)] == ["5m", "1h", "90s", "24h", "120.5s"]


# -- in the server ---------------------------------------------------------------------------------------


def test_the_server_evaluates_alerts_and_notifies_a_webhook_once(tmp_path: Path):
    rules = AlertRules(error_rate=0.2, window_s=300, min_calls=10, interval_s=0.1)
    config = ServeConfig(db=str(tmp_path / "serve.db"), port=0, otlp_http_port=0, otlp_grpc_port=0, alerts=rules)
    with WebhookReceiver() as receiver:
        dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/alerts"),
                                       RetryPolicy(timeout_s=2.0, backoff_s=(0.05,)))
        assert dispatcher is not None
        server = LocalServer(config).start()
        try:
            store: Any = server.store
            ingest(store, time.time(), ok=5, failed=10)
            deadline = time.monotonic() + 15
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # several more evaluations: still one notification
        finally:
            server.stop()
            notifiers.uninstall()
        [request] = receiver.requests
        body = request.json()
        assert body["kind"] == "error_rate" and body["severity"] == "critical"
        assert body["value"] == pytest.approx(10 / 15) and body["limit"] == 0.2 and body["period"] == "5m"
        assert body["text"].startswith("[otel-ai critical] error rate 67% over the last 5m (10 of 15 calls failed)")
    assert server._alerts is not None and not server._alerts._thread.is_alive()


def test_no_rule_means_no_alert_thread(tmp_path: Path):
    server = LocalServer(ServeConfig(db=str(tmp_path / "s.db"), port=0, otlp_http_port=0, otlp_grpc_port=0,
                                     alerts=AlertRules())).start()
    try:
        assert server._alerts is None
    finally:
        server.stop()


# -- flags and variables ---------------------------------------------------------------------------------


def _resolve(argv: list[str], env: dict[str, str] | None = None) -> ServeConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return resolve_config(parser.parse_args(argv), env or {})


def test_alert_flags_and_variables():
    assert _resolve([]).alerts == AlertRules()  # off
    assert not AlertRules().enabled
    config = _resolve(["--alert-error-rate", "20%", "--alert-cost-per-hour", "$5", "--alert-window", "15m",
                       "--alert-min-calls", "50"])
    assert config.alerts == AlertRules(error_rate=0.2, cost_per_hour=5.0, window_s=900, min_calls=50)
    config = _resolve([], {"OTEL_AI_SERVE_ALERT_ERROR_RATE": "0.1", "OTEL_AI_SERVE_ALERT_WINDOW": "1h"})
    assert config.alerts == AlertRules(error_rate=0.1, window_s=3600)
    assert config.alerts.describe() == "error rate above 10% (at least 20 calls) over 1h, checked every 30 s"


@pytest.mark.parametrize(("argv", "env", "named"), [
    (["--alert-error-rate", "1.5"], {}, "--alert-error-rate"),
    (["--alert-error-rate", "lots"], {}, "--alert-error-rate"),
    (["--alert-cost-per-hour", "0"], {}, "--alert-cost-per-hour"),
    (["--alert-window", "10s"], {}, "--alert-window"),
    (["--alert-window", "none"], {}, "--alert-window"),
    (["--alert-min-calls", "0"], {}, "--alert-min-calls"),
    ([], {"OTEL_AI_SERVE_ALERT_COST_PER_HOUR": "five"}, "OTEL_AI_SERVE_ALERT_COST_PER_HOUR"),
])
def test_bad_alert_settings_exit_2_naming_them(capsys, argv, env, named):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run_serve(parser.parse_args(argv), env=env) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("otel-ai serve: ") and named in err, err


def test_a_bad_notifier_setting_with_alerts_on_exits_2(capsys, tmp_path: Path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--alert-error-rate", "0.2", "--db", str(tmp_path / "x.db")])
    env = {"OTEL_AI_ALERT_WEBHOOK_URL": "hooks.example.com/s3cret-token"}
    assert run_serve(args, env=env) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("otel-ai serve: OTEL_AI_ALERT_WEBHOOK_URL is not") and "s3cret" not in err, err
    assert not (tmp_path / "x.db").exists()  # nothing started


def test_with_alerts_on_serve_installs_the_notifiers_and_says_where_alerts_go():
    from otel_ai.cli.serve import _install_notifiers

    config = _resolve(["--alert-error-rate", "0.2"])
    try:
        line = _install_notifiers(config, {"OTEL_AI_ALERT_WEBHOOK_URL": "https://hooks.example.com/s3cret"})
        assert line == ("otel-ai serve: alerts: error rate above 20% (at least 20 calls) over 5m, checked every "
                        "30 s -> webhook to hooks.example.com")
        assert notifiers.installed() is not None
        line = _install_notifiers(config, {})
        assert line is not None and line.endswith("-> this log only (set OTEL_AI_ALERT_WEBHOOK_URL, "
                                                  "OTEL_AI_ALERT_SLACK_WEBHOOK_URL or OTEL_AI_ALERT_SMTP_HOST "
                                                  "to be notified)")
        assert notifiers.installed() is None
        assert _install_notifiers(_resolve([]), {"OTEL_AI_ALERT_WEBHOOK_URL": "bad"}) == ""  # alerts off: not read
    finally:
        notifiers.uninstall()
