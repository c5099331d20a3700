"""Fleet budgets on Prometheus: each budget's spend read with PromQL from a Prometheus-compatible query API.

With `OTEL_AI_BUDGET_SERVER=prometheus+http://host:9090` (or `prometheus+https://`, with a path prefix for
Mimir or a proxy) the fleet refresh asks `GET /api/v1/query` instead of an `otel-ai serve`: Prometheus,
Thanos, Mimir and VictoriaMetrics answer it alike. The query (`promql.spend_query`) sums what the cost
counter every process exports gained since the budget's period started, in the budget's scope.

Same schedule and same tracker semantics as the serve-backed refresh (`fleet.FleetRefresher`, whose thread,
timeouts, token and redirect rules this reuses): a daemon thread every `OTEL_AI_BUDGET_SERVER_TTL` seconds,
each request bounded by min(TTL, 2 s), the call path never waiting. Two differences:

* A budget whose scope the cost counter has no label for (a conversation, a user without
  OTEL_AI_METRICS_USER, one limit per user) counts this process's spend only: one warning line at start
  naming OTEL_AI_BUDGET_SERVER and each such budget.
* A failed refresh keeps the last fleet reading (plus this process's spend since) until the period ends,
  instead of dropping to this process's spend: the reading can only be lower than the truth, so keeping it
  never blocks a call the fleet had not already paid for, and a Prometheus restart does not reopen a budget
  the fleet has spent. One warning line says so; an info line when it answers again.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_ai import agent_warnings
from otel_ai.budgets import fleet
from otel_ai.budgets.config import BUDGET_SERVER_VAR
from otel_ai.budgets.promql import Target, label_matchers, parse_target, spend_query
from otel_ai.privacy.urls import display_url, split_credentials

if TYPE_CHECKING:
    from otel_ai.budgets.config import Budget
    from otel_ai.budgets.tracker import BudgetTracker

__all__ = ["PrometheusError", "PrometheusRefresher", "query_spend"]

_logger = logging.getLogger("otel_ai")


class PrometheusError(Exception):
    """The query API answered, with an error (a bad query, an overloaded server): its errorType and error."""


def query_spend(target: Target, query: str, at: float, *, timeout_s: float = 2.0, token: str | None = None) -> float:
    """Evaluate `query` at `at` (unix seconds) and return its single value (0.0 when the result is empty:
    nothing spent in the scope yet); raises on any failure."""
    base, basic = split_credentials(target.query_url)
    headers = {"Accept": "application/json"}
    if target.org_id:
        headers["X-Scope-OrgID"] = target.org_id
    if basic:
        headers["Authorization"] = basic
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{base}?{urlencode({'query': query, 'time': f'{at:.3f}'})}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with suppress_instrumentation(), fleet._opener.open(request, timeout=timeout_s) as response:
            body: Any = json.loads(response.read(1 << 20))
    except urllib.error.HTTPError as exc:
        if exc.code in (400, 422, 503):  # the API's own errors carry a JSON body saying what
            try:
                detail = json.loads(exc.read(65536))
            except Exception:
                raise exc from None
            what = f"{detail.get('errorType', exc.code)}: {str(detail.get('error', ''))[:300]}"
            raise PrometheusError(what) from None
        raise
    if not isinstance(body, dict) or body.get("status") != "success":
        raise PrometheusError(f"{body.get('errorType') if isinstance(body, dict) else 'answer'}: "
                              f"{str(body.get('error') if isinstance(body, dict) else body)[:300]}")
    data = body.get("data") or {}
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list):
        raise PrometheusError(f"answer: no result list in {str(body)[:200]}")
    if not result:
        return 0.0
    if len(result) != 1 or not isinstance(result[0], dict):
        raise PrometheusError(f"answer: expected one series, got {len(result)}")
    value = result[0].get("value")
    if not isinstance(value, list) or len(value) != 2:
        raise PrometheusError(f"answer: no [time, value] in {str(result[0])[:200]}")
    return float(value[1])  # "NaN" and "+Inf" parse too; the tracker ignores them


class PrometheusRefresher(fleet.FleetRefresher):
    """The background refresh of one tracker's fleet spend from a Prometheus query API."""

    def __init__(self, tracker: BudgetTracker, server: str, *, ttl_s: float = 5.0, token: str | None = None) -> None:
        super().__init__(tracker, server, ttl_s=ttl_s, token=token)
        target, problem = parse_target(server)
        if target is None:  # parse_budget_config already refused it; a direct caller gets the reason
            raise ValueError(problem)
        self.target = target
        self.last_ok: float | None = None  # when the last refresh succeeded (monotonic), None before the first
        self.queries: dict[str, str] = {}  # budget name -> its last query (tests, `otel-ai check`)
        self.readings: dict[str, float] = {}  # budget name -> its last fleet spend in USD (tests)
        self.local_only: dict[str, str] = {}  # budget name -> why its spend is this process's only
        self._matchers: dict[str, list[str]] = {}
        from otel_ai.genai.conversation import OPTIONS

        for budget in tracker.budgets:
            matchers, why = label_matchers(budget, hash_user=OPTIONS.hash_user,
                                           user_on_metrics=OPTIONS.user_on_metrics)
            if matchers is None:
                self.local_only[budget.name] = why
            else:
                self._matchers[budget.name] = matchers
        if self.local_only:
            listed = "; ".join(f"budget {name!r} ({why})" for name, why in self.local_only.items())
            agent_warnings.warn(
                "budget.prometheus_scope", display_url(self.server),
                f"{BUDGET_SERVER_VAR}={display_url(self.server)}: Prometheus cannot tell these scopes apart, they "
                f"count this process's spend only: {listed}",
            )

    def query_for(self, budget: Budget, period_start: float, now: float) -> str | None:
        """The PromQL of `budget`'s spend from `period_start` to `now`, or None for a local-only budget."""
        matchers = self._matchers.get(budget.name)
        if matchers is None:
            return None
        return spend_query(self.target.metric, matchers, now - period_start)

    def refresh(self) -> bool:
        """Query once for every budget; True when every answer came. Never raises."""
        try:
            now = self.tracker.clock()
            for budget, start, local in self.tracker.local_snapshot():
                query = self.query_for(budget, start, now)
                if query is None:
                    continue
                spent = query_spend(self.target, query, now, timeout_s=self.timeout_s, token=self._token)
                self.queries[budget.name] = query
                self.readings[budget.name] = spent
                self.tracker.apply_fleet(budget.name, start, spent, local)
        except Exception as exc:  # unreachable, refused, a bad answer: keep the last reading, say so once
            if not self.failing:
                self.failing = True
                self._warn(exc)
            return False
        self.last_ok = time.monotonic()
        if self.failing:
            self.failing = False
            _logger.info("otel-ai: Prometheus %s answers again; budgets count the fleet's spend",
                         display_url(self.target.base))
        with self._refreshed:
            self.refreshes += 1
            self._refreshed.notify_all()
        return True

    def _warn(self, exc: Exception) -> None:
        server = display_url(self.server)
        if self.last_ok is None:
            after = "; budgets count this process's spend only until it answers"
        else:
            after = (f"; budgets count the fleet's spend as read {time.monotonic() - self.last_ok:.0f} s ago plus "
                     "this process's spend since, until it answers (or the period ends)")
        if isinstance(exc, PrometheusError):
            agent_warnings.warn("budget.prometheus_query", server,
                                f"budget server {server} refused the spend query ({exc}){after}")
            return
        if isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403):
            what = ("refused the token in " if self._token else "asks for credentials: set ") + fleet.TOKEN_VAR
            agent_warnings.warn("budget.server_auth", server, f"budget server {server} {what} (HTTP {exc.code}), "
                                f"or put user:password@ in {BUDGET_SERVER_VAR}{after}")
            return
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code}" + (" redirect, not followed" if 300 <= exc.code < 400 else "")
        else:
            reason = str(getattr(exc, "reason", None) or exc)
            reason = reason.splitlines()[0][:200] if reason else type(exc).__name__
        agent_warnings.warn("budget.server_unreachable", server,
                            f"budget server {server} did not answer ({reason}){after}")
