"""The transports: a JSON webhook and a Slack incoming webhook over `urllib`, email over SMTP, the console line.

Each `send` makes one attempt within a timeout and raises `DeliveryError` with a safe short reason
(no URL, no credentials) and whether it is worth trying again; the queue and retries are delivery's.
`smtplib`, `ssl`, `email` and `urllib.request` load when a notifier first sends.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from otel_ai.notify.formatting import _one_line, email_message, slack_payload, webhook_payload
from otel_ai.notify.notification import Notification
from otel_ai.notify.settings import NotifierConfig, SmtpConfig, _host_of

if TYPE_CHECKING:
    import ssl

_USER_AGENT = "otel-ai-notifier"
_MAX_RESPONSE_BYTES = 65536


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
