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

Standard library only at import time (the agent's settings import this module); `smtplib`, `ssl`,
`email` and `urllib.request` load when a notifier first sends.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO
from urllib.parse import urlsplit

from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_ai.guard import report
from otel_ai.money import format_usd
from otel_ai.notify import notification as _notify
from otel_ai.notify.notification import Notification

if TYPE_CHECKING:
    import ssl
    from email.message import EmailMessage

__all__ = [
    "ConsoleNotifier",
    "Dispatcher",
    "EmailNotifier",
    "NotifierConfig",
    "RetryPolicy",
    "SlackNotifier",
    "SmtpConfig",
    "WebhookNotifier",
    "console_exporter_in_use",
    "email_message",
    "headline",
    "install",
    "install_from_env",
    "installed",
    "parse_notifiers",
    "redacted",
    "slack_payload",
    "uninstall",
    "webhook_payload",
]

WEBHOOK_URL_VAR: Final = "OTEL_AI_ALERT_WEBHOOK_URL"
SLACK_WEBHOOK_URL_VAR: Final = "OTEL_AI_ALERT_SLACK_WEBHOOK_URL"
SMTP_HOST_VAR: Final = "OTEL_AI_ALERT_SMTP_HOST"
SMTP_PORT_VAR: Final = "OTEL_AI_ALERT_SMTP_PORT"
SMTP_FROM_VAR: Final = "OTEL_AI_ALERT_SMTP_FROM"
SMTP_TO_VAR: Final = "OTEL_AI_ALERT_SMTP_TO"
SMTP_USERNAME_VAR: Final = "OTEL_AI_ALERT_SMTP_USERNAME"
SMTP_PASSWORD_FILE_VAR: Final = "OTEL_AI_ALERT_SMTP_PASSWORD_FILE"
SMTP_PASSWORD_VAR: Final = "OTEL_AI_ALERT_SMTP_PASSWORD"  # refused: see parse_notifiers
SMTP_STARTTLS_VAR: Final = "OTEL_AI_ALERT_SMTP_STARTTLS"
SMTP_CA_FILE_VAR: Final = "OTEL_AI_ALERT_SMTP_CA_FILE"
TIMEOUT_VAR: Final = "OTEL_AI_ALERT_TIMEOUT"

DEFAULT_SMTP_PORT: Final = 587
DEFAULT_TIMEOUT_S: Final = 5.0
MAX_TIMEOUT_S: Final = 60.0

_USER_AGENT = "otel-ai-notifier"
_MAX_RESPONSE_BYTES = 65536
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpConfig:
    """Email over SMTP: STARTTLS (verified against the system CAs or `ca_file`) before any login."""

    host: str
    port: int = DEFAULT_SMTP_PORT
    sender: str = ""
    recipients: tuple[str, ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    ca_file: str | None = None


@dataclass(frozen=True)
class NotifierConfig:
    """The notifiers configured in the environment; each None is off. URLs are secrets (not in repr)."""

    webhook_url: str | None = field(default=None, repr=False)
    slack_webhook_url: str | None = field(default=None, repr=False)
    smtp: SmtpConfig | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.slack_webhook_url or self.smtp)

    def describe(self) -> list[str]:
        """One safe line per notifier on (hosts only), for start-up lines and `otel-ai check`."""
        lines = []
        if self.webhook_url:
            lines.append(f"webhook to {_host_of(self.webhook_url)}")
        if self.slack_webhook_url:
            lines.append(f"Slack to {_host_of(self.slack_webhook_url)}")
        if self.smtp:
            lines.append(f"email to {len(self.smtp.recipients)} recipient(s) via {self.smtp.host}:{self.smtp.port}")
        return lines


def parse_notifiers(env: Mapping[str, str] | None = None) -> tuple[NotifierConfig, list[str]]:
    """The notifiers from `OTEL_AI_ALERT_*`; never raises.

    Each bad value is one problem line naming the variable (never its value when it may hold a
    secret) and turns that notifier off; the others still work. `OTEL_AI_ALERT_SMTP_PASSWORD` is
    refused on purpose: a variable is inherited by every child process and shows in `ps e`, crash
    reports and CI logs, where a file readable by one user does not.
    """
    env = os.environ if env is None else env
    problems: list[str] = []
    timeout = _timeout(env, problems)
    webhook = _url(env, WEBHOOK_URL_VAR, "webhook", problems)
    slack = _url(env, SLACK_WEBHOOK_URL_VAR, "Slack", problems)
    smtp = _smtp(env, problems)
    return NotifierConfig(webhook_url=webhook, slack_webhook_url=slack, smtp=smtp, timeout_s=timeout), problems


def _text(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _timeout(env: Mapping[str, str], problems: list[str]) -> float:
    raw = _text(env, TIMEOUT_VAR)
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw.removesuffix("s"))
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_TIMEOUT_S:  # also false for NaN
        problems.append(f"{TIMEOUT_VAR}={raw!r} is not a number of seconds above 0 and at most "
                        f"{MAX_TIMEOUT_S:g}; using {DEFAULT_TIMEOUT_S:g}")
        return DEFAULT_TIMEOUT_S
    return value


def _url(env: Mapping[str, str], name: str, label: str, problems: list[str]) -> str | None:
    raw = _text(env, name)
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a bad port
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in raw)
    except ValueError:
        ok = False
    if not ok:
        problems.append(f"{name} is not an http:// or https:// URL with a host (the value is not shown: it may "
                        f"hold a token); the {label} notifier is off")
        return None
    return raw


