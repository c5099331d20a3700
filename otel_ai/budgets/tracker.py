"""Budgets: spend tracked in-process per calendar period, threshold notices, gauges, and blocking.

`OTEL_AI_BUDGETS` declares them (inline JSON, or the path of a YAML/JSON file)::

    [{"name": "daily-gpt", "scope": {"provider": "openai", "model": "gpt-4o-mini"},
      "period": "day", "limit_usd": 20, "warn_at": [0.5, 0.8], "action": "block", "timezone": "UTC"}]

The recorder hands every finished call to `BudgetTracker.on_call` (through `otel_ai.genai.hooks`),
which adds its cost to each budget whose scope matches and notifies (`otel_ai.notify.notification`) on each
threshold crossed, once per budget, threshold and period. A budget with `action: block` also
registers `BudgetTracker.gate`, which raises `BudgetExceeded` before the request is sent once the
period's spend has reached the limit.

Spend is counted per process: each process of a fleet sees its own calls only. With
`OTEL_AI_BUDGET_SERVER` naming an `otel-ai serve`, `otel_ai.budgets.fleet` refreshes the fleet's
spend in the background and the tracker adds the local spend since (see `apply_fleet`); the
call path never waits on the network.

Spend is counted in whole units of 1e-12 USD (`UNITS_PER_USD`), as Python integers: each call's
cost, the limit and every threshold are rounded to the unit once, then only added and compared, so
ten calls of 0.000003 USD reach a 0.00003 USD limit exactly at the tenth (float sums fall short
of it and let an eleventh through). Any amount with up to twelve decimals is held exactly; for
costs that are not (1/3 USD), a threshold counts as reached within half a unit per call counted,
the most the per-call rounding can have lost.

Severity of a notice: the limit (1.0) is critical, the highest `warn_at` below it warning, any
lower one info. A bad entry is one problem line naming `OTEL_AI_BUDGETS` and the entry, and is
skipped; nothing here raises into the app except `BudgetExceeded` from the gate.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from otel_ai.errors import BudgetExceeded
from otel_ai.genai import hooks as calls
from otel_ai.guard import report
from otel_ai.money import format_usd
from otel_ai.notify.notification import Notification, Severity, notify
from otel_ai.privacy.urls import display_url

__all__ = [
    "BUDGETS_VAR",
    "BUDGET_SERVER_TOKEN_VAR",
    "BUDGET_SERVER_TTL_VAR",
    "BUDGET_SERVER_VAR",
    "PERIODS",
    "SCOPE_KEYS",
    "UNITS_PER_USD",
    "Budget",
    "BudgetConfig",
    "BudgetStatus",
    "BudgetTracker",
    "active",
    "install",
    "parse_budget_config",
    "parse_budgets",
    "period_bounds",
    "refresher",
    "severity",
    "to_units",
    "uninstall",
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
SCOPE_KEYS: Final = ("provider", "model", "task_type", "service")
_FIELDS: Final = frozenset({"name", "scope", "period", "limit_usd", "warn_at", "action", "timezone"})
_CACHE_MAX: Final = 4096  # distinct call scopes remembered; past this the cache starts over

Period = Literal["day", "week", "month"]
Action = Literal["alert", "block"]
_logger = logging.getLogger("otel_ai")


def to_units(usd: float) -> int:
    """`usd` in whole units of 1e-12 USD, rounded to the nearest (half to even).

    Below 1,000 USD the float product is exact enough (its error stays under a quarter unit) for any
    amount with up to twelve decimals to come out exactly, and it is what the per-call path needs:
    fast. Larger amounts (limits) go through their shortest decimal form, which is exact too.
    """
    if -1e3 < usd < 1e3:
        return round(usd * 1e12)
    return int(Decimal(repr(usd)).scaleb(12).to_integral_value(ROUND_HALF_EVEN))


def _usd(units: int) -> float:
    return units / UNITS_PER_USD


# -- declarations ---------------------------------------------------------------------------------------


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


def severity(budget: Budget, threshold: float) -> Severity:
    """critical at the limit, warning at the highest `warn_at` below it, info below that."""
    levels = budget.thresholds
    if threshold >= 1.0:
        return "critical"
    return "warning" if len(levels) >= 2 and threshold == levels[-2] else "info"


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
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{BUDGET_SERVER_VAR}={display_url(server)!r} is not an http:// or https:// URL "
                            "of an otel-ai serve (example: http://127.0.0.1:8200); "
                            "budgets count this process's spend only")
            server = None
        else:
            server = server.rstrip("/")
    ttl = DEFAULT_TTL_S
    raw_ttl = (env.get(BUDGET_SERVER_TTL_VAR) or "").strip()
    if raw_ttl:
        try:
            ttl = float(raw_ttl.removesuffix("s"))
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
        scope[key] = value
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


# -- calendar periods -----------------------------------------------------------------------------------


def period_bounds(period: str, tz: tzinfo, now: float) -> tuple[datetime, datetime]:
    """The calendar day, ISO week (Monday first) or month holding `now` (unix seconds), in `tz`:
    (start, end) as aware datetimes, end exclusive."""
    local = datetime.fromtimestamp(now, tz)
    day = local.date()
    if period == "day":
        first, after = day, day + timedelta(days=1)
    elif period == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return _midnight(first, tz), _midnight(after, tz)


def _midnight(day: date, tz: tzinfo) -> datetime:
    # Round-trip through UTC: a zone whose clocks skip midnight (DST at 00:00) gets the real instant.
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc).astimezone(tz)


# -- tracking ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A budget's numbers now: what the gauges export and what `otel-ai serve` shows."""

    budget: Budget
    period_start: datetime
    period_end: datetime
    spent_usd: float  # fleet spend where a server answers, else this process's
    local_usd: float  # this process's spend this period
    fleet: bool  # spent_usd includes the fleet's spend from the server

    @property
    def fraction(self) -> float:
        return self.spent_usd / self.budget.limit_usd


