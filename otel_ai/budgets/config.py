"""Budget declarations: the `Budget` spec, spend units, and the parser of `OTEL_AI_BUDGETS` and the
`OTEL_AI_BUDGET_SERVER*` variables.

Kept apart from the tracker so that settings (and `otel-ai check`, and the server's budget pages)
read budgets without loading the spend-tracking machinery.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timezone, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from otel_ai.budgets.promql import PROMETHEUS_SCHEMES, parse_target
from otel_ai.privacy.urls import display_url
from otel_ai.variables import parse_seconds

__all__ = [
    "ACTIONS",
    "BUDGETS_VAR",
    "BUDGET_SERVER_TOKEN_VAR",
    "BUDGET_SERVER_TTL_VAR",
    "BUDGET_SERVER_VAR",
    "DEFAULT_TTL_S",
    "DEFAULT_WARN_AT",
    "EACH",
    "PERIODS",
    "PER_VALUE_KEYS",
    "PROMETHEUS_SCHEMES",
    "SCOPE_KEYS",
    "UNITS_PER_USD",
    "Action",
    "Budget",
    "BudgetConfig",
    "Period",
    "parse_budget_config",
    "parse_budgets",
    "to_units",
]

BUDGETS_VAR: Final = "OTEL_AI_BUDGETS"
BUDGET_SERVER_VAR: Final = "OTEL_AI_BUDGET_SERVER"
BUDGET_SERVER_TTL_VAR: Final = "OTEL_AI_BUDGET_SERVER_TTL"
BUDGET_SERVER_TOKEN_VAR: Final = "OTEL_AI_BUDGET_SERVER_TOKEN"
UNITS_PER_USD: Final = 10**12  # spend is counted in integer pico-dollars
DEFAULT_TTL_S: Final = 5.0
DEFAULT_WARN_AT: Final = (0.5, 0.8)
PERIODS: Final = ("day", "week", "month")
ACTIONS: Final = ("alert", "block")
SCOPE_KEYS: Final = ("provider", "model", "task_type", "service", "user", "conversation")
# Scope keys whose value may be "*": the budget then applies to each user (or conversation) separately.
PER_VALUE_KEYS: Final = ("user", "conversation")
EACH: Final = "*"
_FIELDS: Final = frozenset({"name", "scope", "period", "limit_usd", "warn_at", "action", "timezone"})

Period = Literal["day", "week", "month"]
Action = Literal["alert", "block"]


def to_units(usd: float) -> int:
    """`usd` in whole units of 1e-12 USD, rounded to the nearest (half to even).

    Below 1,000 USD the float product is exact enough (its error stays under a quarter unit) for any
    amount with up to twelve decimals to come out exactly, and it is what the per-call path needs:
    fast. Larger amounts (limits) go through their shortest decimal form, which is exact too.
    """
    if -1e3 < usd < 1e3:
        return round(usd * 1e12)
    return int(Decimal(repr(usd)).scaleb(12).to_integral_value(ROUND_HALF_EVEN))



@dataclass(frozen=True, slots=True)
class Budget:
    """One declared budget. `scope` holds only the keys given (all must match); empty: every call."""

    name: str
    limit_usd: float
    period: Period = "day"
    scope: Mapping[str, str] = field(default_factory=dict)
    warn_at: tuple[float, ...] = DEFAULT_WARN_AT
    action: Action = "alert"
    timezone: str = "UTC"

    @property
    def per_value(self) -> str | None:
        """`user` or `conversation` when the scope says `"*"` for it: one limit for each value, not one in all."""
        for key in PER_VALUE_KEYS:
            if self.scope.get(key) == EACH:
                return key
        return None

    @property
    def thresholds(self) -> tuple[float, ...]:
        """The fractions of the limit that notify, ascending; the limit itself (1.0) is always last."""
        return (*sorted({w for w in self.warn_at if w < 1.0}), 1.0)

    @property
    def tz(self) -> tzinfo:
        return timezone.utc if self.timezone.upper() == "UTC" else ZoneInfo(self.timezone)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "scope": dict(self.scope), "period": self.period, "limit_usd": self.limit_usd,
                "warn_at": list(self.warn_at), "action": self.action, "timezone": self.timezone}


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """Everything the budget settings say: the budgets, and the fleet server to count against (if any)."""

    budgets: tuple[Budget, ...] = ()
    server: str | None = None
    ttl_s: float = DEFAULT_TTL_S
    token: str | None = field(default=None, repr=False)  # sent as a Bearer token; never printed



def parse_budget_config(env: Mapping[str, str] | None = None) -> tuple[BudgetConfig, list[str]]:
    """Read `OTEL_AI_BUDGETS`, `OTEL_AI_BUDGET_SERVER`, `..._TTL` and `..._TOKEN`; never raises.

    Each problem is one line naming the variable (and the entry); a bad entry is skipped, a bad
    server URL means per-process budgets, a bad TTL means the default, a bad token means none is
    sent. No line ever shows the token.
    """
    env = os.environ if env is None else env
    budgets, problems = parse_budgets(env.get(BUDGETS_VAR))
    server = (env.get(BUDGET_SERVER_VAR) or "").strip() or None
    if server is not None:
        parts = urlsplit(server)
        if parts.scheme.lower() in PROMETHEUS_SCHEMES:
            target, problem = parse_target(server)
            if target is None:
                problems.append(f"{BUDGET_SERVER_VAR}={display_url(server)!r}: {problem}; "
                                "budgets count this process's spend only")
                server = None
        elif parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{BUDGET_SERVER_VAR}={display_url(server)!r} is not an http:// or https:// URL "
                            "of an otel-ai serve (example: http://127.0.0.1:8200) nor a prometheus+http:// or "
                            "prometheus+https:// URL of a Prometheus query API; "
                            "budgets count this process's spend only")
            server = None
        else:
            server = server.rstrip("/")
    ttl = DEFAULT_TTL_S
    raw_ttl = (env.get(BUDGET_SERVER_TTL_VAR) or "").strip()
    if raw_ttl:
        try:
            ttl = parse_seconds(raw_ttl)
            if not math.isfinite(ttl) or ttl <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"{BUDGET_SERVER_TTL_VAR}={raw_ttl!r} is not a positive number of seconds; "
                            f"using {DEFAULT_TTL_S:g}")
            ttl = DEFAULT_TTL_S
    token: str | None = (env.get(BUDGET_SERVER_TOKEN_VAR) or "").strip() or None
    if token is not None:
        if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
            problems.append(f"{BUDGET_SERVER_TOKEN_VAR} holds spaces, control or non-ASCII characters, which no "
                            "token of otel-ai serve has; the budget server is asked without a token")
            token = None
        elif server is None and not (env.get(BUDGET_SERVER_VAR) or "").strip():
            problems.append(f"{BUDGET_SERVER_TOKEN_VAR} is set but {BUDGET_SERVER_VAR} is not; "
                            "the token is not used")
            token = None
    return BudgetConfig(tuple(budgets), server, ttl, token), problems


def parse_budgets(raw: str | None, variable: str = BUDGETS_VAR) -> tuple[list[Budget], list[str]]:
    """Budgets from inline JSON or a YAML/JSON file path; (budgets, problems), never raises.

    The document is a list of budget objects, or an object whose `budgets` key holds that list.
    """
    text = (raw or "").strip()
    if not text:
        return [], []
    problems: list[str] = []
    source = f"{variable}"
    if text[0] in "[{":
        try:
            document: Any = json.loads(text)
        except ValueError as exc:
            return [], [f"{variable}: not valid JSON ({exc}); no budgets are active"]
    else:
        path = Path(text).expanduser()
        source = f"{variable} file {str(path)!r}"
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            return [], [f"{source}: cannot be read ({exc.strerror or exc}); no budgets are active"]
        try:
            if path.suffix.lower() == ".json":
                document = json.loads(content)
            else:
                import yaml

                document = yaml.safe_load(content)
        except Exception as exc:  # YAML's and JSON's errors alike: one line, no budgets
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return [], [f"{source}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'} ({first}); "
                        "no budgets are active"]
    if isinstance(document, dict) and "budgets" in document:
        document = document["budgets"]
    if document is None:
        return [], []
    if not isinstance(document, list):
        return [], [f"{source}: expected a list of budgets, got {type(document).__name__}; no budgets are active"]
    budgets: list[Budget] = []
    names: set[str] = set()
    for number, entry in enumerate(document, start=1):
        label = entry.get("name") if isinstance(entry, dict) else None
        where = f"{source}: entry {number}" + (f" ({label!r})" if isinstance(label, str) and label else "")
        try:
            budget = _budget(entry)
        except ValueError as exc:
            problems.append(f"{where}: {exc}; skipped")
            continue
        if budget.name in names:
            problems.append(f"{where}: the name {budget.name!r} is used by an earlier entry; skipped")
            continue
        names.add(budget.name)
        budgets.append(budget)
    return budgets, problems


def _budget(entry: Any) -> Budget:
    """One entry, validated; ValueError says what is wrong in words a user can act on."""
    if not isinstance(entry, dict):
        raise ValueError(f"expected an object with name, period and limit_usd, got {type(entry).__name__}")
    unknown = sorted(str(k) for k in set(entry) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("'name' must be a non-empty string")
    period = entry.get("period", "day")
    if period not in PERIODS:
        raise ValueError(f"'period' is {period!r}, not one of: {', '.join(PERIODS)}")
    limit = entry.get("limit_usd")
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit <= 0:
        raise ValueError(f"'limit_usd' must be a number greater than 0, got {limit!r}")
    warn_at_raw = entry.get("warn_at", list(DEFAULT_WARN_AT))
    if not isinstance(warn_at_raw, list) or not all(
        isinstance(w, (int, float)) and not isinstance(w, bool) and 0 < w <= 1 for w in warn_at_raw
    ):
        raise ValueError(f"'warn_at' must be a list of fractions of the limit in (0, 1], got {warn_at_raw!r}")
    action = entry.get("action", "alert")
    if action not in ACTIONS:
        raise ValueError(f"'action' is {action!r}, not one of: {', '.join(ACTIONS)}")
    scope_raw = entry.get("scope") or {}
    if not isinstance(scope_raw, dict):
        raise ValueError(f"'scope' must be an object with any of {', '.join(SCOPE_KEYS)}")
    bad_keys = sorted(str(k) for k in set(scope_raw) - set(SCOPE_KEYS))
    if bad_keys:
        raise ValueError(f"unknown scope key(s) {', '.join(bad_keys)} (known: {', '.join(SCOPE_KEYS)})")
    scope: dict[str, str] = {}
    for key in SCOPE_KEYS:
        value = scope_raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise ValueError(f"scope '{key}' must be a non-empty string, got {value!r}")
        if value == EACH and key not in PER_VALUE_KEYS:
            raise ValueError(f"scope '{key}' cannot be \"*\" (only {' and '.join(PER_VALUE_KEYS)} can: "
                             "one limit for each value)")
        scope[key] = value
    if sum(1 for key in PER_VALUE_KEYS if scope.get(key) == EACH) > 1:
        raise ValueError('only one of user and conversation can be "*" in a scope')
    zone = entry.get("timezone", "UTC")
    if not isinstance(zone, str) or not zone:
        raise ValueError(f"'timezone' must be an IANA time zone name such as Europe/Paris, got {zone!r}")
    if zone.upper() != "UTC":
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'timezone' {zone!r} is not a known IANA time zone (example: Europe/Paris)") from None
    return Budget(name=name.strip(), limit_usd=float(limit), period=period, scope=scope,
                  warn_at=tuple(float(w) for w in warn_at_raw), action=action, timezone=zone)
