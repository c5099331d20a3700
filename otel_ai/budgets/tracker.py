"""The tracker: spend per budget and period, threshold notices, the blocking gate, fleet answers applied.

`BudgetTracker.on_call` is the recorder's listener (through `otel_ai.genai.hooks`) and
`BudgetTracker.gate` its gate; `statuses()` is what the gauges and `otel-ai serve` read.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from otel_ai.budgets.config import EACH, UNITS_PER_USD, Budget, to_units
from otel_ai.budgets.periods import period_bounds
from otel_ai.errors import BudgetExceeded
from otel_ai.genai import hooks as calls
from otel_ai.genai.conversation import user_value
from otel_ai.money import format_usd
from otel_ai.notify.notification import Notification, Severity, notify

__all__ = ["BudgetStatus", "BudgetTracker", "severity"]

_CACHE_MAX: Final = 4096  # distinct call scopes remembered; past this the cache starts over
# Users (or conversations) a per-value budget keeps a spend for; past this the least recently seen is
# forgotten (its spend starts again from zero). About 300 bytes each.
VALUES_MAX: Final = 50_000


def _usd(units: int) -> float:
    return units / UNITS_PER_USD



def severity(budget: Budget, threshold: float) -> Severity:
    """critical at the limit, warning at the highest `warn_at` below it, info below that."""
    levels = budget.thresholds
    if threshold >= 1.0:
        return "critical"
    return "warning" if len(levels) >= 2 and threshold == levels[-2] else "info"



@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A budget's numbers now: what the gauges export and what `otel-ai serve` shows."""

    budget: Budget
    period_start: datetime
    period_end: datetime
    spent_usd: float  # fleet spend where a server answers, else this process's
    local_usd: float  # this process's spend this period
    fleet: bool  # spent_usd includes the fleet's spend from the server
    value: str | None = None  # a per-user (per-conversation) budget: the one that spent most, whose numbers these are

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


