"""Fleet-wide budgets: the spend of every process, from an `otel-ai serve` store, refreshed in the background.

With `OTEL_AI_BUDGET_SERVER=http://host:port` a daemon thread asks the server, every
`OTEL_AI_BUDGET_SERVER_TTL` seconds (default 5), what each budget's scope has spent since its period
started (`GET /api/v1/budgets/spend`), and hands the answer to the tracker with the local spend at the
moment it asked. The tracker then counts fleet spend at the last refresh plus local spend since, so the
call path never waits on the network, and never counts less than this process's own spend.

The server knows a call once the process that made it has exported its span (the span processor's
schedule, 5 s by default) and the store has committed it; the fleet number therefore lags by about
that delay plus the TTL. A server that does not answer is not fatal: one warning line, and budgets
count this process's spend until it answers again (fail-open).

The HTTP is plain urllib, with instrumentation suppressed: the refresh makes no spans of its own.
A server started with a token (`otel-ai serve --token`) is asked with `Authorization: Bearer` and
the token of `OTEL_AI_BUDGET_SERVER_TOKEN`; redirects are not followed (they would carry the token
to wherever they point), and a 401 answer is one warning naming that variable.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_ai import agent_warnings
from otel_ai.privacy.urls import display_url, split_credentials

if TYPE_CHECKING:
    from typing_extensions import Self

    from otel_ai.budgets.config import Budget
    from otel_ai.budgets.tracker import BudgetTracker

__all__ = ["SPEND_PATH", "FleetRefresher", "fetch_spend"]

SPEND_PATH = "/api/v1/budgets/spend"
TOKEN_VAR = "OTEL_AI_BUDGET_SERVER_TOKEN"
_MAX_TIMEOUT_S = 2.0
_logger = logging.getLogger("otel_ai")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error here: following it would send the token to another address."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def fetch_spend(server: str, budget: Budget, since: float, *, timeout_s: float = _MAX_TIMEOUT_S,
                token: str | None = None) -> float:
    """The fleet's spend in `budget`'s scope since `since` (unix seconds), in USD; raises on any failure
    (`urllib.error.HTTPError` with code 401 when the server wants a token it did not get)."""
    params = {"since": datetime.fromtimestamp(since, timezone.utc).isoformat(), **budget.scope}
    headers = {"Accept": "application/json"}
    server, basic = split_credentials(server)  # user:password@ in the URL: Basic, never part of the host
    if basic:
        headers["Authorization"] = basic
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{server}{SPEND_PATH}?{urlencode(params)}", headers=headers)
    with suppress_instrumentation(), _opener.open(request, timeout=timeout_s) as response:
        body: Any = json.loads(response.read(65536))
    spent = body.get("spent_usd") if isinstance(body, dict) else None
    if isinstance(spent, bool) or not isinstance(spent, (int, float)):
        raise ValueError(f"the answer has no number spent_usd: {str(body)[:200]}")
    return float(spent)


class FleetRefresher:
    """The background refresh of one tracker's fleet spend; `start()` it, `stop()` it at the end."""

    def __init__(self, tracker: BudgetTracker, server: str, *, ttl_s: float = 5.0, token: str | None = None) -> None:
        self.tracker = tracker
        self.server = server.rstrip("/")
        self._token = token or None  # never printed, never exported
        self.ttl_s = ttl_s
        self.timeout_s = min(ttl_s, _MAX_TIMEOUT_S)
        self.failing = False  # the last refresh failed (the warning was printed once)
        self.refreshes = 0  # successful refreshes (tests wait on it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refreshed = threading.Condition()

    def start(self) -> Self:
        thread = threading.Thread(target=self._run, name="otel-ai-budget-fleet", daemon=True)
        self._thread = thread
        thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def wait_for_refresh(self, count: int, timeout_s: float) -> bool:
        """Block until `count` refreshes have succeeded (tests); False on timeout."""
        with self._refreshed:
            return self._refreshed.wait_for(lambda: self.refreshes >= count, timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self.ttl_s)

    def refresh(self) -> bool:
        """Ask the server once for every budget; True when every answer came. Never raises."""
        try:
            for budget, start, local in self.tracker.local_snapshot():
                spent = fetch_spend(self.server, budget, start, timeout_s=self.timeout_s, token=self._token)
                self.tracker.apply_fleet(budget.name, start, spent, local)
        except Exception as exc:  # unreachable, refused, a bad answer: count locally, say so once
            if not self.failing:
                self.failing = True
                self._warn(exc)
            self.tracker.forget_fleet()
            return False
        if self.failing:
            self.failing = False
            _logger.info("otel-ai: budget server %s answers again; budgets count the fleet's spend",
                         display_url(self.server))
        with self._refreshed:
            self.refreshes += 1
            self._refreshed.notify_all()
        return True

    def _warn(self, exc: Exception) -> None:
        """The one line for a refresh that failed: what happened and, for a refused token, what to set."""
        server = display_url(self.server)
        after = "; budgets count this process's spend only until it answers"
        if isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403):
            if self._token:
                what = f"refused the token in {TOKEN_VAR} (HTTP {exc.code}): set it to the server's token"
            else:
                what = (f"asks for a token (HTTP {exc.code}): set {TOKEN_VAR} to the token the server was "
                        "started with (otel-ai serve --token, or OTEL_AI_SERVE_TOKEN)")
            agent_warnings.warn("budget.server_auth", server, f"budget server {server} {what}{after}")
            return
        if isinstance(exc, urllib.error.HTTPError) and 300 <= exc.code < 400:
            reason = f"HTTP {exc.code} redirect, not followed: set the server's own address"
        elif isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code}"
        else:
            reason = str(getattr(exc, "reason", None) or exc)
            reason = reason.splitlines()[0][:200] if reason else type(exc).__name__
        agent_warnings.warn(
            "budget.server_unreachable", server, f"budget server {server} did not answer ({reason}){after}"
        )
