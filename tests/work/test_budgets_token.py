"""Fleet budgets against a server that wants a token (`otel-ai serve --token`).

`OTEL_AI_BUDGET_SERVER_TOKEN` is read and checked with the other budget settings, sent as
`Authorization: Bearer <token>` to a real HTTP server on 127.0.0.1 that checks it, never shown in a
problem line, a warning, a repr or the settings; a 401 is one warning naming the variable, and a
redirect is not followed (it would carry the token elsewhere).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

import otel_ai.budgets as B
from otel_ai._net import LocalHTTPServer
from otel_ai.budgets.fleet import SPEND_PATH, FleetRefresher
from otel_ai.genai import hooks as calls
from otel_ai.runtime.settings import Settings

TOKEN = "fleet-token-0123456789abcdef"
BUDGETS = '[{"name": "fleet", "limit_usd": 1.0, "action": "block"}]'


class SpendServer:
    """A budget-spend endpoint on 127.0.0.1 that answers only with the right Bearer token (else 401),
    or redirects every request to `redirect_to`; it records each request's Authorization header."""

    def __init__(self, token: str | None, spent_usd: float = 0.25, redirect_to: str | None = None) -> None:
        self.token = token
        self.spent_usd = spent_usd
        self.redirect_to = redirect_to
        self.seen: list[tuple[str, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.seen.append((self.path, self.headers.get("Authorization")))
                if owner.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", owner.redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if owner.token is not None and self.headers.get("Authorization") != f"Bearer {owner.token}":
                    body = b'{"detail": "a token is required"}'
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", "Bearer")
                elif not self.path.startswith(SPEND_PATH):
                    body = b"{}"
                    self.send_response(404)
                else:
                    body = json.dumps({"spent_usd": owner.spent_usd, "calls": 3}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[SpendServer]:
    s = SpendServer(TOKEN)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _clean_seam() -> Iterator[None]:
    yield
    B.uninstall()
    calls.SEAM.gates = ()
    calls.SEAM.listeners = ()


def tracker() -> B.BudgetTracker:
    return B.BudgetTracker([B.Budget("fleet", 1.0, action="block")])


def test_the_token_is_read_with_the_server_and_never_shown() -> None:
    config, problems = B.parse_budget_config({"OTEL_AI_BUDGETS": BUDGETS, "OTEL_AI_BUDGET_SERVER": "http://127.0.0.1:8200",
                                              "OTEL_AI_BUDGET_SERVER_TOKEN": f"  {TOKEN}\n"})
    assert problems == [] and config.token == TOKEN
    assert TOKEN not in repr(config)
    settings = Settings.from_env({"OTEL_AI_BUDGETS": BUDGETS, "OTEL_AI_BUDGET_SERVER": "http://127.0.0.1:8200",
                                  "OTEL_AI_BUDGET_SERVER_TOKEN": TOKEN})
    assert settings.budgets.token == TOKEN and TOKEN not in repr(settings)


@pytest.mark.parametrize(("env", "says"), [
    ({"OTEL_AI_BUDGET_SERVER": "http://127.0.0.1:8200", "OTEL_AI_BUDGET_SERVER_TOKEN": "two words-0123456789"},
     "OTEL_AI_BUDGET_SERVER_TOKEN holds spaces"),
    ({"OTEL_AI_BUDGET_SERVER": "http://127.0.0.1:8200", "OTEL_AI_BUDGET_SERVER_TOKEN": "t\u00f6ken-0123456789abc"},
     "OTEL_AI_BUDGET_SERVER_TOKEN holds spaces, control or non-ASCII"),
    ({"OTEL_AI_BUDGET_SERVER_TOKEN": "alone-0123456789abcdef"},
     "OTEL_AI_BUDGET_SERVER_TOKEN is set but OTEL_AI_BUDGET_SERVER is not"),
])
def test_a_bad_or_unused_token_is_one_problem_line_naming_the_variable_without_the_value(
    env: dict[str, str], says: str,
) -> None:
    config, problems = B.parse_budget_config({"OTEL_AI_BUDGETS": BUDGETS, **env})
    assert config.token is None
    assert len(problems) == 1 and problems[0].startswith(says)
    assert env["OTEL_AI_BUDGET_SERVER_TOKEN"] not in problems[0]
    settings = Settings.from_env({"OTEL_AI_BUDGETS": BUDGETS, **env})
    assert any(p.startswith(says) for p in settings.problems)


def test_the_refresh_sends_the_bearer_token_and_counts_the_fleet(server: SpendServer) -> None:
    t = tracker()
    refresher = FleetRefresher(t, server.url, ttl_s=60, token=TOKEN)
    assert refresher.refresh()
    assert [auth for _, auth in server.seen] == [f"Bearer {TOKEN}"]
    (status,) = t.statuses()
    assert status.fleet and status.spent_usd == 0.25


def test_installed_from_the_environment_the_refresher_carries_the_token(server: SpendServer) -> None:
    config, problems = B.parse_budget_config({"OTEL_AI_BUDGETS": BUDGETS, "OTEL_AI_BUDGET_SERVER": server.url,
                                              "OTEL_AI_BUDGET_SERVER_TOKEN": TOKEN, "OTEL_AI_BUDGET_SERVER_TTL": "0.1"})
    assert not problems
    tracker = B.install(config, service="svc")
    assert tracker is not None
    refresher = B.refresher()
    assert refresher is not None and refresher.wait_for_refresh(2, 10)
    assert server.seen and all(auth == f"Bearer {TOKEN}" for _, auth in server.seen)
    assert tracker.statuses()[0].fleet


@pytest.mark.parametrize(("token", "says"), [
    (None, "asks for a token (HTTP 401): set OTEL_AI_BUDGET_SERVER_TOKEN"),
    ("wrong-token-0123456789abcdef", "refused the token in OTEL_AI_BUDGET_SERVER_TOKEN (HTTP 401)"),
])
def test_a_401_is_one_warning_naming_the_variable_and_budgets_count_locally(
    server: SpendServer, caplog: pytest.LogCaptureFixture, token: str | None, says: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    t = tracker()
    t.on_call(calls.CallFacts(calls.CallScope("openai", "chat", "m", None), 0.1, 1, 1, 0, False))
    refresher = FleetRefresher(t, server.url, ttl_s=60, token=token)
    with caplog.at_level(logging.DEBUG, logger="otel_ai"):
        assert not refresher.refresh()
        assert not refresher.refresh()
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("otel-ai:")]
    assert len(warnings) == 1 and says in warnings[0], warnings
    assert "this process's spend only" in warnings[0]
    assert TOKEN not in warnings[0] and (token or TOKEN) not in warnings[0]
    assert all(TOKEN not in r.getMessage() and (token or TOKEN) not in r.getMessage() for r in caplog.records)
    (status,) = t.statuses()
    assert not status.fleet and status.spent_usd == 0.1  # fail-open: this process's own spend
    server.token = None  # the server now lets it in: fleet numbers again
    with caplog.at_level(logging.INFO, logger="otel_ai"):
        assert refresher.refresh()
    assert t.statuses()[0].fleet


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(capsys: pytest.CaptureFixture[str]) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    elsewhere = SpendServer(None)
    redirecting = SpendServer(TOKEN, redirect_to=elsewhere.url)
    try:
        refresher = FleetRefresher(tracker(), redirecting.url, ttl_s=60, token=TOKEN)
        assert not refresher.refresh()
        assert len(redirecting.seen) == 1 and elsewhere.seen == []
        assert "HTTP 302 redirect, not followed" in capsys.readouterr().err
    finally:
        elsewhere.close()
        redirecting.close()


def test_a_url_with_user_info_is_printed_masked(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    refresher = FleetRefresher(tracker(), "http://admin:hunter2-secret@127.0.0.1:9", ttl_s=60)
    with caplog.at_level(logging.DEBUG, logger="otel_ai"):
        assert not refresher.refresh()
    (line,) = capsys.readouterr().err.splitlines()
    assert "hunter2-secret" not in line and "***@127.0.0.1:9" in line
    assert all("hunter2-secret" not in record.getMessage() for record in caplog.records)


def test_user_info_in_the_server_url_is_sent_as_basic_not_taken_for_the_host() -> None:
    plain = SpendServer(None)
    try:
        url = plain.url.replace("http://", "http://admin:p%40ss@")
        refresher = FleetRefresher(tracker(), url, ttl_s=60)
        assert refresher.refresh()  # before: "admin:p%40ss@127.0.0.1" was looked up as a host name
        ((_, auth),) = plain.seen
        assert auth == "Basic " + base64.b64encode(b"admin:p@ss").decode()
    finally:
        plain.close()


def test_a_problem_line_masks_the_password_of_a_bad_server_url() -> None:
    _, problems = B.parse_budget_config({"OTEL_AI_BUDGETS": BUDGETS,
                                         "OTEL_AI_BUDGET_SERVER": "ftp://admin:hunter2-secret@host"})
    assert len(problems) == 1 and "hunter2-secret" not in problems[0] and "admin:***@host" in problems[0]
