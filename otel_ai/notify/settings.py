"""`OTEL_AI_ALERT_*`: which notifiers are on, parsed once and never raising (one problem line per bad value).

Secrets never reach a problem line: a webhook URL carries its token in its path, so messages name
its host only; the SMTP password is read from a file (`OTEL_AI_ALERT_SMTP_PASSWORD_FILE`), never
from the environment. Standard library only at import time (the agent's settings import this module).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from otel_ai import variables

WEBHOOK_URL_VAR: Final = variables.ALERT_WEBHOOK_URL.name
SLACK_WEBHOOK_URL_VAR: Final = variables.ALERT_SLACK_WEBHOOK_URL.name
SMTP_HOST_VAR: Final = variables.ALERT_SMTP_HOST.name
SMTP_PORT_VAR: Final = variables.ALERT_SMTP_PORT.name
SMTP_FROM_VAR: Final = variables.ALERT_SMTP_FROM.name
SMTP_TO_VAR: Final = variables.ALERT_SMTP_TO.name
SMTP_USERNAME_VAR: Final = variables.ALERT_SMTP_USERNAME.name
SMTP_PASSWORD_FILE_VAR: Final = variables.ALERT_SMTP_PASSWORD_FILE.name
SMTP_PASSWORD_VAR: Final = variables.ALERT_SMTP_PASSWORD.name  # refused: see parse_notifiers
SMTP_STARTTLS_VAR: Final = variables.ALERT_SMTP_STARTTLS.name
SMTP_CA_FILE_VAR: Final = variables.ALERT_SMTP_CA_FILE.name
TIMEOUT_VAR: Final = variables.ALERT_TIMEOUT.name

DEFAULT_SMTP_PORT: Final = int(variables.ALERT_SMTP_PORT.default or 0)
DEFAULT_TIMEOUT_S: Final = float(variables.ALERT_TIMEOUT.default or 0)
MAX_TIMEOUT_S: Final = float(variables.ALERT_TIMEOUT.maximum or 0)

_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")



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
        value = variables.parse_seconds(raw)
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
        try:
            port = variables.parse_int(raw_port)
        except ValueError:
            port = 0
        if not 0 < port <= 65535:
            port = DEFAULT_SMTP_PORT
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
    try:
        starttls = variables.parse_bool(raw_tls) if raw_tls else True
    except ValueError:
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
