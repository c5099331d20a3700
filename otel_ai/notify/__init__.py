"""Notifiers: a generic JSON webhook, a Slack incoming webhook and email over SMTP, off the caller's thread.

Budgets (in the app) and the alert rules of `otel-ai serve` call `otel_ai.notify.notification.notify()`;
`install()` makes that put the notification on a bounded queue per configured notifier and return
(a few microseconds). Each notifier has its own daemon worker thread, started on the first
notification, so a webhook that hangs never delays the email, and nothing ever waits on the app's
thread. Delivery: one attempt with a timeout (`OTEL_AI_ALERT_TIMEOUT`, 5 s), retried after 0.5, 1
and 2 s on connection errors, timeouts, HTTP 5xx/429 and SMTP 4xx; other answers (HTTP 4xx, SMTP
5xx, a refused login) are final. A notification that cannot be delivered is dropped with one
warning line per notifier per process; a full queue (1,000) drops and counts, with one line. At exit
what is still queued gets one attempt each within a 1 s deadline, then the process leaves.

What is sent is redacted first, like telemetry: the free-text fields of a notification (the budget's
or alert's name, the message, the service, the period) pass through the agent's redactor (its
built-in kinds, `OTEL_AI_REDACT_PATTERNS` and the secrets it has learnt) before any body, subject,
Slack text or warning line is built from them; if redaction fails they are sent as
`[REDACTED:error]`, never as they were.

HTTP goes through `urllib.request` with instrumentation suppressed on the worker threads: the
libraries we instrument (httpx, requests) would turn a notification into spans, and a notification
about those spans. Secrets never reach a log line or a problem line: a webhook URL carries its token
in its path, so messages name its host only; the SMTP password is read from a file
(`OTEL_AI_ALERT_SMTP_PASSWORD_FILE`), never from the environment, and is registered with the
redactor like the clients' API keys.

With no notifier configured and the console exporter on (`otel-ai run --console`), notices are
printed on stdout among the call lines (`ConsoleNotifier`), so a crossing is seen when it happens.

The package: `settings` (parsing `OTEL_AI_ALERT_*`), `formatting` (subjects, bodies, Slack text),
`transports` (webhook, Slack, SMTP, console), `delivery` (the queue/retry workers, install and exit);
`notification` is the seam budgets and alerts call. Standard library only at import time (the agent's
settings import `settings`); `smtplib`, `ssl`, `email` and `urllib.request` load when a notifier first
sends.
"""

from __future__ import annotations

from otel_ai.notify.delivery import Dispatcher, RetryPolicy, install, install_from_env, installed, uninstall
from otel_ai.notify.formatting import (
    email_message,
    fields,
    headline,
    redacted,
    slack_payload,
    text_line,
    title,
    webhook_payload,
)
from otel_ai.notify.settings import (
    DEFAULT_SMTP_PORT,
    DEFAULT_TIMEOUT_S,
    MAX_TIMEOUT_S,
    SLACK_WEBHOOK_URL_VAR,
    SMTP_CA_FILE_VAR,
    SMTP_FROM_VAR,
    SMTP_HOST_VAR,
    SMTP_PASSWORD_FILE_VAR,
    SMTP_PASSWORD_VAR,
    SMTP_PORT_VAR,
    SMTP_STARTTLS_VAR,
    SMTP_TO_VAR,
    SMTP_USERNAME_VAR,
    TIMEOUT_VAR,
    WEBHOOK_URL_VAR,
    NotifierConfig,
    SmtpConfig,
    parse_notifiers,
)
from otel_ai.notify.transports import (
    ConsoleNotifier,
    DeliveryError,
    EmailNotifier,
    Notifier,
    SlackNotifier,
    WebhookNotifier,
    console_exporter_in_use,
    notifiers_for,
)

__all__ = [
    "DEFAULT_SMTP_PORT",
    "DEFAULT_TIMEOUT_S",
    "MAX_TIMEOUT_S",
    "SLACK_WEBHOOK_URL_VAR",
    "SMTP_CA_FILE_VAR",
    "SMTP_FROM_VAR",
    "SMTP_HOST_VAR",
    "SMTP_PASSWORD_FILE_VAR",
    "SMTP_PASSWORD_VAR",
    "SMTP_PORT_VAR",
    "SMTP_STARTTLS_VAR",
    "SMTP_TO_VAR",
    "SMTP_USERNAME_VAR",
    "TIMEOUT_VAR",
    "WEBHOOK_URL_VAR",
    "ConsoleNotifier",
    "DeliveryError",
    "Dispatcher",
    "EmailNotifier",
    "Notifier",
    "NotifierConfig",
    "RetryPolicy",
    "SlackNotifier",
    "SmtpConfig",
    "WebhookNotifier",
    "console_exporter_in_use",
    "email_message",
    "fields",
    "headline",
    "install",
    "install_from_env",
    "installed",
    "notifiers_for",
    "parse_notifiers",
    "redacted",
    "slack_payload",
    "text_line",
    "title",
    "uninstall",
    "webhook_payload",
]