def _host_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        return "an invalid URL"


def _smtp(env: Mapping[str, str], problems: list[str]) -> SmtpConfig | None:
    host = _text(env, SMTP_HOST_VAR)
    others = (SMTP_PORT_VAR, SMTP_FROM_VAR, SMTP_TO_VAR, SMTP_USERNAME_VAR, SMTP_PASSWORD_FILE_VAR,
              SMTP_STARTTLS_VAR, SMTP_CA_FILE_VAR)
    if _text(env, SMTP_PASSWORD_VAR):
        problems.append(f"{SMTP_PASSWORD_VAR} is not read (a password in the environment reaches every child "
                        f"process and shows in `ps e` and crash reports); put it in a file only this user can "
                        f"read and set {SMTP_PASSWORD_FILE_VAR} to its path")
    if not host:
        set_ = [name for name in others if _text(env, name)]
        if set_:
            problems.append(f"{SMTP_HOST_VAR} is not set but {', '.join(set_)} is; email is off")
        return None
    before = len(problems)
    off = "; email is off"
    if any(c.isspace() for c in host) or "/" in host or "@" in host:
        problems.append(f"{SMTP_HOST_VAR}={host!r} is not a host name or address{off}")
    port = DEFAULT_SMTP_PORT
    raw_port = _text(env, SMTP_PORT_VAR)
    if raw_port:
        if raw_port.isdigit() and 0 < int(raw_port) <= 65535:
            port = int(raw_port)
        else:
            problems.append(f"{SMTP_PORT_VAR}={raw_port!r} is not a port (1-65535){off}")
    sender = _text(env, SMTP_FROM_VAR)
    if not sender:
        problems.append(f"{SMTP_FROM_VAR} is not set (the sender address){off}")
    elif not _ADDRESS.match(sender):
        problems.append(f"{SMTP_FROM_VAR}={sender!r} is not an address like alerts@example.com{off}")
    raw_to = _text(env, SMTP_TO_VAR)
    recipients = tuple(item.strip() for item in raw_to.split(",") if item.strip())
    bad = [item for item in recipients if not _ADDRESS.match(item)]
    if not recipients:
        problems.append(f"{SMTP_TO_VAR} is not set (a comma-separated list of addresses){off}")
    elif bad:
        problems.append(f"{SMTP_TO_VAR}: {', '.join(repr(b) for b in bad)} is not an address like "
                        f"ops@example.com{off}")
    starttls = True
    raw_tls = _text(env, SMTP_STARTTLS_VAR).lower()
    if raw_tls in _FALSE:
        starttls = False
    elif raw_tls and raw_tls not in _TRUE:
        problems.append(f"{SMTP_STARTTLS_VAR}={raw_tls!r} is not a boolean (true/false){off}")
    username = _text(env, SMTP_USERNAME_VAR) or None
    password = _password(env, problems, off)
    password_file_set = bool(_text(env, SMTP_PASSWORD_FILE_VAR))
    if username and not password_file_set:
        problems.append(f"{SMTP_USERNAME_VAR} is set without {SMTP_PASSWORD_FILE_VAR}{off}")
    if password_file_set and not username:
        problems.append(f"{SMTP_PASSWORD_FILE_VAR} is set without {SMTP_USERNAME_VAR}{off}")
    if username and not starttls:
        problems.append(f"{SMTP_STARTTLS_VAR}=false with {SMTP_USERNAME_VAR}: credentials are never sent "
                        f"unencrypted{off}")
    ca_file = _text(env, SMTP_CA_FILE_VAR) or None
    if ca_file is not None:
        try:
            import ssl

            ssl.create_default_context(cafile=ca_file)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or type(exc).__name__
            problems.append(f"{SMTP_CA_FILE_VAR}={ca_file!r} cannot be loaded as PEM certificates ({reason}){off}")
    if len(problems) > before:
        return None
    return SmtpConfig(host=host.strip("[]"), port=port, sender=sender, recipients=recipients, username=username,
                      password=password, starttls=starttls, ca_file=ca_file)


