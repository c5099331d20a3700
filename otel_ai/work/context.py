"""Where the current unit of work lives: a value in the OpenTelemetry context, next to the span.

Keeping it in the OTel context (not a separate ContextVar) means whatever carries the trace context
(asyncio tasks, our thread propagation, a user's own `context.attach`) carries the unit too, so a
call made anywhere under a unit's span is counted in that unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from opentelemetry.context import create_key, get_value

if TYPE_CHECKING:
    from otel_ai.work.handle import Unit

UNIT_KEY: Final = create_key("otel_ai.unit")


def current() -> Unit | None:
    """The innermost unit of work open in the caller's context, or None."""
    return get_value(UNIT_KEY)  # type: ignore[return-value]
