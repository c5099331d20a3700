"""Notifier bodies are redacted: nothing secret or personal in a webhook body, a Slack text or an email.

A budget named after a customer (an e-mail address) with an OpenAI key pasted into it, and a
message and service that quote them, are sent through the real notifiers to real receivers on
127.0.0.1 (the webhook receiver of `test_notifiers`, the STARTTLS SMTP server of
`test_notifiers_smtp`): every byte received must be free of them, and the notification must still
read as one (the redaction markers are there). The warning line a failed delivery prints is
redacted too, and a redactor that fails sends `[REDACTED:error]`, never the text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_ai import notify as notifiers
from otel_ai.notify import NotifierConfig
from otel_ai.notify import notification as notify
from tests.work.test_notifiers import BUDGET, FAST, TOKEN_PATH, WebhookReceiver, free_port, warnings
from tests.work.test_notifiers_smtp import SmtpServer, _env, _install

pytest_plugins = ["tests.work.test_notifiers_smtp"]  # its certificate, smtp_server and password_file fixtures

EMAIL = "jane.doe@customer-example.com"
KEY = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
PHONE = "+44 20 7946 0958"
SECRETS = (EMAIL, KEY, PHONE)

LEAKY = dataclasses.replace(
    BUDGET,
    name=f"team {EMAIL} {KEY}",
    message=f"budget 'team {EMAIL} {KEY}' reached its limit: call {PHONE}",
    service=f"svc {EMAIL}",
)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_dispatcher_left() -> Iterator[None]:
    yield
    notifiers.uninstall()


def _clean(data: bytes | str) -> None:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    kept = [secret for secret in SECRETS if secret in text]
    assert not kept, f"{kept} sent in {text!r}"


def test_the_webhook_body_is_redacted(receiver: WebhookReceiver) -> None:
    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hooks/otel"), FAST)
    assert dispatcher is not None
    notify.notify(LEAKY)
    assert dispatcher.flush(10)
    [request] = receiver.requests
    _clean(request.body)
    body = request.json()
    assert "[REDACTED:email]" in body["name"] and "[REDACTED:openai_key]" in body["name"]
    assert "[REDACTED:phone]" in body["message"] and "[REDACTED:email]" in body["text"]
    assert body["service"] == "svc [REDACTED:email]"
    assert (body["kind"], body["severity"], body["value"], body["limit"]) == ("budget", "critical", 10.0213, 10.0)


def test_the_slack_text_and_block_are_redacted(receiver: WebhookReceiver) -> None:
    dispatcher = notifiers.install(NotifierConfig(slack_webhook_url=receiver.url + TOKEN_PATH), FAST)
    assert dispatcher is not None
    notify.notify(LEAKY)
    assert dispatcher.flush(10)
    [request] = receiver.requests
    _clean(request.body)
    payload = request.json()
    assert "[REDACTED:openai_key]" in payload["text"]
    assert "[REDACTED:email]" in payload["blocks"][0]["text"]["text"]


def test_the_email_subject_and_body_are_redacted(smtp_server: SmtpServer, password_file: Path) -> None:
    dispatcher = _install(_env(smtp_server, password_file))
    notify.notify(LEAKY)
    assert dispatcher.flush(15)
    [delivered] = smtp_server.inbox.messages
    _clean(delivered.content)
    message = delivered.message()
    assert "[REDACTED:email]" in message["Subject"] and "[REDACTED:openai_key]" in message["Subject"]
    body = message.get_content()
    _clean(body)
    assert "[REDACTED:phone]" in body and "service:   svc [REDACTED:email]" in body


def test_the_builders_redact_when_called_directly() -> None:
    smtp = notifiers.SmtpConfig(host="127.0.0.1", sender="a@example.com", recipients=("b@example.com",))
    for built in (notifiers.webhook_payload(LEAKY), notifiers.slack_payload(LEAKY),
                  notifiers.email_message(LEAKY, smtp).as_string()):
        _clean(str(built))
    assert notifiers.redacted(BUDGET) is BUDGET  # nothing to redact: the very same notification


def test_the_give_up_warning_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    dispatcher = notifiers.install(NotifierConfig(webhook_url=f"http://127.0.0.1:{free_port()}/hook"), FAST)
    assert dispatcher is not None
    notify.notify(LEAKY)
    assert dispatcher.flush(10)
    [line] = warnings(capsys.readouterr().err)
    assert "could not deliver" in line and "[REDACTED:email]" in line
    _clean(line)


def test_a_failing_redactor_sends_nothing_of_the_text(
    receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otel_ai.privacy import current

    def broken() -> object:
        raise RuntimeError("redactor unavailable")

    monkeypatch.setattr(current, "redactor", broken)
    dispatcher = notifiers.install(NotifierConfig(webhook_url=receiver.url + "/hook"), FAST)
    assert dispatcher is not None
    notify.notify(LEAKY)
    assert dispatcher.flush(10)
    [request] = receiver.requests
    _clean(request.body)
    body = request.json()
    assert body["name"] == body["message"] == body["service"] == "[REDACTED:error]"
    assert body["kind"] == "budget" and body["limit"] == 10.0