def _password(env: Mapping[str, str], problems: list[str], off: str) -> str | None:
    path = _text(env, SMTP_PASSWORD_FILE_VAR)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.read().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        problems.append(f"{SMTP_PASSWORD_FILE_VAR}={path!r} cannot be read ({reason}){off}")
        return None
    if not password:
        problems.append(f"{SMTP_PASSWORD_FILE_VAR}={path!r} is empty{off}")
        return None
    return password


# --------------------------------------------------------------------------------------------------
# What each notifier sends
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Notifiers
# --------------------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """One failed attempt: a safe short reason (no URL, no credentials) and whether to try again."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class Notifier(Protocol):
    """Sends one notification in one attempt, or raises `DeliveryError`."""

    kind: str  # "webhook" | "slack" | "email" | "console"
    target: str  # where it sends, safe to print (a host)

    def send(self, notification: Notification, timeout_s: float) -> None: ...


def _network_reason(exc: BaseException) -> str:
    """A short reason for a network failure, from its type and errno only (messages may quote a URL)."""
    import socket
    import ssl

    inner = getattr(exc, "reason", None)  # URLError wraps the socket error
    if isinstance(inner, BaseException):
        exc = inner
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS certificate not trusted"
    if isinstance(exc, ssl.SSLError):
        return "TLS error"
    return type(exc).__name__


class _HttpNotifier:
    """POST a JSON body; 2xx is delivered, 5xx/429 and network errors are retried, other answers final."""

    kind = "webhook"

    def __init__(self, url: str) -> None:
        self.url = url
        self.target = _host_of(url)

    def payload(self, notification: Notification) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, notification: Notification, timeout_s: float) -> None:
        import urllib.error
        import urllib.request

        body = json.dumps(self.payload(notification), separators=(",", ":")).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": _USER_AGENT,
        })
        try:
            with _opener().open(request, timeout=timeout_s) as response:
                response.read(_MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            exc.close()
            status = int(exc.code)
            raise DeliveryError(f"HTTP {status}", retry=status >= 500 or status in (408, 429)) from None
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets, TLS (all OSError); bad URL
            raise DeliveryError(_network_reason(exc), retry=isinstance(exc, OSError)) from None


class WebhookNotifier(_HttpNotifier):
    """`OTEL_AI_ALERT_WEBHOOK_URL`: the notification as JSON (see `webhook_payload`)."""

    kind = "webhook"

    def payload(self, notification: Notification) -> dict[str, Any]:
        return webhook_payload(notification)


class SlackNotifier(_HttpNotifier):
    """`OTEL_AI_ALERT_SLACK_WEBHOOK_URL`: a Slack incoming webhook (see `slack_payload`)."""

    kind = "slack"

    def payload(self, notification: Notification) -> dict[str, Any]:
        return slack_payload(notification)


_opener_lock = threading.Lock()
_opener_instance: Any = None


def _opener() -> Any:
    """`urllib` without redirects: a 3xx is an answer, and a webhook URL's token must not follow one elsewhere."""
    global _opener_instance
    with _opener_lock:
        if _opener_instance is None:
            import urllib.request

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                    return None

            _opener_instance = urllib.request.build_opener(NoRedirect())
        return _opener_instance


class EmailNotifier:
    """`OTEL_AI_ALERT_SMTP_*`: STARTTLS (certificate verified), then login, then one message to every recipient."""

    kind = "email"

    def __init__(self, smtp: SmtpConfig) -> None:
        self.smtp = smtp
        self.target = f"{smtp.host}:{smtp.port}"
        self._context: ssl.SSLContext | None = None

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            import ssl

            self._context = ssl.create_default_context(cafile=self.smtp.ca_file)
        return self._context

    def send(self, notification: Notification, timeout_s: float) -> None:
        import smtplib

        smtp = self.smtp
        message = email_message(notification, smtp)
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout_s) as client:
                client.ehlo()
                if smtp.starttls:
                    if not client.has_extn("starttls"):
                        raise DeliveryError("the server does not offer STARTTLS", retry=False)
                    client.starttls(context=self._tls())
                    client.ehlo()
                if smtp.username and smtp.password is not None:
                    client.login(smtp.username, smtp.password)
                client.send_message(message, from_addr=smtp.sender, to_addrs=list(smtp.recipients))
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({int(code) for code, _ in exc.recipients.values()})
            raise DeliveryError(f"SMTP {'/'.join(map(str, codes))} recipients refused",
                                retry=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code} login refused", retry=False) from None
        except smtplib.SMTPResponseException as exc:  # 4xx: try again later; 5xx: permanent
            code = int(exc.smtp_code)
            raise DeliveryError(f"SMTP {code}", retry=400 <= code < 500) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError("SMTP feature not supported (AUTH?)", retry=False) from None
        except smtplib.SMTPServerDisconnected:
            raise DeliveryError("SMTP server disconnected", retry=True) from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP {type(exc).__name__}", retry=False) from None
        except OSError as exc:
            import ssl

            retry = not isinstance(exc, ssl.SSLCertVerificationError)
            raise DeliveryError(_network_reason(exc), retry=retry) from None


