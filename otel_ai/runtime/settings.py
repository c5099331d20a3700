"""Settings read once at start-up from the environment.

A bad value never stops the app: it becomes one line in `Settings.problems` (naming the variable,
what is wrong and the safe fallback in use) and the setting falls back: content capture off,
defaults for numbers and flags, bad provider-host entries skipped. A bad redaction pattern also
turns content capture off, rather than exporting what the user wanted hidden. `otel-ai check`
and `OTEL_AI_STRICT=true` turn the problems into exit status 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from otel_ai import variables
from otel_ai.conventions import Conventions, parse_conventions
from otel_ai.errors import ConfigError
from otel_ai.genai.cost_shapes import CostShapes, parse_cost_attributes
from otel_ai.genai.model import ContentMode
from otel_ai.privacy.patterns import UserPattern, parse_pattern_entries
from otel_ai.runtime.logs import LogSettings, parse_log_settings
from otel_ai.system.settings import parse_system_metrics

if TYPE_CHECKING:  # otel_ai.work imports this module: its types only for annotations here
    from otel_ai.budgets import BudgetConfig
    from otel_ai.notify import NotifierConfig

CAPTURE_CONTENT_VAR = variables.CAPTURE_CONTENT.name
PRICING_FILE_VAR = variables.PRICING_FILE.name
REDACT_PATTERNS_VAR = variables.REDACT_PATTERNS.name
PROVIDER_HOSTS_VAR = variables.PROVIDER_HOSTS.name
CONTENT_MAX_LENGTH_VAR = variables.CONTENT_MAX_LENGTH.name
GC_FREEZE_VAR = variables.GC_FREEZE.name
STREAM_USAGE_VAR = variables.STREAM_USAGE.name
STREAM_USAGE_WORDS = ("inject", "estimate")
STRICT_VAR = variables.STRICT.name


_CONTENT_ALIASES = {
    "": ContentMode.NO_CONTENT,
    "false": ContentMode.NO_CONTENT,
    "no_content": ContentMode.NO_CONTENT,
    "true": ContentMode.SPAN_AND_EVENT,
    "0": ContentMode.NO_CONTENT,
    "no": ContentMode.NO_CONTENT,
    "off": ContentMode.NO_CONTENT,
    "1": ContentMode.SPAN_AND_EVENT,
    "yes": ContentMode.SPAN_AND_EVENT,
    "on": ContentMode.SPAN_AND_EVENT,
    "span_only": ContentMode.SPAN_ONLY,
    "event_only": ContentMode.EVENT_ONLY,
    "span_and_event": ContentMode.SPAN_AND_EVENT,
}

_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")
# An exact host, "*" (every other host), or "*." and a domain (its subdomains).
_HOST = re.compile(r"^(\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*)$")


@dataclass(frozen=True)
class Settings:
    """Everything the agent reads from the environment; built by `Settings.from_env`, which never raises."""

    content: ContentMode = ContentMode.NO_CONTENT
    content_max_length: int = 8192
    pricing_file: str | None = None
    cost_shapes: CostShapes = field(default_factory=CostShapes)  # OTEL_AI_COST_ATTRIBUTES
    redact_patterns: str | None = None
    patterns: tuple[UserPattern, ...] = ()
    provider_hosts: Mapping[str, str] = field(default_factory=dict)
    stream_usage: frozenset[str] = frozenset()  # OTEL_AI_STREAM_USAGE: "inject", "estimate" (empty: off)
    gc_freeze: bool = False
    chunk_timing: str = "mean"  # OTEL_AI_CHUNK_TIMING: time_per_output_chunk per chunk (`each`) or per stream
    hash_user: bool = False
    metrics_user: bool = False
    strict: bool = False
    problems: tuple[str, ...] = ()
    # Parsed once here, installed at SDK set-up (sdk/setup.py); None: the defaults (nothing declared).
    logs: LogSettings | None = None
    budgets: BudgetConfig | None = None
    notifiers: NotifierConfig | None = None
    conventions: Conventions = field(default_factory=Conventions)  # the GenAI names the recorder writes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        problems: list[str] = []  # one line each: the variable, what is wrong, the fallback in use
        content = content_mode(env.get(CAPTURE_CONTENT_VAR), problems)
        raw_patterns = env.get(REDACT_PATTERNS_VAR) or None
        patterns, pattern_problems = parse_pattern_entries(raw_patterns, REDACT_PATTERNS_VAR)
        for problem in pattern_problems:
            off = "; that entry is ignored" + (
                " and content capture is off" if content is not ContentMode.NO_CONTENT else ""
            )
            problems.append(problem + off)
        if pattern_problems:
            content = ContentMode.NO_CONTENT  # never export what the user meant to hide
        _, system_metrics_problem = parse_system_metrics(env)
        if system_metrics_problem:
            problems.append(system_metrics_problem)
        conventions, convention_problems = parse_conventions(env)  # OTEL_AI_SEMCONV, OTEL_AI_SEMCONV_PROPOSALS
        problems.extend(convention_problems)
        logs, log_problems = parse_log_settings(env)  # OTEL_AI_LOG_*: installed by sdk/logs.py
        problems.extend(log_problems)
        from otel_ai.budgets import parse_budget_config  # here: otel_ai.work imports this package

        budgets, budget_problems = parse_budget_config(env)
        problems.extend(budget_problems)  # bad entries are skipped
        from otel_ai.notify.settings import parse_notifiers

        notifiers, notifier_problems = parse_notifiers(env)
        problems.extend(notifier_problems)  # a notifier with a bad value stays off
        return cls(
            content=content,
            content_max_length=variables.CONTENT_MAX_LENGTH.integer(env, problems),
            pricing_file=env.get(PRICING_FILE_VAR) or None,
            cost_shapes=parse_cost_attributes(env, problems),
            redact_patterns=raw_patterns,
            patterns=tuple(patterns),
            provider_hosts=provider_hosts(env.get(PROVIDER_HOSTS_VAR), problems),
            stream_usage=stream_usage(env.get(STREAM_USAGE_VAR), problems),
            gc_freeze=variables.GC_FREEZE.boolean(env, problems),
            chunk_timing=variables.CHUNK_TIMING.choice(env, problems) or "mean",
            hash_user=variables.USER_ID_HASH.boolean(env, problems),
            metrics_user=variables.METRICS_USER.boolean(env, problems),
            strict=variables.STRICT.boolean(env, problems),
            problems=tuple(problems),
            logs=logs,
            budgets=budgets,
            notifiers=notifiers,
            conventions=conventions,
        )

    def raise_if_strict(self, problems: list[str] | tuple[str, ...] | None = None) -> None:
        """Raise `ConfigError` listing the problems when strict mode is on."""
        problems = self.problems if problems is None else problems
        if self.strict and problems:
            raise ConfigError("; ".join(problems))


def content_mode(raw: str | None, problems: list[str]) -> ContentMode:
    """`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: the mode, or off with a problem line."""
    value = (raw or "").strip().lower()
    mode = _CONTENT_ALIASES.get(value)
    if mode is None:
        allowed = "true, false, no_content, span_only, event_only, span_and_event"
        problems.append(
            f"{CAPTURE_CONTENT_VAR}={raw!r} is not one of: {allowed} (case-insensitive); content capture is off"
        )
        return ContentMode.NO_CONTENT
    return mode


def stream_usage(raw: str | None, problems: list[str]) -> frozenset[str]:
    """`OTEL_AI_STREAM_USAGE`: `off`, or `inject` and/or `estimate` (comma separated, any case).

    A bad value turns the whole setting off (one problem line): it changes requests, so it is never
    half-applied.
    """
    words = set(variables.words(raw))
    if not words or words == {"off"}:
        return frozenset()
    if words <= set(STREAM_USAGE_WORDS):
        return frozenset(words)
    problems.append(f"{STREAM_USAGE_VAR}={raw!r} is not off, inject, estimate or inject,estimate; using off")
    return frozenset()


def provider_hosts(raw: str | None, problems: list[str]) -> dict[str, str]:
    """Parse `host=provider` pairs (comma separated); `*` is the fallback for unknown hosts.

    A bad entry is skipped (with a problem line); the others still apply.
    """
    mapping: dict[str, str] = {}
    if not raw or not raw.strip():
        return mapping
    for number, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if not item:
            continue
        host, sep, provider = item.partition("=")
        host, provider = host.strip().lower(), provider.strip()
        where = f"{PROVIDER_HOSTS_VAR}: entry {number} {item!r}"
        if not sep or not host or not provider:
            problems.append(f"{where} is not host=provider (example: llm.internal=openai,*=my_gateway); skipped")
        elif not _HOST.match(host):
            hint = " (a wildcard is '*' alone or '*.' before a domain: '*.example.com')" if "*" in host else ""
            problems.append(f"{where} has an invalid host {host!r}{hint}; skipped")
        elif not _PROVIDER_NAME.match(provider):
            problems.append(
                f"{where} has an invalid provider name {provider!r} "
                "(lower-case letters, digits, '_' and '.', as in gen_ai.provider.name); skipped"
            )
        else:
            mapping[host] = provider
    return mapping