class _PerValue:
    """A budget whose scope says `"*"` for the user (or conversation): one `_State` for each value seen."""

    __slots__ = ("budget", "key", "states")

    def __init__(self, budget: Budget, key: str) -> None:
        self.budget = budget
        self.key = key  # "user" or "conversation"
        self.states: OrderedDict[str, _State] = OrderedDict()

    def value_of(self, scope: calls.CallScope) -> str | None:
        return scope.user if self.key == "user" else scope.conversation_id

    def state(self, value: str, now: float) -> _State:
        """The value's state, made on first sight; the least recently seen is dropped past `VALUES_MAX`."""
        state = self.states.get(value)
        if state is None:
            state = self.states[value] = _State(self.budget, now)
            if len(self.states) > VALUES_MAX:
                self.states.popitem(last=False)
        else:
            self.states.move_to_end(value)
        return state


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
        self._states = tuple(_State(b, now) for b in budgets if b.per_value is None)
        self._by_name = {s.budget.name: s for s in self._states}
        self._local = tuple(s for s in self._states if s.budget.scope.get("service", service) == service)
        self._blocking = tuple(s for s in self._local if s.budget.action == "block")
        # Per-user and per-conversation budgets: counted in this process only (the fleet server does not
        # keep a spend per user); `_keyed` says whether any other budget names a user or conversation.
        self._per_value = tuple(_PerValue(b, b.per_value) for b in budgets if b.per_value is not None
                                and b.scope.get("service", service) == service)
        self._keyed = any(key in b.scope for b in budgets for key in ("user", "conversation"))
        self._cache: dict[tuple[str | None, ...], tuple[_State, ...]] = {}
        self._block_cache: dict[tuple[str | None, ...], tuple[_State, ...]] = {}
        self._lock = threading.Lock()
        # One bound method each, kept: the seam removes listeners and gates by identity.
        self.listener: Callable[[calls.CallFacts], None] = self.on_call
        self.checker: Callable[[calls.CallScope], None] = self.gate

    @property
    def budgets(self) -> tuple[Budget, ...]:
        return (*(s.budget for s in self._states), *(p.budget for p in self._per_value))

    @property
    def blocking(self) -> bool:
        return bool(self._blocking) or any(p.budget.action == "block" for p in self._per_value)

    def _matching(self, scope: calls.CallScope, block_only: bool = False) -> tuple[_State, ...]:
        key: tuple[str | None, ...] = (scope.provider, scope.operation, scope.model, scope.task_type)
        if self._keyed:  # only then does a match depend on the user or the conversation
            key = (*key, scope.user, scope.conversation_id)
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
        per_value = self._per_value_states(facts.scope) if self._per_value else ()
        if not states and not per_value:
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
            for each, value in per_value:
                state = each.state(value, now)
                state.keep_current(now)
                state.local += units
                state.calls += 1
                pending.extend(self._notice(state, t, each.key, value) for t in state.crossings())
        for notice in pending:
            notify(notice)

    def _per_value_states(self, scope: calls.CallScope, block_only: bool = False) -> list[tuple[_PerValue, str]]:
        """The per-user / per-conversation budgets this call counts in, with the value it counts for."""
        found = []
        for each in self._per_value:
            if block_only and each.budget.action != "block":
                continue
            value = each.value_of(scope)
            if value is not None and _matches(each.budget.scope, scope):
                found.append((each, value))
        return found

    def gate(self, scope: calls.CallScope) -> None:
        """The `calls.add_gate` gate: raise `BudgetExceeded` when a matching block budget is spent."""
        states = self._matching(scope, block_only=True)
        if not states and not self._per_value:
            return
        now = self.clock()
        for state in states:
            if not state.start <= now < state.end:
                with self._lock:  # checked again under the lock: one thread rolls it
                    state.keep_current(now)
            if state.exhausted:
                raise BudgetExceeded(state.budget.name, _usd(state.spent()), state.budget.limit_usd,
                                     state.budget.period)
        for each, value in self._per_value_states(scope, block_only=True) if self._per_value else ():
            with self._lock:
                known = each.states.get(value)
                if known is not None:
                    known.keep_current(now)
            if known is not None and known.exhausted:
                raise BudgetExceeded(f"{each.budget.name} ({each.key} {value})", _usd(known.spent()),
                                     each.budget.limit_usd, each.budget.period)

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
        """Each budget's numbers now; a per-user (per-conversation) budget's are those of the value that
        spent most this period (`value`), or zero when none has."""
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
            for each in self._per_value:
                top_value, top = None, _State(each.budget, now)
                for value, state in each.states.items():
                    state.keep_current(now)
                    if state.local > top.local:
                        top_value, top = value, state
                tz = each.budget.tz
                out.append(BudgetStatus(
                    each.budget, datetime.fromtimestamp(top.start, tz), datetime.fromtimestamp(top.end, tz),
                    _usd(top.spent()), _usd(top.local), False, top_value,
                ))
            return out

    def _notice(self, state: _State, threshold: float, key: str | None = None,
                value: str | None = None) -> Notification:
        budget = state.budget
        spent = _usd(state.spent())
        level = severity(budget, threshold)
        start = datetime.fromtimestamp(state.start, budget.tz).isoformat()
        what = "reached its limit" if threshold >= 1.0 else f"passed {threshold:.0%} of its limit"
        whose = f" for {key} {value!r}" if key is not None else ""
        blocked = (f"; calls in its scope{whose} are blocked until the period ends" if (
            threshold >= 1.0 and budget.action == "block") else "")
        message = (f"budget {budget.name!r}{whose} {what}: {format_usd(spent)} of {format_usd(budget.limit_usd)} "
                   f"this {budget.period} (since {start}){blocked}")
        return Notification(kind="budget", name=budget.name, severity=level, threshold=threshold, value=spent,
                            limit=budget.limit_usd, period=budget.period, period_start=start, message=message,
                            service=self.service)


def _matches(scope: Mapping[str, str], call: calls.CallScope) -> bool:
    """Every key the budget names must equal the call's (service is settled per process, not here); a
    user or conversation given as `"*"` asks only that the call has one."""
    for key, value in scope.items():
        if key == "provider" and call.provider != value:
            return False
        if key == "model" and call.model != value:
            return False
        if key == "task_type" and call.task_type != value:
            return False
        if key == "user" and (call.user is None or (value != EACH and call.user != user_value(value))):
            return False
        if key == "conversation" and (call.conversation_id is None or (
                value != EACH and call.conversation_id != value)):
            return False
    return True