class ConsoleNotifier:
    """No notifier set and the console exporter on: the notice is printed as one more console line.

    `otel-ai run --console` (and `OTEL_TRACES_EXPORTER=otel_ai_console`) prints each GenAI call as it
    ends; a budget crossing among them would otherwise happen unseen. Writes to stdout, where the
    console exporter writes, from the notifier's worker thread (a blocked stdout never holds a call).
    """

    kind = "console"
    target = "stdout"

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out

    @staticmethod
    def line(notification: Notification) -> str:
        """ "[otel-ai] budget warning: budget 'x' reached 80% of its limit: ..." (one line)."""
        kind = notification.kind.replace("_", " ")
        return f"[otel-ai] {kind} {notification.severity}: {_one_line(notification.message, 400)}"

    def send(self, notification: Notification, timeout_s: float) -> None:
        out = self._out or sys.stdout
        try:
            out.write(self.line(notification) + "\n")
            out.flush()
        except (OSError, ValueError) as exc:  # a closed or broken stdout: final, not worth retrying
            raise DeliveryError(type(exc).__name__, retry=False) from None


def console_exporter_in_use(env: Mapping[str, str] | None = None) -> bool:
    """Whether `OTEL_TRACES_EXPORTER` names the console exporter (`otel_ai_console`)."""
    env = os.environ if env is None else env
    names = (env.get("OTEL_TRACES_EXPORTER") or "").lower().split(",")
    return "otel_ai_console" in (name.strip() for name in names)


def notifiers_for(config: NotifierConfig) -> list[Notifier]:
    found: list[Notifier] = []
    if config.webhook_url:
        found.append(WebhookNotifier(config.webhook_url))
    if config.slack_webhook_url:
        found.append(SlackNotifier(config.slack_webhook_url))
    if config.smtp:
        found.append(EmailNotifier(config.smtp))
    return found


# --------------------------------------------------------------------------------------------------
# Delivery: a bounded queue and a worker per notifier
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Attempts are 1 + len(backoff_s); the exit deadline bounds the flush at exit."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0)
    queue_size: int = 1000
    exit_deadline_s: float = 1.0


def _warn(text: str) -> None:
    from otel_ai import agent_warnings

    agent_warnings.count("notify.failed")  # each line matters (a lost notice): printed every time
    try:
        sys.stderr.write(f"otel-ai: {text}\n")
        sys.stderr.flush()
    except Exception:  # a closed stderr must not break a worker
        pass


_STOP: Final = object()