class _State:
    """One budget's mutable numbers for the current period, in units (`UNITS_PER_USD`); guarded by
    the tracker's lock, except `exhausted`, which the gate reads alone (one attribute read)."""

    __slots__ = ("budget", "calls", "end", "exhausted", "fleet_base", "limit", "local", "local_at_fleet",
                 "next_index", "next_units", "start", "thresholds_units")

    def __init__(self, budget: Budget, now: float) -> None:
        self.budget = budget
        self.limit = to_units(budget.limit_usd)
        self.thresholds_units = tuple(self.limit if t >= 1.0 else to_units(t * budget.limit_usd)
                                      for t in budget.thresholds)
        self.start = self.end = 0.0
        self.local = self.local_at_fleet = self.calls = 0
        self.fleet_base: int | None = None
        self.next_index = 0
        self.next_units = 0  # spend at which the next threshold is crossed (None left: never)
        self.exhausted = False  # the spend has reached the limit: a block budget refuses calls
        self.roll(now)

    def keep_current(self, now: float) -> None:
        """Start the period `now` is in when it is not the one held (spend and crossings reset)."""
        if not self.start <= now < self.end:
            self.roll(now)

    def roll(self, now: float) -> None:
        start, end = period_bounds(self.budget.period, self.budget.tz, now)
        self.start, self.end = start.timestamp(), end.timestamp()
        self.local = self.local_at_fleet = self.calls = 0
        self.fleet_base = None
        self.next_index = 0
        self.exhausted = False
        self._set_next()

    def _set_next(self) -> None:
        i = self.next_index
        self.next_units = self.thresholds_units[i] if i < len(self.thresholds_units) else _NEVER

    def spent(self) -> int:
        """Fleet spend at the last refresh plus local spend since; never below this process's own spend
        (the server may not have received the latest calls yet)."""
        if self.fleet_base is None:
            return self.local
        return max(self.fleet_base + self.local - self.local_at_fleet, self.local)

    def counted(self) -> int:
        """The spend a threshold is compared with: `spent()` plus the most that rounding each call's
        cost to a unit can have taken off (half a unit per call; nothing for costs with up to twelve
        decimals, which round exactly, unless they come within that of the threshold)."""
        return self.spent() + (self.calls + 1) // 2

    def settle(self) -> None:
        """Recompute `exhausted` after the spend moved either way (a fleet answer, the server gone)."""
        self.exhausted = self.counted() >= self.limit

    def crossings(self) -> list[float]:
        """Thresholds (fractions) newly reached; each is returned once per period."""
        counted = self.counted()
        crossed: list[float] = []
        while counted >= self.next_units:
            crossed.append(self.budget.thresholds[self.next_index])
            self.next_index += 1
            self._set_next()
        if counted >= self.limit:
            self.exhausted = True
        return crossed


