"""Which semantic-convention names the agent emits: `OTEL_AI_SEMCONV` = current | previous | both.

The conventions keep renaming (a metric moves to a new name, a unit gets its curly-brace form), and a
team's dashboards break when names change under them. `current` (the default) emits today's names;
`previous` the names of the release before, for dashboards not migrated yet; `both` emits old and new
side by side for one release cycle. Every rename the switch covers is listed in docs/conventions.md.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from otel_ai import variables

__all__ = ["Names", "parse_semconv"]


class Names(enum.Enum):
    CURRENT = "current"
    PREVIOUS = "previous"
    BOTH = "both"

    @property
    def current(self) -> bool:
        """Emit today's names."""
        return self is not Names.PREVIOUS

    @property
    def previous(self) -> bool:
        """Emit the previous release's names."""
        return self is not Names.CURRENT


def parse_semconv(env: Mapping[str, str] | None = None) -> tuple[Names, str | None]:
    """The names in effect and, for a bad value, the one line saying so (the fallback is `current`)."""
    env = os.environ if env is None else env
    problems: list[str] = []
    value = variables.SEMCONV.choice(env, problems, suffix=" (case-insensitive)")
    return (Names.CURRENT if value is None else Names(value)), (problems[0] if problems else None)
