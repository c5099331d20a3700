"""What each notifier sends: the redacted notification, its subject and headline, the webhook and Slack JSON, the email.

The free-text fields of a notification pass through the agent's redactor before any body, subject,
Slack text or warning line is built from them; if redaction fails they are sent as
`[REDACTED:error]`, never as they were.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Final

from otel_ai.guard import report
from otel_ai.money import format_usd
from otel_ai.notify.notification import Notification
from otel_ai.notify.settings import SmtpConfig

if TYPE_CHECKING:
    from email.message import EmailMessage

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

# The fields a person or a caller fills in; kind and severity are fixed words, the numbers numbers.
_FREE_TEXT: Final = ("name", "message", "period", "period_start", "service")
_REDACTION_FAILED: Final = "[REDACTED:error]"


def redacted(notification: Notification) -> Notification:
    """`notification` with its free-text fields through the agent's redactor (the same object when clean).

    A budget named after a customer's e-mail address, or a message quoting a key, must not reach a
    webhook, a Slack channel or a mailbox: they are as far from the app as the telemetry is. If the
    redactor fails, the free text is replaced by `[REDACTED:error]` (fail closed). Never raises.
    """
    changes: dict[str, Any] = {}
    try:
        from otel_ai.privacy import current

        redactor = current.redactor()
        for name in _FREE_TEXT:
            value = getattr(notification, name)
            if isinstance(value, str):
                new, found = redactor.redact(value)
                if found:
                    changes[name] = new
    except Exception as exc:
        report("notifiers.redact", exc)
        changes = {name: _REDACTION_FAILED for name in _FREE_TEXT if isinstance(getattr(notification, name), str)}
    return dataclasses.replace(notification, **changes) if changes else notification



def _one_line(text: str, limit: int = 200) -> str:
    """No control characters (a newline in a subject would start a header), at most `limit` characters."""
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _money(value: float) -> str:
    return format_usd(value)


def headline(notification: Notification) -> str:
    """The short line for a subject or a chat title: "budget 'x' reached 100%", else the message."""
    if notification.kind == "budget":
        return _one_line(f"budget '{notification.name}' reached {notification.threshold:.0%}")
    return _one_line(notification.message)


def title(notification: Notification) -> str:
    """ "[otel-ai critical] budget 'x' reached 100%": the email subject and the chat title."""
    return f"[otel-ai {notification.severity}] {headline(notification)}"


def fields(notification: Notification) -> list[tuple[str, str]]:
    """The facts as readable label/value pairs (email body, Slack block)."""
    n = notification
    if n.kind == "budget":
        facts = [("budget", n.name), ("spent", _money(n.value)), ("limit", _money(n.limit)),
                 ("threshold", f"{n.threshold:.0%} of the limit")]
    elif n.kind == "error_rate":
        facts = [("alert", n.name), ("error rate", f"{n.value:.1%}"), ("limit", f"{n.limit:.1%}")]
    else:
        facts = [("alert", n.name), ("cost rate", f"{_money(n.value)}/h"), ("limit", f"{_money(n.limit)}/h")]
    facts += [("severity", n.severity), ("period", f"{n.period} (from {n.period_start})")]
    if n.service:
        facts.append(("service", n.service))
    return [(label, _one_line(value)) for label, value in facts]


def text_line(notification: Notification) -> str:
    """The one-line text (webhook `text`, Slack fallback and heading): "[otel-ai critical] " and the
    message, which says it all; not the title and then the message, which said the same thing twice."""
    return f"[otel-ai {notification.severity}] {_one_line(notification.message, 1000)}"


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The generic webhook's JSON: every `Notification` field, plus `text` for chat-style receivers (redacted)."""
    notification = redacted(notification)
    return {**notification.as_json(), "text": text_line(notification)}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification) -> dict[str, Any]:
    """Slack incoming-webhook JSON: `text` (the notification fallback) and one mrkdwn section block (redacted)."""
    notification = redacted(notification)
    lines = [f"*{_slack_escape(text_line(notification))}*"]
    lines += [f"*{label}:* {_slack_escape(value)}" for label, value in fields(notification)]
    body = "\n".join(lines)
    if len(body) > 3000:  # Slack's limit for a section's text
        body = body[:2999] + "…"
    return {
        "text": text_line(notification),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}],
    }


def email_message(notification: Notification, smtp: SmtpConfig) -> EmailMessage:
    """A plain-text email: the title as subject, the message and the facts as body (redacted)."""
    from email.message import EmailMessage

    notification = redacted(notification)
    from email.utils import formatdate, make_msgid

    message = EmailMessage()
    message["Subject"] = title(notification)
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message["Date"] = formatdate(localtime=False)
    # make_msgid() without a domain looks up this host's FQDN, which can block on DNS.
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or "otel-ai.invalid")
    width = max(len(label) for label, _ in fields(notification)) + 1
    facts = "\n".join(f"{label + ':':<{width}} {value}" for label, value in fields(notification))
    message.set_content(f"{_one_line(notification.message, 1000)}\n\n{facts}\n\n-- \nSent by otel-ai.\n")
    return message
