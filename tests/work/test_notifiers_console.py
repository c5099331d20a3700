"""The console notifier: with the console exporter on and no notifier set, notices are printed.

`otel-ai run --console` prints a line per call; a budget crossing among them used to happen unseen
(notify() was a no-op without OTEL_AI_ALERT_*). The end-to-end view, through the demo, is in
tests/test_demo.py; here: when it is chosen, what it prints, and that it is redacted like the others.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from otel_ai import notify as notifiers
from otel_ai.notify import ConsoleNotifier, NotifierConfig
from otel_ai.notify import notification as notify
from otel_ai.notify.notification import Notification

BUDGET = Notification(
    kind="budget", name="team-a", severity="warning", threshold=0.8, value=8.5, limit=10.0, period="day",
    period_start="2026-03-10T00:00:00+00:00",
    message="budget 'team-a' passed 80% of its limit: $8.50 of $10.00 this day (since 2026-03-10T00:00:00+00:00)",
)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    notifiers.uninstall()
    yield
    notifiers.uninstall()


def test_console_exporter_in_use_reads_the_traces_exporter_list() -> None:
    assert notifiers.console_exporter_in_use({"OTEL_TRACES_EXPORTER": "otel_ai_console"})
    assert notifiers.console_exporter_in_use({"OTEL_TRACES_EXPORTER": "otlp, OTEL_AI_CONSOLE"})
    assert not notifiers.console_exporter_in_use({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not notifiers.console_exporter_in_use({"OTEL_TRACES_EXPORTER": "console"})  # the SDK's, not ours
    assert not notifiers.console_exporter_in_use({})


def test_no_notifier_and_the_console_prints_each_notice(capsys: pytest.CaptureFixture[str]) -> None:
    dispatcher = notifiers.install(NotifierConfig(), console=True)
    assert dispatcher is not None and [c.notifier.kind for c in dispatcher.channels] == ["console"]
    notify.notify(BUDGET)
    assert dispatcher.flush(5)
    assert capsys.readouterr().out == (
        "[otel-ai] budget warning: budget 'team-a' passed 80% of its limit: $8.50 of $10.00 this day "
        "(since 2026-03-10T00:00:00+00:00)\n"
    )


def test_without_the_console_nothing_is_installed() -> None:
    assert notifiers.install(NotifierConfig(), console=False) is None
    assert notifiers.installed() is None


def test_a_configured_notifier_replaces_the_console() -> None:
    dispatcher = notifiers.install(NotifierConfig(webhook_url="http://127.0.0.1:9/hook"), console=True)
    assert dispatcher is not None and [c.notifier.kind for c in dispatcher.channels] == ["webhook"]


def test_switching_the_console_on_replaces_the_dispatcher() -> None:
    assert notifiers.install(NotifierConfig(), console=False) is None
    first = notifiers.install(NotifierConfig(), console=True)
    assert first is not None
    assert notifiers.install(NotifierConfig(), console=True) is first  # same settings: kept


def test_the_console_line_is_redacted() -> None:
    out = io.StringIO()
    leaky = Notification(**{**BUDGET.as_json(), "name": "jane.doe@example.com",
                            "message": "budget 'jane.doe@example.com' passed 80% of its limit"})
    dispatcher = notifiers.install(NotifierConfig(), notifiers=[ConsoleNotifier(out)])
    assert dispatcher is not None
    notify.notify(leaky)
    assert dispatcher.flush(5)
    assert "jane.doe@example.com" not in out.getvalue()
    assert "[REDACTED" in out.getvalue()


def test_a_closed_stdout_is_a_final_failure() -> None:
    out = io.StringIO()
    out.close()
    with pytest.raises(notifiers.DeliveryError) as caught:
        ConsoleNotifier(out).send(BUDGET, 1.0)
    assert not caught.value.retry


def test_the_sdk_set_up_picks_the_console_when_the_console_exporter_is_on() -> None:
    """Through the real set-up path (`otel_ai.configure()` in a fresh interpreter), decided by the exporter."""
    script = textwrap.dedent("""
        import otel_ai
        from otel_ai import notify as notifiers
        otel_ai.configure()
        dispatcher = notifiers.installed()
        print("kinds", [c.notifier.kind for c in dispatcher.channels] if dispatcher else None, flush=True)
    """)
    env = {"OTEL_TRACES_EXPORTER": "otel_ai_console", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert "kinds ['console']" in done.stdout, done.stdout + done.stderr
    env["OTEL_TRACES_EXPORTER"] = "none"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert "kinds None" in done.stdout, done.stdout + done.stderr
