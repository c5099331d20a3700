"""Which semantic-convention names the agent emits: `OTEL_AI_SEMCONV` = current | previous | both.

The conventions keep renaming (a metric moves to a new name, a unit gets its curly-brace form), and a
team's dashboards break when names change under them. `current` (the default) emits today's names;
`previous` the names of the release before, for dashboards not migrated yet; `both` emits old and new
side by side for one release cycle. Every rename the switch covers is listed in docs/conventions.md.

Two more inputs decide the GenAI names (docs/conventions.md has the rules):

* `OTEL_SEMCONV_STABILITY_OPT_IN`, the standard comma list the contrib instrumentations read: its
  `gen_ai_latest_experimental` asks for the latest experimental GenAI conventions, which is what `current`
  is. `OTEL_AI_SEMCONV`, when set, wins: it is otel-ai's own and the more specific of the two.
* `OTEL_AI_SEMCONV_PROPOSALS`: metrics of open proposals of the GenAI conventions (provisional names), each
  recorded next to the released ones; no other setting turns them on.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass

from otel_ai import variables

__all__ = ["GEN_AI_LATEST_EXPERIMENTAL", "PROPOSALS", "STABILITY_OPT_IN", "Conventions", "Names",
           "gen_ai_latest_experimental", "parse_conventions", "parse_proposals", "parse_semconv"]

STABILITY_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"
GEN_AI_LATEST_EXPERIMENTAL = "gen_ai_latest_experimental"
# The open proposals whose metrics `OTEL_AI_SEMCONV_PROPOSALS` can turn on, with the proposal each comes from.
PROPOSALS: Mapping[str, str] = {
    "token_metrics": "semantic-conventions-genai#374",  # per-direction token counters and histograms
    "inference_duration": "semantic-conventions-genai#521",  # gen_ai.client.inference.duration
}


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


@dataclass(frozen=True)
class Conventions:
    """The names in effect, and the proposals whose metrics are recorded too."""

    names: Names = Names.CURRENT
    proposals: frozenset[str] = frozenset()


def gen_ai_latest_experimental(env: Mapping[str, str] | None = None) -> bool:
    """Whether `OTEL_SEMCONV_STABILITY_OPT_IN` lists `gen_ai_latest_experimental`, read as the contrib
    instrumentations read it (opentelemetry-instrumentation's `_semconv`): a comma list, each entry stripped,
    compared exactly."""
    env = os.environ if env is None else env
    return GEN_AI_LATEST_EXPERIMENTAL in (part.strip() for part in (env.get(STABILITY_OPT_IN) or "").split(","))


def parse_semconv(env: Mapping[str, str] | None = None) -> tuple[Names, str | None]:
    """The names in effect and, for a bad value, the one line saying so (the fallback is `current`).

    Unset, `current`: also what `gen_ai_latest_experimental` in `OTEL_SEMCONV_STABILITY_OPT_IN` selects."""
    env = os.environ if env is None else env
    problems: list[str] = []
    value = variables.SEMCONV.choice(env, problems, suffix=" (case-insensitive)")
    return (Names.CURRENT if value is None else Names(value)), (problems[0] if problems else None)


def parse_proposals(raw: str | None, problems: list[str]) -> frozenset[str]:
    """`OTEL_AI_SEMCONV_PROPOSALS`: a comma list of proposal names, `all` or `none`, any case.

    An unknown entry is one problem line and is skipped; the others still apply."""
    chosen: set[str] = set()
    for item in (raw or "").split(","):
        word = item.strip().lower()
        if not word or word == "none":
            continue
        if word == "all":
            chosen.update(PROPOSALS)
        elif word in PROPOSALS:
            chosen.add(word)
        else:
            variable = variables.SEMCONV_PROPOSALS
            problems.append(f"{variable.name}: {item.strip()!r} is not one of: {', '.join(PROPOSALS)}, all, none "
                            f"(case-insensitive); {variable.fallback}")
    return frozenset(chosen)


def parse_conventions(env: Mapping[str, str] | None = None) -> tuple[Conventions, list[str]]:
    """Everything above, read once (runtime.settings); never raises. Problems are one line each."""
    env = os.environ if env is None else env
    names, problem = parse_semconv(env)
    problems = [problem] if problem else []
    proposals = parse_proposals(env.get(variables.SEMCONV_PROPOSALS.name), problems)
    return Conventions(names, proposals), problems