class _Channel:
    """One notifier, its bounded queue and its worker thread (started on the first notification)."""

    def __init__(self, notifier: Notifier, policy: RetryPolicy, closing: threading.Event) -> None:
        self.notifier = notifier
        self.policy = policy
        self._closing = closing
        self.deadline: float | None = None  # monotonic; set at exit
        self._reset()

    def _reset(self) -> None:
        self.queue: queue.Queue[object] = queue.Queue(self.policy.queue_size)
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stopped = False
        self.sent = self.failed = self.dropped = 0
        self._warned_full = self._warned_failed = False
        self.last_failure: str | None = None

    @property
    def label(self) -> str:
        return f"the {self.notifier.kind} notifier ({self.notifier.target})"

    def submit(self, notification: Notification) -> None:
        if self.stopped:
            self.dropped += 1
            return
        try:
            self.queue.put_nowait(notification)
        except queue.Full:
            self._full()
            return
        if self.thread is None:
            self._start()

    def _full(self) -> None:
        with self._lock:
            self.dropped += 1
            if self._warned_full:
                return
            self._warned_full = True
        _warn(f"{self.label} is behind: {self.policy.queue_size} notifications queued, dropping new ones "
              "(counted; this line is shown once)")

    def _start(self) -> None:
        with self._lock:
            if self.thread is not None:
                return
            thread = threading.Thread(target=self._run, name=f"otel-ai-notify-{self.notifier.kind}", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # no new threads at interpreter shutdown
                report("notifiers.thread", exc)
                return
            self.thread = thread

    def _run(self) -> None:
        with suppress_instrumentation():  # nothing this thread does becomes telemetry (no spans for its posts)
            while True:
                item = self.queue.get()
                try:
                    if item is _STOP:
                        return
                    if isinstance(item, Notification):
                        self._deliver(item)
                except Exception as exc:  # the worker never dies of a bug
                    report("notifiers.deliver", exc)
                finally:
                    self.queue.task_done()

    def _attempt_timeout(self) -> float:
        deadline = self.deadline
        if deadline is None:
            return self.policy.timeout_s
        return min(self.policy.timeout_s, deadline - time.monotonic())

    def _deliver(self, notification: Notification) -> None:
        notification = redacted(notification)  # once, for every attempt and the warning line
        attempts = 1 + len(self.policy.backoff_s)
        reason = "not attempted before exit"
        tried = 0
        for attempt in range(1, attempts + 1):
            timeout = self._attempt_timeout()
            if timeout <= 0:
                break
            tried = attempt
            try:
                self.notifier.send(notification, timeout)
            except DeliveryError as exc:
                reason, retry = exc.reason, exc.retry
            except Exception as exc:  # a bug in a notifier: not worth retrying
                report(f"notifiers.{self.notifier.kind}", exc)
                reason, retry = type(exc).__name__, False
            else:
                self.sent += 1
                return
            if not retry or attempt == attempts or self._closing.is_set():
                break
            if self._closing.wait(self.policy.backoff_s[attempt - 1]):
                break  # exiting: no more back-off
        with self._lock:
            self.failed += 1
            self.last_failure = reason
            if self._warned_failed or tried == 0:
                return
            self._warned_failed = True
        tries = f"{tried} attempt{'s' if tried != 1 else ''}"
        _warn(f"{self.label} could not deliver \"{headline(notification)}\" ({reason}, {tries}); dropped it "
              "(later failures of this notifier are counted, not shown)")

    def pending(self) -> int:
        return self.queue.unfinished_tasks

    def wait_idle(self, until: float) -> bool:
        """Wait until everything queued is handled or `until` (monotonic) passes; True when idle."""
        condition = self.queue.all_tasks_done
        with condition:
            while self.queue.unfinished_tasks:
                remaining = until - time.monotonic()
                if remaining <= 0 or self.thread is None:
                    return False
                condition.wait(remaining)
        return True

    def stop(self) -> None:
        self.stopped = True
        # When full, the worker drains it instead (each item fails fast once past the deadline).
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(_STOP)


class Dispatcher:
    """What `notify()` calls: puts the notification on every notifier's queue and returns."""

    def __init__(self, notifiers: Sequence[Notifier], policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self._closing = threading.Event()
        self.channels = [_Channel(n, self.policy, self._closing) for n in notifiers]

    def __call__(self, notification: Notification) -> None:
        for channel in self.channels:
            channel.submit(notification)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per notifier kind: sent, failed (given up), dropped (queue full or closed), pending."""
        return {
            c.notifier.kind: {"sent": c.sent, "failed": c.failed, "dropped": c.dropped, "pending": c.pending()}
            for c in self.channels
        }

    def flush(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for every queue to be handled (retries included); True when all are."""
        until = time.monotonic() + timeout_s
        return all([channel.wait_idle(until) for channel in self.channels])

    def close(self, deadline_s: float | None = None) -> int:
        """Stop taking notifications; what is queued gets one attempt each within the deadline.

        Returns how many were still pending when it passed (their daemon workers are left behind:
        an attempt in flight cannot be interrupted, but it cannot hold the exit either).
        """
        deadline_s = self.policy.exit_deadline_s if deadline_s is None else deadline_s
        until = time.monotonic() + deadline_s
        for channel in self.channels:
            channel.deadline = until
        self._closing.set()  # ends back-off waits; no more retries
        for channel in self.channels:
            channel.wait_idle(until)
        pending = sum(channel.pending() for channel in self.channels)
        for channel in self.channels:
            channel.stop()
        return pending

    def _after_fork(self) -> None:
        self._closing = threading.Event()
        for channel in self.channels:
            channel._closing = self._closing
            channel.deadline = None
            channel._reset()


# --------------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------------

_install_lock = threading.Lock()
_installed: tuple[tuple[NotifierConfig, bool], Dispatcher] | None = None  # ((config, console), dispatcher)
_atexit_registered = False


def installed() -> Dispatcher | None:
    """The dispatcher `notify()` delivers through now, if any."""
    current = _installed
    return current[1] if current else None


def install(
    config: NotifierConfig, policy: RetryPolicy | None = None, *, notifiers: Sequence[Notifier] | None = None,
    console: bool = False,
) -> Dispatcher | None:
    """Make `notify()` deliver through the configured notifiers; never raises.

    Installing the same configuration again keeps the running dispatcher (both SDK set-up paths call
    this). With no notifier configured, `notify()` stays a no-op and None is returned, unless
    `console` (the app prints its calls with the console exporter): then notices are printed too
    (`ConsoleNotifier`). `notifiers` replaces the ones built from `config` (tests).
    """
    global _installed, _atexit_registered
    try:
        with _install_lock:
            key = (config, console)
            if _installed is not None and _installed[0] == key and notifiers is None and policy is None:
                return _installed[1]
            previous, _installed = _installed, None
            _notify.set_dispatcher(None)
            chosen = list(notifiers) if notifiers is not None else notifiers_for(config)
            if not chosen and console and notifiers is None:
                chosen = [ConsoleNotifier()]
            dispatcher = None
            if chosen:
                policy = policy or RetryPolicy(timeout_s=config.timeout_s)
                dispatcher = Dispatcher(chosen, policy)
                _installed = (key, dispatcher)
                _notify.set_dispatcher(dispatcher)
                _remember_secrets(config)
                if not _atexit_registered:
                    atexit.register(_at_exit)
                    _atexit_registered = True
        if previous is not None:
            previous[1].close(0)
        return dispatcher
    except Exception as exc:
        report("notifiers.install", exc)
        return None


def install_from_env(env: Mapping[str, str] | None = None) -> Dispatcher | None:
    """`install()` with the configuration of `OTEL_AI_ALERT_*` (its problems are reported by the settings)."""
    config, _ = parse_notifiers(env)
    return install(config)


def uninstall(deadline_s: float = 0.0) -> int:
    """Turn notifications off; the current dispatcher is closed (see `Dispatcher.close`)."""
    global _installed
    with _install_lock:
        previous, _installed = _installed, None
        _notify.set_dispatcher(None)
    return previous[1].close(deadline_s) if previous else 0


def _remember_secrets(config: NotifierConfig) -> None:
    """Webhook URLs (their tokens) and the SMTP password join the redactor's known secrets."""
    try:
        from otel_ai.privacy.secrets import remember

        for url in (config.webhook_url, config.slack_webhook_url):
            if url:
                remember(url)
                path = urlsplit(url).path.strip("/")
                if len(path) >= 16:  # the token part; a short path ("/hook") would redact ordinary words
                    remember(path)
        if config.smtp and config.smtp.password and len(config.smtp.password) >= 6:
            remember(config.smtp.password)
    except Exception as exc:
        report("notifiers.secrets", exc)


def _at_exit() -> None:
    try:
        current = _installed
        if current is None:
            return
        dispatcher = current[1]
        pending = dispatcher.close()
        if pending:
            kinds = ", ".join(c.notifier.kind for c in dispatcher.channels if c.pending())
            _warn(f"{pending} notification(s) not delivered before exit ({kinds} notifier still busy after "
                  f"{dispatcher.policy.exit_deadline_s:g} s); dropped")
    except Exception as exc:
        report("notifiers.at_exit", exc)


def _after_fork_in_child() -> None:
    """A forked worker (gunicorn, Celery) has none of the parent's threads: start its own when needed."""
    current = _installed
    if current is not None:
        current[1]._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