_NEVER: Final = 1 << 200  # above any spend: no threshold left this period


class BudgetTracker:
    """The budgets of this process. Thread-safe; the clock (unix seconds) is injectable for tests.

    `service` is this process's `service.name`: a budget scoped to another service never counts
    this process's calls (it still reports, and in fleet mode counts the fleet's).
    """

    def __init__(self, budgets: Sequence[Budget], *, service: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.service = service
        now = clock()
        self._states = tuple(_State(b, now) for b in budgets)
        self._by_name = {s.budget.name: s for s in self._states}
        self._local = tuple(s for s in self._states if s.budget.scope.get("service", service) == service)
        self._blocking = tuple(s for s in self._local if s.budget.action == "block")
        self._cache: dict[tuple[str, str, str | None, str | None], tuple[_State, ...]] = {}
        self._block_cache: dict[tuple[str, str, str | None, str | None], tuple[_State, ...]] = {}
        self._lock = threading.Lock()
        # One bound method each, kept: the seam removes listeners and gates by identity.
        self.listener: Callable[[calls.CallFacts], None] = self.on_call
        self.checker: Callable[[calls.CallScope], None] = self.gate

    @property
    def budgets(self) -> tuple[Budget, ...]:
        return tuple(s.budget for s in self._states)

    @property
    def blocking(self) -> bool:
        return bool(self._blocking)

    def _matching(self, scope: calls.CallScope, block_only: bool = False) -> tuple[_State, ...]:
        key = (scope.provider, scope.operation, scope.model, scope.task_type)
        cache = self._block_cache if block_only else self._cache
        found = cache.get(key)
        if found is None:
            pool = self._blocking if block_only else self._local
            found = tuple(s for s in pool if _matches(s.budget.scope, scope))
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[key] = found
        return found

    def on_call(self, facts: calls.CallFacts) -> None:
        """The `calls.subscribe` listener: add the call's cost, notify each threshold newly crossed."""
        cost = facts.cost_usd
        if not cost or cost <= 0 or not math.isfinite(cost):
            return
        states = self._matching(facts.scope)
        if not states:
            return
        units = to_units(cost)
        now = self.clock()
        pending: list[Notification] = []
        with self._lock:
            for state in states:  # `keep_current` and `counted` inlined: this runs once per call and budget
                if not state.start <= now < state.end:
                    state.roll(now)
                state.local += units
                state.calls += 1
                base = state.fleet_base
                spent = state.local if base is None else max(base + state.local - state.local_at_fleet, state.local)
                if spent + ((state.calls + 1) >> 1) >= state.next_units:
                    pending.extend(self._notice(state, t) for t in state.crossings())
        for notice in pending:
            notify(notice)

    def gate(self, scope: calls.CallScope) -> None:
        """The `calls.add_gate` gate: raise `BudgetExceeded` when a matching block budget is spent."""
        states = self._matching(scope, block_only=True)
        if not states:
            return
        now = self.clock()
        for state in states:
            if not state.start <= now < state.end:
                with self._lock:  # checked again under the lock: one thread rolls it
                    state.keep_current(now)
            if state.exhausted:
                raise BudgetExceeded(state.budget.name, _usd(state.spent()), state.budget.limit_usd,
                                     state.budget.period)

    def apply_fleet(self, name: str, period_start: float, fleet_usd: float, local_at_request: float) -> None:
        """A fleet refresh answered: `fleet_usd` was the whole fleet's spend of the period starting at
        `period_start` when this process's local spend was `local_at_request`. Ignored when the period
        has rolled since the request was sent."""
        state = self._by_name.get(name)
        if state is None or not math.isfinite(fleet_usd) or not math.isfinite(local_at_request):
            return
        pending: list[Notification] = []
        with self._lock:
            now = self.clock()
            state.keep_current(now)
            if state.start != period_start:
                return
            state.fleet_base = max(to_units(fleet_usd), 0)
            state.local_at_fleet = to_units(local_at_request)
            state.settle()
            pending = [self._notice(state, t) for t in state.crossings()]
        for notice in pending:
            notify(notice)

    def forget_fleet(self) -> None:
        """The server stopped answering: count this process's spend only (fail-open)."""
        with self._lock:
            for state in self._states:
                state.fleet_base = None
                state.settle()

    def local_snapshot(self) -> list[tuple[Budget, float, float]]:
        """(budget, period start, local spend) now, rolling periods that have ended: what a refresh asks about."""
        now = self.clock()
        with self._lock:
            out = []
            for state in self._states:
                state.keep_current(now)
                out.append((state.budget, state.start, _usd(state.local)))
            return out

    def statuses(self) -> list[BudgetStatus]:
        now = self.clock()
        with self._lock:
            out = []
            for state in self._states:
                state.keep_current(now)
                tz = state.budget.tz
                out.append(BudgetStatus(
                    state.budget, datetime.fromtimestamp(state.start, tz), datetime.fromtimestamp(state.end, tz),
                    _usd(state.spent()), _usd(state.local), state.fleet_base is not None,
                ))
            return out

    def _notice(self, state: _State, threshold: float) -> Notification:
        budget = state.budget
        spent = _usd(state.spent())
        level = severity(budget, threshold)
        start = datetime.fromtimestamp(state.start, budget.tz).isoformat()
        what = "reached its limit" if threshold >= 1.0 else f"passed {threshold:.0%} of its limit"
        blocked = "; calls in its scope are blocked until the period ends" if (
            threshold >= 1.0 and budget.action == "block") else ""
        message = (f"budget {budget.name!r} {what}: {format_usd(spent)} of {format_usd(budget.limit_usd)} "
                   f"this {budget.period} (since {start}){blocked}")
        return Notification(kind="budget", name=budget.name, severity=level, threshold=threshold, value=spent,
                            limit=budget.limit_usd, period=budget.period, period_start=start, message=message,
                            service=self.service)


def _matches(scope: Mapping[str, str], call: calls.CallScope) -> bool:
    """Every key the budget names must equal the call's (service is settled per process, not here)."""
    for key, value in scope.items():
        if key == "provider" and call.provider != value:
            return False
        if key == "model" and call.model != value:
            return False
        if key == "task_type" and call.task_type != value:
            return False
    return True


# -- installation -----------------------------------------------------------------------------------------

_install_lock = threading.Lock()
_active: BudgetTracker | None = None
_refresher: Any = None


def active() -> BudgetTracker | None:
    """The tracker `install()` set up, or None."""
    return _active


def refresher() -> Any:
    """The running `otel_ai.budgets.fleet.FleetRefresher` (OTEL_AI_BUDGET_SERVER set), or None."""
    return _refresher


def install(
    config: BudgetConfig | None = None, *, meter_provider: Any = None, tracer_provider: Any = None,
    service: str | None = None, clock: Callable[[], float] = time.time,
) -> BudgetTracker | None:
    """Set up the budgets of `config` (default: read from the environment): subscribe the spend
    listener, add the gate when some budget blocks, register the gauges, start the fleet refresh.

    No budgets: nothing is registered (zero cost per call). Calling it again replaces what an earlier
    call installed. Problems were already reported by `Settings.from_env`; never raises.
    """
    global _active, _refresher
    try:
        if config is None:
            config, _ = parse_budget_config()
        with _install_lock:
            uninstall()
            if not config.budgets:
                return None
            name = service if service is not None else _service_name(tracer_provider)
            tracker = BudgetTracker(config.budgets, service=name, clock=clock)
            calls.subscribe(tracker.listener)
            if tracker.blocking:
                calls.add_gate(tracker.checker)
            _register_gauges(tracker, meter_provider)
            if config.server:
                from otel_ai.budgets.fleet import FleetRefresher

                if config.token:
                    _remember_secret(config.token)
                _refresher = FleetRefresher(tracker, config.server, ttl_s=config.ttl_s, token=config.token).start()
            _active = tracker
            return tracker
    except Exception as exc:
        report("work.budgets.install", exc)
        return None


def uninstall() -> None:
    """Undo `install()`: no listener, no gate, no refresh thread (the gauges read nothing after this)."""
    global _active, _refresher
    tracker, refresher = _active, _refresher
    _active = _refresher = None
    if tracker is not None:
        calls.unsubscribe(tracker.listener)
        calls.remove_gate(tracker.checker)
    if refresher is not None:
        refresher.stop()


def _remember_secret(token: str) -> None:
    """The token joins the redactor's known secrets: if it ever shows up in a span, it is masked."""
    try:
        from otel_ai.privacy.secrets import remember

        remember(token)
    except Exception as exc:
        report("work.budgets.secret", exc)


def _service_name(tracer_provider: Any) -> str | None:
    """`service.name` of the tracer provider's resource, else OTEL_SERVICE_NAME."""
    try:
        if tracer_provider is None:
            from opentelemetry import trace

            tracer_provider = trace.get_tracer_provider()
        resource = getattr(tracer_provider, "resource", None)
        value = resource.attributes.get("service.name") if resource is not None else None
        if isinstance(value, str) and value:
            return value
    except Exception as exc:
        report("work.budgets.service_name", exc)
    return os.environ.get("OTEL_SERVICE_NAME") or None


def _register_gauges(tracker: BudgetTracker, meter_provider: Any) -> None:
    from opentelemetry.metrics import CallbackOptions, Observation, get_meter_provider

    from otel_ai.genai import semconv
    from otel_ai.version import __version__

    provider = meter_provider if meter_provider is not None else get_meter_provider()
    meter = provider.get_meter("otel_ai.budgets", __version__)

    def observe(which: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterator[Observation]:
            if _active is not tracker:  # uninstalled or replaced: report nothing
                return
            try:
                statuses = tracker.statuses()
            except Exception as exc:
                report("work.budgets.gauges", exc)
                return
            for status in statuses:
                attributes = {semconv.BUDGET_NAME: status.budget.name, semconv.BUDGET_PERIOD: status.budget.period}
                value = status.spent_usd if which == "spent" else status.budget.limit_usd
                yield Observation(value, attributes)

        return callback

    meter.create_observable_gauge(semconv.METRIC_BUDGET_SPENT, callbacks=[observe("spent")], unit="{USD}",
                                  description="Spend of the budget's current period (fleet-wide with "
                                  "OTEL_AI_BUDGET_SERVER, else this process's)")
    meter.create_observable_gauge(semconv.METRIC_BUDGET_LIMIT, callbacks=[observe("limit")], unit="{USD}",
                                  description="The budget's limit per period")
