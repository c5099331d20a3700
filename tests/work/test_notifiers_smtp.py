"""Email over SMTP against a real server: aiosmtpd on 127.0.0.1, STARTTLS required, a login required.

The server's certificate is self-signed, made here with the `openssl` command; the client trusts it
only through `OTEL_AI_ALERT_SMTP_CA_FILE`, so certificate verification stays on (a test checks that
without the CA file nothing is sent, credentials included). The password reaches the client from a
file, as in production.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from otel_ai import notify as notifiers
from otel_ai.notify import notification as notify
from tests.work.test_notifiers import BUDGET, FAST, free_port, warnings

USER = "otel-ai"
PASSWORD = "correct horse battery staple"


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: bytes | None

    def message(self) -> Any:
        return email.message_from_bytes(self.content, policy=email.policy.default)


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps each message; answers the queued replies to DATA first."""

    messages: list[Delivered] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        login = session.auth_data.login if session.authenticated and session.auth_data else None
        self.messages.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                       session.ssl is not None, login))
        return "250 OK"


@dataclass
class Authenticator:
    attempts: list[tuple[str, bytes]] = field(default_factory=list)

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append((mechanism, auth_data.login))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox
    auth: Authenticator
    ca_file: Path


def _start(certificate: tuple[Path, Path], *, tls: bool = True) -> tuple[Controller, SmtpServer]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    inbox, auth = Inbox(), Authenticator()
    port = free_port()
    options: dict[str, Any] = {"require_starttls": True, "tls_context": context} if tls else {}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=auth, auth_required=tls,
                            auth_require_tls=tls, **options)
    controller.start()
    return controller, SmtpServer(port, inbox, auth, cert)


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    controller, server = _start(certificate)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "smtp-password"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(autouse=True)
def _no_dispatcher_left() -> Iterator[None]:
    yield
    notifiers.uninstall()


def _env(server: SmtpServer, password_file: Path, **extra: str) -> dict[str, str]:
    env = {
        "OTEL_AI_ALERT_SMTP_HOST": "127.0.0.1",
        "OTEL_AI_ALERT_SMTP_PORT": str(server.port),
        "OTEL_AI_ALERT_SMTP_FROM": "otel-ai@example.com",
        "OTEL_AI_ALERT_SMTP_TO": "ops@example.com, finance@example.com",
        "OTEL_AI_ALERT_SMTP_USERNAME": USER,
        "OTEL_AI_ALERT_SMTP_PASSWORD_FILE": str(password_file),
        "OTEL_AI_ALERT_SMTP_CA_FILE": str(server.ca_file),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def _install(env: dict[str, str]) -> notifiers.Dispatcher:
    config, problems = notifiers.parse_notifiers(env)
    assert problems == []
    dispatcher = notifiers.install(config, FAST)
    assert dispatcher is not None
    return dispatcher


def test_email_over_starttls_with_login(smtp_server: SmtpServer, password_file: Path, capsys):
    dispatcher = _install(_env(smtp_server, password_file))
    notify.notify(BUDGET)
    assert dispatcher.flush(15)
    [delivered] = smtp_server.inbox.messages
    assert delivered.tls and delivered.login == USER.encode()
    assert delivered.mail_from == "otel-ai@example.com"
    assert delivered.rcpt_tos == ["ops@example.com", "finance@example.com"]
    message = delivered.message()
    assert message["Subject"] == "[otel-ai critical] budget 'team-a' reached 100%"
    assert message["From"] == "otel-ai@example.com"
    assert message["To"] == "ops@example.com, finance@example.com"
    assert message["Message-ID"].endswith("@example.com>")
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith(BUDGET.message + "\n\n")
    for line in ("spent:     $10.02", "limit:     $10.00", "threshold: 100% of the limit", "severity:  critical",
                 "period:    day (from 2026-03-10T00:00:00+00:00)", "service:   checkout"):
        assert line in body, body
    assert dispatcher.stats()["email"] == {"sent": 1, "failed": 0, "dropped": 0, "pending": 0}
    assert warnings(capsys.readouterr().err) == []


def test_a_temporary_smtp_error_is_retried(smtp_server: SmtpServer, password_file: Path):
    smtp_server.inbox.replies[:] = ["451 4.3.0 try again later"]
    dispatcher = _install(_env(smtp_server, password_file))
    notify.notify(BUDGET)
    assert dispatcher.flush(15)
    assert len(smtp_server.inbox.messages) == 1 and len(smtp_server.auth.attempts) == 2


def test_a_permanent_smtp_error_is_not_retried(smtp_server: SmtpServer, password_file: Path, capsys):
    smtp_server.inbox.replies[:] = ["554 5.6.0 rejected"]
    dispatcher = _install(_env(smtp_server, password_file))
    notify.notify(BUDGET)
    assert dispatcher.flush(15)
    assert smtp_server.inbox.messages == [] and len(smtp_server.auth.attempts) == 1
    [line] = warnings(capsys.readouterr().err)
    assert f"the email notifier (127.0.0.1:{smtp_server.port})" in line and "(SMTP 554, 1 attempt)" in line


def test_a_wrong_password_is_not_retried_and_not_shown(smtp_server: SmtpServer, tmp_path: Path, capsys):
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    dispatcher = _install(_env(smtp_server, wrong))
    notify.notify(BUDGET)
    assert dispatcher.flush(15)
    # one delivery attempt (smtplib's login tries each offered mechanism once: PLAIN, then LOGIN)
    mechanisms = [mechanism for mechanism, _ in smtp_server.auth.attempts]
    assert smtp_server.inbox.messages == [] and mechanisms == ["PLAIN", "LOGIN"]
    [line] = warnings(capsys.readouterr().err)
    assert "(SMTP 535 login refused, 1 attempt)" in line and "not-the-password" not in line


def test_an_untrusted_certificate_sends_nothing(smtp_server: SmtpServer, password_file: Path, capsys):
    dispatcher = _install(_env(smtp_server, password_file, OTEL_AI_ALERT_SMTP_CA_FILE=""))  # system CAs only
    notify.notify(BUDGET)
    assert dispatcher.flush(15)
    assert smtp_server.inbox.messages == [] and smtp_server.auth.attempts == []  # no credentials sent
    [line] = warnings(capsys.readouterr().err)
    assert "(TLS certificate not trusted, 1 attempt)" in line


def test_a_server_without_starttls_gets_no_credentials(certificate: tuple[Path, Path], password_file: Path, capsys):
    controller, server = _start(certificate, tls=False)
    try:
        dispatcher = _install(_env(server, password_file))
        notify.notify(BUDGET)
        assert dispatcher.flush(15)
        assert server.inbox.messages == [] and server.auth.attempts == []
        [line] = warnings(capsys.readouterr().err)
        assert "(the server does not offer STARTTLS, 1 attempt)" in line
    finally:
        controller.stop()


def test_no_smtp_server_is_retried_then_given_up(password_file: Path, certificate: tuple[Path, Path], capsys):
    port = free_port()
    env = {"OTEL_AI_ALERT_SMTP_HOST": "127.0.0.1", "OTEL_AI_ALERT_SMTP_PORT": str(port),
           "OTEL_AI_ALERT_SMTP_FROM": "a@example.com", "OTEL_AI_ALERT_SMTP_TO": "b@example.com"}
    dispatcher = _install(env)
    started = time.monotonic()
    notify.notify(BUDGET)
    assert dispatcher.flush(15)
    assert time.monotonic() - started >= 0.35
    [line] = warnings(capsys.readouterr().err)
    assert "(connection refused, 4 attempts)" in line
