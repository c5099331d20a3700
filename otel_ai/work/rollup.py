"""The roll-up: what the GenAI calls under a unit used and cost, added to every open unit above the call.

The recorder publishes every finished call on the caller's context (`otel_ai.genai.hooks`);
`on_call` adds it to the innermost unit and to every unit above it. `task_type` tells the recorder
the innermost unit's task type. `ensure_registered` puts both on the seam (and the thread
propagation in place) the first time a unit is used, so an app that never uses one pays nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.util.types import AttributeValue

from otel_ai.genai import hooks as calls
from otel_ai.genai import semconv as sc
from otel_ai.work import threads
from otel_ai.work.context import current

__all__ = ["Attributes", "Totals", "ensure_registered", "on_call", "task_type"]

Attributes = dict[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class Totals:
    """What the GenAI calls under a unit (at any depth) used and cost, so far."""

    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    calls: int = 0
    failed_calls: int = 0
    unpriced_calls: int = 0  # calls with usage but no price: `cost_usd` leaves them out

    def attributes(self) -> Attributes:
        attributes: Attributes = {
            sc.TASK_COST_USD: self.cost_usd,
            sc.TASK_INPUT_TOKENS: self.input_tokens,
            sc.TASK_OUTPUT_TOKENS: self.output_tokens,
            sc.TASK_CHARACTERS: self.characters,
            sc.TASK_CALLS: self.calls,
            sc.TASK_CALLS_FAILED: self.failed_calls,
        }
        if self.unpriced_calls:
            attributes[sc.TASK_CALLS_UNPRICED] = self.unpriced_calls
        return attributes


def on_call(facts: calls.CallFacts) -> None:
    """Add one finished call to the innermost unit and every unit above it."""
    unit = current()
    while unit is not None:
        unit._add(facts)
        unit = unit.parent


def task_type() -> str | None:
    unit = current()
    return unit.task_type if unit is not None else None


def ensure_registered() -> None:
    """Register with the seam (again, if something unregistered us); two identity checks when done."""
    if calls.SEAM.task_type_of is not task_type:
        calls.set_task_type_source(task_type)
    if on_call not in calls.SEAM.listeners:
        calls.subscribe(on_call)
    if not threads.installed():
        threads.install()
