"""Issue 16 item 16: budget notices, alert log lines and Slack texts as people read them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import otel_ai.budgets as B
from otel_ai import notify as notifiers
from otel_ai.genai import hooks as calls
from otel_ai.money import format_usd, json_usd
from otel_ai.notify import NotifierConfig
from otel_ai.notify import notification as notify
from otel_ai.serve.alerts import AlertRules
from otel_ai.serve.store import Store, open_store
from tests.serve.test_alerts import NOW, Clock, evaluator, ingest
from tests.work.test_budgets import Clock as BudgetClock
from tests.work.test_budgets import facts
from tests.work.test_notifiers import FAST, TOKEN_PATH, WebhookReceiver


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    notifiers.uninstall()
    B.uninstall()
    calls.SEAM.gates = ()
    calls.SEAM.listeners = ()


@pytest.mark.parametrize(("value", "shown"), [
    (0.0, "$0.00"), (0.5, "$0.50"), (0.0002, "$0.0002"), (0.00005, "$0.00005"), (0.000550000, "$0.00055"),
    (0.00006825, "$0.00006825"), (0.0006187300000000001, "$0.0006187"), (0.99996, "$1.00"), (1.0, "$1.00"),
    (1234.5, "$1,234.50"), (-0.0002, "-$0.0002"), (None, "-"),
])
def test_the_money_rule(value: float | None, shown: str) -> None:
    assert format_usd(value) == shown


def test_json_money_has_no_float_noise() -> None:
    assert json_usd(0.0006187300000000001) == 0.00061873
    assert json_usd(0.1 + 0.2) == 0.3
    assert json_usd(None) is None and json_usd(0.0) == 0.0
    assert json_usd(123456.7890123456) == 123456.789


def test_a_small_budget_notice_never_reads_zero() -> None:
    """A $0.00005 limit used to read "0.0002 of 0.0000 USD"."""
    sent: list[notify.Notification] = []
    notify.set_dispatcher(sent.append)
    try:
        tracker = B.BudgetTracker([B.Budget(name="tiny", limit_usd=0.00005)], clock=BudgetClock())
        tracker.on_call(facts(0.0002))
    finally:
        notify.set_dispatcher(None)
    notice = sent[-1]  # the limit (the warning thresholds were passed in the same call)
    assert notice.threshold == 1.0
    assert "reached its limit: $0.0002 of $0.00005 this day" in notice.message, notice.message
    assert not re.search(r"0\.0000(?!\d)", notice.message)


def test_slack_says_the_sentence_once(tmp_path: Path) -> None:
    budget = notify.Notification(
        kind="budget", name="tiny", severity="critical", threshold=1.0, value=0.0002, limit=0.00005, period="day",
        period_start="2026-03-10T00:00:00+00:00",
        message="budget 'tiny' reached its limit: $0.0002 of $0.00005 this day (since 2026-03-10T00:00:00+00:00)",
    )
    alert = notify.Notification(kind="error_rate", name="error_rate", severity="critical", threshold=1.0,
                                value=0.34, limit=0.2, period="5m", period_start="x",
                                message="error rate 34% over the last 5m (17 of 50 calls failed), above 20%")
    with WebhookReceiver() as receiver:
        dispatcher = notifiers.install(NotifierConfig(slack_webhook_url=receiver.url + TOKEN_PATH), FAST)
        assert dispatcher is not None
        notify.notify(budget)
        notify.notify(alert)
        assert dispatcher.flush(10)
        payloads = [request.json() for request in receiver.requests]
    for payload, sent in zip(payloads, (budget, alert), strict=True):
        assert payload["text"] == f"[otel-ai critical] {sent.message}"
        body = payload["blocks"][0]["text"]["text"]
        for words in ("reached its limit", "error rate 34%"):  # each sentence once, in the text and in the block
            assert payload["text"].count(words) <= 1 and body.count(words) <= 1, body
    assert "*spent:* $0.0002" in payloads[0]["blocks"][0]["text"]["text"]
    assert "*limit:* $0.00005" in payloads[0]["blocks"][0]["text"]["text"]


def test_the_serve_log_level_matches_the_severity(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store: Store = open_store(str(tmp_path / "alerts.db"))
    try:
        clock = Clock()
        alerts, _ = evaluator(store, AlertRules(error_rate=0.2, window_s=300, min_calls=20), clock)
        ingest(store, NOW + 20, ok=10, failed=20)
        clock.now = NOW + 30
        with caplog.at_level(logging.INFO, logger="otel_ai.serve.alerts"):
            [fired] = alerts.evaluate()
            clock.now = NOW + 1000  # the window empties: resolved
            [resolved] = alerts.evaluate()
    finally:
        store.close()
    levels = [(r.levelname, r.getMessage()[:11]) for r in caplog.records if r.getMessage().startswith("alert:")]
    assert (fired.severity, resolved.severity) == ("critical", "info")
    assert levels == [("CRITICAL", "alert: erro"), ("INFO", "alert: erro")]
