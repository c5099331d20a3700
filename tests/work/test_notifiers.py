"""Notifiers (otel_ai/notify/): settings, the webhook and Slack formats, retries, the queue.

Every delivery goes to a real HTTP server on 127.0.0.1 (`WebhookReceiver`, below; the SMTP and
hanging-receiver tests import it) that answers the statuses a test queues, or holds a request
until the test lets it go. Notifications are sent through `notify.notify`, the seam budgets and
the serve alerts use; a short retry policy keeps the tests fast (the defaults are tested as values).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from otel_ai import notify as notifiers
from otel_ai.notify import NotifierConfig, RetryPolicy, SmtpConfig
from otel_ai.notify import notification as notify
from otel_ai.notify.notification import Notification
from otel_ai.runtime.settings import Settings

FAST = RetryPolicy(timeout_s=2.0, backoff_s=(0.05, 0.1, 0.2), queue_size=1000, exit_deadline_s=1.0)

BUDGET = Notification(
    kind="budget", name="team-a", severity="critical", threshold=1.0, value=10.0213, limit=10.0, period="day",
    period_start="2026-03-10T00:00:00+00:00",
    message="budget 'team-a' reached its limit: $10.02 of $10.00 this day (since 2026-03-10T00:00:00+00:00)",
    service="checkout",
)
TOKEN_PATH = "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


# --------------------------------------------------------------------------------------------------
# A webhook receiver on 127.0.0.1
# --------------------------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A threaded HTTP server: records every POST, answers the next queued status (default 200)."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None  # set: requests wait on it before answering
    arrived: threading.Event = field(default_factory=threading.Event)
    headers_out: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                for key, value in receiver.headers_out.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on a held request: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_dispatcher_left() -> Iterator[None]:
    yield
    notifiers.uninstall()


def warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("otel-ai:")]


# --------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------


def test_nothing_set_means_no_notifier_and_no_problem():
    config, problems = notifiers.parse_notifiers({})
    assert problems == [] and not config.enabled
    assert notifiers.install(config) is None and notifiers.installed() is None


def test_a_full_configuration(tmp_path: Path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret-pass\n")
    config, problems = notifiers.parse_notifiers({
        "OTEL_AI_ALERT_WEBHOOK_URL": "https://hooks.example.com/otel?token=abc",
        "OTEL_AI_ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com" + TOKEN_PATH,
        "OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com",
        "OTEL_AI_ALERT_SMTP_PORT": "2525",
        "OTEL_AI_ALERT_SMTP_FROM": "otel-ai@example.com",
        "OTEL_AI_ALERT_SMTP_TO": "ops@example.com, finance@example.com",
        "OTEL_AI_ALERT_SMTP_USERNAME": "otel-ai",
        "OTEL_AI_ALERT_SMTP_PASSWORD_FILE": str(secret),
        "OTEL_AI_ALERT_TIMEOUT": "3",
    })
    assert problems == []
    assert config.webhook_url == "https://hooks.example.com/otel?token=abc"
    assert config.slack_webhook_url == "https://hooks.slack.com" + TOKEN_PATH
    assert config.smtp == SmtpConfig(
        host="smtp.example.com", port=2525, sender="otel-ai@example.com",
        recipients=("ops@example.com", "finance@example.com"), username="otel-ai", password="s3cret-pass",
        starttls=True, ca_file=None,
    )
    assert config.timeout_s == 3.0
    # nothing secret in the repr or in the description
    for text in (repr(config), " ".join(config.describe())):
        assert "token" not in text and "s3cret" not in text and "XXXXXXXX" not in text
    assert config.describe() == ["webhook to hooks.example.com", "Slack to hooks.slack.com",
                                 "email to 2 recipient(s) via smtp.example.com:2525"]


def test_the_defaults_are_the_documented_ones():
    config, _ = notifiers.parse_notifiers({
        "OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
        "OTEL_AI_ALERT_SMTP_TO": "b@example.com",
    })
    assert config.smtp is not None and config.smtp.port == 587 and config.smtp.starttls and config.smtp.username is None
    assert config.timeout_s == 5.0
    policy = RetryPolicy()
    assert (policy.timeout_s, policy.backoff_s, policy.queue_size, policy.exit_deadline_s) == (
        5.0, (0.5, 1.0, 2.0), 1000, 1.0)


@pytest.mark.parametrize(
    ("env", "expected", "off"),
    [
        ({"OTEL_AI_ALERT_WEBHOOK_URL": "ftp://hooks.example.com/tok3n-secret"},
         "OTEL_AI_ALERT_WEBHOOK_URL is not an http:// or https:// URL", "webhook"),
        ({"OTEL_AI_ALERT_WEBHOOK_URL": "https://:99999/tok3n-secret"}, "OTEL_AI_ALERT_WEBHOOK_URL is not", "webhook"),
        ({"OTEL_AI_ALERT_SLACK_WEBHOOK_URL": "hooks.slack.com/tok3n-secret"},
         "OTEL_AI_ALERT_SLACK_WEBHOOK_URL is not", "slack"),
        ({"OTEL_AI_ALERT_SMTP_TO": "ops@example.com"}, "OTEL_AI_ALERT_SMTP_HOST is not set but OTEL_AI_ALERT_SMTP_TO",
         "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_TO": "ops@example.com"},
         "OTEL_AI_ALERT_SMTP_FROM is not set", "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com"},
         "OTEL_AI_ALERT_SMTP_TO is not set", "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
          "OTEL_AI_ALERT_SMTP_TO": "ops@example.com, not-an-address"}, "'not-an-address' is not an address", "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
          "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_PORT": "70000"},
         "OTEL_AI_ALERT_SMTP_PORT='70000' is not a port", "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
          "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_USERNAME": "me"},
         "OTEL_AI_ALERT_SMTP_USERNAME is set without OTEL_AI_ALERT_SMTP_PASSWORD_FILE", "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
          "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_USERNAME": "me",
          "OTEL_AI_ALERT_SMTP_PASSWORD_FILE": "/nonexistent/otel-ai-password"},
         "OTEL_AI_ALERT_SMTP_PASSWORD_FILE='/nonexistent/otel-ai-password' cannot be read", "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
          "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_STARTTLS": "maybe"},
         "OTEL_AI_ALERT_SMTP_STARTTLS='maybe' is not a boolean", "smtp"),
        ({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
          "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_CA_FILE": "/nonexistent/ca.pem"},
         "OTEL_AI_ALERT_SMTP_CA_FILE='/nonexistent/ca.pem' cannot be loaded", "smtp"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable_and_turns_that_notifier_off(env, expected, off):
    webhook = {"OTEL_AI_ALERT_WEBHOOK_URL": "https://ok.example.com/hook"} if off != "webhook" else {}
    config, problems = notifiers.parse_notifiers({**webhook, **env})
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected) or expected in problems[0], problems[0]
    assert "tok3n-secret" not in problems[0]  # a URL's value is never printed
    assert {"webhook": config.webhook_url, "slack": config.slack_webhook_url, "smtp": config.smtp}[off] is None
    if off != "webhook":
        assert config.webhook_url == "https://ok.example.com/hook"  # the others still work
    # the agent's settings report the same line
    assert problems[0] in Settings.from_env({**webhook, **env}).problems


def test_a_password_in_the_environment_is_refused_and_not_shown():
    config, problems = notifiers.parse_notifiers({
        "OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
        "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_USERNAME": "me",
        "OTEL_AI_ALERT_SMTP_PASSWORD": "hunter2-in-env",
    })
    assert config.smtp is None
    assert any("OTEL_AI_ALERT_SMTP_PASSWORD is not read" in p and "OTEL_AI_ALERT_SMTP_PASSWORD_FILE" in p
               for p in problems), problems
    assert not any("hunter2" in p for p in problems)


def test_credentials_need_starttls(tmp_path: Path):
    secret = tmp_path / "pw"
    secret.write_text("pw-123456")
    config, problems = notifiers.parse_notifiers({
        "OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
        "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_USERNAME": "me",
        "OTEL_AI_ALERT_SMTP_PASSWORD_FILE": str(secret), "OTEL_AI_ALERT_SMTP_STARTTLS": "false",
    })
    assert config.smtp is None and len(problems) == 1 and "never sent unencrypted" in problems[0]


def test_a_bad_timeout_falls_back_to_5_seconds():
    config, problems = notifiers.parse_notifiers({"OTEL_AI_ALERT_TIMEOUT": "-1"})
    assert config.timeout_s == 5.0 and problems == [
        "OTEL_AI_ALERT_TIMEOUT='-1' is not a number of seconds above 0 and at most 60; using 5"]


# --------------------------------------------------------------------------------------------------
# What is sent
# --------------------------------------------------------------------------------------------------


def test_the_webhook_receives_the_notification_as_json(receiver: WebhookReceiver):
    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hooks/otel"), FAST)
    assert dispatcher is not None
    notify.notify(BUDGET)
    assert dispatcher.flush(10)
    [request] = receiver.requests
    assert request.path == "/hooks/otel"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.json() == {
        "kind": "budget", "name": "team-a", "severity": "critical", "threshold": 1.0, "value": 10.0213,
        "limit": 10.0, "period": "day", "period_start": "2026-03-10T00:00:00+00:00",
        "message": BUDGET.message, "service": "checkout",
        "text": "[otel-ai critical] " + BUDGET.message,
    }
    assert dispatcher.stats() == {"webhook": {"sent": 1, "failed": 0, "dropped": 0, "pending": 0}}


def test_slack_gets_text_and_one_section_block(receiver: WebhookReceiver):
    dispatcher = notifiers.install(NotifierConfig(slack_webhook_url=receiver.url + TOKEN_PATH), FAST)
    assert dispatcher is not None
    tricky = Notification(
        kind="budget", name="<a&b>", severity="warning", threshold=0.8, value=8.0, limit=10.0, period="month",
        period_start="2026-03-01T00:00:00+00:00", message="budget '<a&b>' passed 80% of its limit",
    )
    notify.notify(tricky)
    assert dispatcher.flush(10)
    [request] = receiver.requests
    assert request.path == TOKEN_PATH
    payload = request.json()
    assert set(payload) == {"text", "blocks"}
    assert payload["text"] == "[otel-ai warning] budget '<a&b>' passed 80% of its limit"  # said once
    [block] = payload["blocks"]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    lines = block["text"]["text"].split("\n")
    assert lines[0] == "*[otel-ai warning] budget '&lt;a&amp;b&gt;' passed 80% of its limit*"  # Slack's escaping
    assert "*spent:* $8.00" in lines and "*limit:* $10.00" in lines and "*threshold:* 80% of the limit" in lines
    assert "*period:* month (from 2026-03-01T00:00:00+00:00)" in lines


def test_alert_notifications_read_well():
    alert = Notification(kind="error_rate", name="error_rate", severity="critical", threshold=1.0, value=0.34,
                         limit=0.2, period="5m", period_start="2026-03-10T11:55:00+00:00",
                         message="error rate 34% over the last 5m (17 of 50 calls failed), above the limit of 20%")
    assert notifiers.title(alert) == ("[otel-ai critical] error rate 34% over the last 5m (17 of 50 calls failed), "
                                      "above the limit of 20%")
    assert ("error rate", "34.0%") in notifiers.fields(alert) and ("limit", "20.0%") in notifiers.fields(alert)
    cost = Notification(kind="cost_rate", name="cost_rate", severity="critical", threshold=1.0, value=6.2,
                        limit=5.0, period="5m", period_start="x", message="cost rate $6.20/h")
    assert ("cost rate", "$6.20/h") in notifiers.fields(cost)


def test_a_subject_never_carries_a_newline():
    evil = Notification(kind="error_rate", name="x", severity="critical", threshold=1.0, value=1, limit=0.5,
                        period="5m", period_start="x", message="line one\r\nBcc: victim@example.com")
    message = notifiers.email_message(evil, SmtpConfig(host="h", sender="a@example.com", recipients=("b@example.com",)))
    assert message["Subject"] == "[otel-ai critical] line one Bcc: [REDACTED:email]"  # one line, and redacted
    assert message["Bcc"] is None


# --------------------------------------------------------------------------------------------------
# Retries, failures, the queue
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_a_server_error_is_retried_with_backoff(receiver: WebhookReceiver, status: int, capsys):
    receiver.statuses[:] = [status, status, 200]
    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hook"), FAST)
    assert dispatcher is not None
    notify.notify(BUDGET)
    assert dispatcher.flush(10)
    times = [r.at for r in receiver.requests]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1  # 0.05 s, then 0.1 s
    assert [r.body for r in receiver.requests] == [receiver.requests[0].body] * 3
    assert dispatcher.stats()["webhook"] == {"sent": 1, "failed": 0, "dropped": 0, "pending": 0}
    assert warnings(capsys.readouterr().err) == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_a_client_error_is_not_retried(receiver: WebhookReceiver, status: int, capsys):
    receiver.statuses[:] = [status]
    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + TOKEN_PATH), FAST)
    assert dispatcher is not None
    notify.notify(BUDGET)
    assert dispatcher.flush(10)
    time.sleep(0.3)  # a retry would come within 0.05 s
    assert len(receiver.requests) == 1
    assert dispatcher.stats()["webhook"]["failed"] == 1
    [line] = warnings(capsys.readouterr().err)
    assert f"the webhook notifier (127.0.0.1:{receiver.server.server_address[1]})" in line
    assert f"(HTTP {status}, 1 attempt)" in line and "budget 'team-a' reached 100%" in line
    assert "XXXXXXXX" not in line and "/services/" not in line  # the URL's token is never printed


def test_a_redirect_is_not_followed(receiver: WebhookReceiver):
    receiver.statuses[:] = [302]
    receiver.headers_out["Location"] = "http://127.0.0.1:9/elsewhere"
    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hook"), FAST)
    assert dispatcher is not None
    notify.notify(BUDGET)
    assert dispatcher.flush(10)
    assert len(receiver.requests) == 1 and dispatcher.stats()["webhook"]["failed"] == 1


def test_giving_up_warns_once_per_notifier(receiver: WebhookReceiver, capsys):
    receiver.statuses[:] = [500] * 8
    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hook"), FAST)
    assert dispatcher is not None
    notify.notify(BUDGET)
    notify.notify(BUDGET)
    assert dispatcher.flush(10)
    assert len(receiver.requests) == 8  # 4 attempts each
    assert dispatcher.stats()["webhook"] == {"sent": 0, "failed": 2, "dropped": 0, "pending": 0}
    [line] = warnings(capsys.readouterr().err)
    assert "(HTTP 500, 4 attempts)" in line and "later failures of this notifier are counted" in line


def test_a_refused_connection_is_retried_then_given_up(capsys):
    dispatcher = notifiers.install(NotifierConfig(webhook_url=f"http://127.0.0.1:{free_port()}/hook"), FAST)
    assert dispatcher is not None
    started = time.monotonic()
    notify.notify(BUDGET)
    assert dispatcher.flush(10)
    assert time.monotonic() - started >= 0.35  # 0.05 + 0.1 + 0.2 of back-off
    [line] = warnings(capsys.readouterr().err)
    assert "(connection refused, 4 attempts)" in line


def test_a_full_queue_drops_and_counts_with_one_line(capsys):
    hold = threading.Event()
    with WebhookReceiver(hold=hold) as receiver:
        policy = RetryPolicy(timeout_s=10.0, backoff_s=(), queue_size=5, exit_deadline_s=1.0)
        dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hook"), policy)
        assert dispatcher is not None
        notify.notify(BUDGET)
        assert receiver.arrived.wait(10)  # the worker holds the first one, in flight
        for _ in range(15):
            notify.notify(BUDGET)
        assert dispatcher.stats()["webhook"] == {"sent": 0, "failed": 0, "dropped": 10, "pending": 6}
        [line] = warnings(capsys.readouterr().err)
        assert "is behind: 5 notifications queued, dropping new ones" in line
        hold.set()
        assert dispatcher.flush(10)
        assert dispatcher.stats()["webhook"] == {"sent": 6, "failed": 0, "dropped": 10, "pending": 0}
        assert len(receiver.requests) == 6


def test_a_slow_notifier_does_not_hold_the_others():
    hold = threading.Event()
    with WebhookReceiver(hold=hold) as slow, WebhookReceiver() as fast:
        dispatcher = notifiers.install(
            NotifierConfig(webhook_url=slow.url + "/hook", slack_webhook_url=fast.url + "/slack"), FAST)
        assert dispatcher is not None
        notify.notify(BUDGET)
        deadline = time.monotonic() + 10
        while not fast.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(fast.requests) == 1 and not hold.is_set()
        hold.set()
        assert dispatcher.flush(10)


class _Broken:
    kind = "webhook"
    target = "nowhere"

    def send(self, notification: Notification, timeout_s: float) -> None:
        raise RuntimeError("a bug in a notifier")


def test_nothing_raises_into_the_caller():
    dispatcher = notifiers.install(NotifierConfig(webhook_url="http://unused.invalid/"), FAST,
                                   notifiers=[_Broken()])
    assert dispatcher is not None
    notify.notify(BUDGET)  # never raises, whatever the notifier does
    assert dispatcher.flush(10)
    assert dispatcher.stats()["webhook"]["failed"] == 1

    def exploding(notification: Notification) -> None:
        raise RuntimeError("a broken dispatcher")

    notify.set_dispatcher(exploding)
    notify.notify(BUDGET)


def test_installing_the_same_configuration_again_keeps_the_dispatcher(receiver: WebhookReceiver):
    config = NotifierConfig(webhook_url=receiver.url + "/hook")
    first = notifiers.install(config)
    assert first is not None and notifiers.install(config) is first
    second = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/other"))
    assert second is not None and second is not first and notifiers.installed() is second


def test_the_webhook_urls_join_the_redactors_secrets(receiver: WebhookReceiver):
    from otel_ai.privacy import secrets

    url = receiver.url + TOKEN_PATH
    notifiers.install(NotifierConfig(slack_webhook_url=url))
    assert url in secrets._known and TOKEN_PATH.strip("/") in secrets._known


def test_a_forked_child_delivers_through_its_own_worker(receiver: WebhookReceiver):
    import os

    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hook"), FAST)
    assert dispatcher is not None
    notify.notify(BUDGET)
    assert dispatcher.flush(10)  # the parent's worker is running when the child is forked
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is not here; a new one starts on the first notification
        code = 1
        try:
            notify.notify(BUDGET)
            child = notifiers.installed()
            code = 0 if child is not None and child.flush(10) and child.stats()["webhook"]["sent"] == 1 else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(receiver.requests) == 2
