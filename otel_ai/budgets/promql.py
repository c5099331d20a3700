"""PromQL for fleet budgets: the `prometheus+http(s)://` target, each budget scope's label matchers, the spend query.

Pure functions (no network, no tracker), so settings can validate `OTEL_AI_BUDGET_SERVER` and tests can read
the exact query. `budgets.prometheus` runs the queries.

The spend of a scope since a period started is read from the cost counter (`otel_ai.client.cost`,
`otel_ai_client_cost_total` in Prometheus) as the sum over its series of what each added in the window:

* a series that had a value when the period started: its last value in the window minus that value;
* a series that appeared in the window (a process started since): its last value, all of it spent since
  (the first scrape of a new process already holds the calls made before it, which `increase()` would miss);
* a series whose counter went down in the window (a process restarted under the same labels): `increase()`,
  Prometheus' reset-aware estimate, which extrapolates: the one inexact case.

`last_over_time` keeps the last value of processes that have stopped: their spend still counts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

if TYPE_CHECKING:
    from otel_ai.budgets.config import Budget

__all__ = [
    "COST_METRIC",
    "LABELS",
    "LOOKBACK",
    "PROMETHEUS_SCHEMES",
    "Target",
    "label_matchers",
    "parse_target",
    "quote",
    "spend_query",
]

# OTEL_AI_BUDGET_SERVER with one of these schemes names a Prometheus-compatible query API.
PROMETHEUS_SCHEMES: Final = ("prometheus+http", "prometheus+https")
COST_METRIC: Final = "otel_ai_client_cost_total"
# Budget scope key -> the label of the cost counter in Prometheus that holds it. `service` is `job`: what the
# OTLP receivers of Prometheus and Mimir and the collector's Prometheus exporter make of `service.name`, and
# the scrape job of a direct scrape (name it after the service). `user` exists only with
# OTEL_AI_METRICS_USER (hashed with OTEL_AI_USER_ID_HASH); `conversation` is never on a metric.
LABELS: Final[Mapping[str, str]] = {
    "provider": "gen_ai_provider_name",
    "model": "gen_ai_request_model",
    "task_type": "otel_ai_task_type",
    "service": "job",
}
USER_LABELS: Final = {False: "user_id", True: "user_hash"}  # by OTEL_AI_USER_ID_HASH
# How far before the period's start a series' value is looked for (Prometheus' default lookback delta).
LOOKBACK: Final = "5m"
_METRIC_RE: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_OPTIONS: Final = frozenset({"metric", "org_id"})
_ORG_RE: Final = re.compile(r"[A-Za-z0-9!._*'()|-]{1,150}")  # Mimir's tenant ids (several joined by |)


@dataclass(frozen=True, slots=True)
class Target:
    """Where to ask: `base` is the http(s) URL under which `/api/v1/query` lives; `metric` the cost counter;
    `org_id` the tenant of a multi-tenant Mimir, Cortex or Thanos (sent as `X-Scope-OrgID`)."""

    base: str
    metric: str = COST_METRIC
    org_id: str | None = None

    @property
    def query_url(self) -> str:
        return f"{self.base}/api/v1/query"


def parse_target(server: str) -> tuple[Target | None, str]:
    """`prometheus+http(s)://[user:password@]host[:port][/path][?metric=name][&org_id=tenant]` -> (Target, "") or
    (None, what is wrong). The path is the API's prefix (Mimir's `/prometheus`, a proxy's); never raises."""
    try:
        parts = urlsplit(server.strip())
        scheme = parts.scheme.lower()
        if scheme not in PROMETHEUS_SCHEMES:
            return None, f"the scheme is not one of {', '.join(s + '://' for s in PROMETHEUS_SCHEMES)}"
        if not parts.hostname:
            return None, "no host (example: prometheus+http://127.0.0.1:9090)"
        _ = parts.port  # ValueError for a port that is not a number or out of range
        options: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in _OPTIONS:
                return None, f"unknown option {key!r} (known: {', '.join(sorted(_OPTIONS))})"
            if key == "metric" and not _METRIC_RE.fullmatch(value):
                return None, f"metric={value!r} is not a Prometheus metric name"
            if key == "org_id" and not _ORG_RE.fullmatch(value):
                return None, f"org_id={value!r} is not a tenant id (letters, digits, !-_.*'() and | between ids)"
            options[key] = value
        if parts.fragment:
            return None, "a #fragment means nothing here"
        base = urlunsplit((scheme.removeprefix("prometheus+"), parts.netloc, parts.path.rstrip("/"), "", ""))
        return Target(base, options.get("metric", COST_METRIC), options.get("org_id")), ""
    except ValueError as exc:
        return None, f"not a URL ({exc})"


def quote(value: str) -> str:
    """`value` as a PromQL string literal (Go's escapes, which JSON's are a subset of)."""
    return json.dumps(value, ensure_ascii=False)


def label_matchers(budget: Budget, *, hash_user: bool = False,
                   user_on_metrics: bool = False) -> tuple[list[str] | None, str]:
    """The label matchers selecting `budget`'s scope on the cost counter: (matchers, "") or, for a scope
    Prometheus cannot tell apart, (None, why). `user_value` is applied by the caller's tracker rules:
    a hashed user is matched by its hash, as the counter carries it."""
    matchers: list[str] = []
    for key, value in budget.scope.items():
        if key in LABELS:
            matchers.append(f"{LABELS[key]}={quote(value)}")
        elif key == "conversation":
            return None, "scope conversation: no conversation label on the cost counter (never on metrics)"
        elif key == "user":
            if value == "*":  # config.EACH (not imported: config reads this module)
                return None, 'scope user "*": one limit per user is counted per process'
            if not user_on_metrics:
                return None, "scope user: the cost counter has no user label unless OTEL_AI_METRICS_USER=true"
            from otel_ai.genai.conversation import user_value

            matchers.append(f"{USER_LABELS[hash_user]}={quote(user_value(value))}")
    return matchers, ""


def _window(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds * 1000))}ms"


def spend_query(metric: str, matchers: list[str], window_s: float) -> str:
    """The PromQL of a scope's spend over the last `window_s` seconds before the evaluation time (the
    period's start to now); see the module's docstring for the three cases."""
    selector = f"{metric}{{{','.join(matchers)}}}"
    window = _window(window_s)
    last = f"last_over_time({selector}[{window}])"
    before = f"last_over_time({selector}[{LOOKBACK}] offset {window})"
    reset = f"(resets({selector}[{window}]) > 0)"
    exact = f"((({last} - {before}) >= 0) or {last})"
    return f"sum(({exact} unless {reset}) or (increase({selector}[{window}]) and {reset}))"
