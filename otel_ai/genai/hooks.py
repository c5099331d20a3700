"""The seam between the GenAI recorder and what builds on its calls (roll-up, budgets).

The recorder knows nothing of tasks or budgets: it calls `gate()` before a request is sent,
`task_type()` when it labels metrics, and `publish()` once per finished call. Each is one
attribute check when nothing is registered, so an app without tasks or budgets pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from otel_ai.errors import BudgetExceeded
from otel_ai.guard import report


@dataclass(frozen=True, slots=True)
class CallScope:
    """Who is about to spend: what a budget's scope is matched against, before the request is sent."""

    provider: str
    operation: str
    model: str | None
    task_type: str | None
    conversation_id: str | None = None
    user: str | None = None  # as exported: hashed when OTEL_AI_USER_ID_HASH is on


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What one finished GenAI call used and cost (zero where the provider reported nothing)."""

    scope: CallScope
    cost_usd: float
    input_tokens: int
    output_tokens: int
    characters: int
    failed: bool
    unpriced: bool = False  # it used something but had no price: `cost_usd` is 0 for want of one, not a known zero


Listener = Callable[[CallFacts], None]
Gate = Callable[[CallScope], None]


class _Seam:
    __slots__ = ("gates", "listeners", "task_type_of")

    def __init__(self) -> None:
        self.listeners: tuple[Listener, ...] = ()
        self.gates: tuple[Gate, ...] = ()
        self.task_type_of: Callable[[], str | None] | None = None


SEAM: Final = _Seam()


def subscribe(listener: Listener) -> None:
    """`listener(facts)` runs after every finished call, on the caller's thread; keep it short."""
    if listener not in SEAM.listeners:
        SEAM.listeners = (*SEAM.listeners, listener)


def unsubscribe(listener: Listener) -> None:
    SEAM.listeners = tuple(x for x in SEAM.listeners if x != listener)  # ==: bound methods are new each time


def add_gate(gate: Gate) -> None:
    """`gate(scope)` runs before every request is sent; it may raise `BudgetExceeded`, nothing else."""
    if gate not in SEAM.gates:
        SEAM.gates = (*SEAM.gates, gate)


def remove_gate(gate: Gate) -> None:
    SEAM.gates = tuple(x for x in SEAM.gates if x != gate)


def set_task_type_source(source: Callable[[], str | None] | None) -> None:
    """Where the recorder reads the current `otel_ai.task.type` from (the units-of-work module)."""
    SEAM.task_type_of = source


def task_type() -> str | None:
    """The task type of the unit of work the caller is in, or None (never raises)."""
    source = SEAM.task_type_of
    if source is None:
        return None
    try:
        return source()
    except Exception as exc:
        report("work.task_type", exc)
        return None


def gate(scope: CallScope) -> None:
    """Run every gate: `BudgetExceeded` propagates (the call must not be sent), anything else is swallowed."""
    for check in SEAM.gates:
        try:
            check(scope)
        except BudgetExceeded:
            raise
        except Exception as exc:
            report("work.gate", exc)


def publish(facts: CallFacts) -> None:
    """Hand a finished call to every listener; a failing listener never reaches the app."""
    for listener in SEAM.listeners:
        try:
            listener(facts)
        except Exception as exc:
            report("work.listener", exc)
