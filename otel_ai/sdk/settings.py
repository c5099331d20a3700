"""Settings read once at start-up from the environment, each checked with an error naming its variable."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from otel_ai.errors import ConfigError

CAPTURE_CONTENT_VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
PRICING_FILE_VAR = "OTEL_AI_PRICING_FILE"
REDACT_PATTERNS_VAR = "OTEL_AI_REDACT_PATTERNS"
PROVIDER_HOSTS_VAR = "OTEL_AI_PROVIDER_HOSTS"
CONTENT_MAX_LENGTH_VAR = "OTEL_AI_CONTENT_MAX_LENGTH"
GC_FREEZE_VAR = "OTEL_AI_GC_FREEZE"


class ContentMode(enum.Enum):
    """Where message content goes, if anywhere (off unless the user opts in)."""

    NO_CONTENT = "no_content"
    SPAN_ONLY = "span_only"
    EVENT_ONLY = "event_only"
    SPAN_AND_EVENT = "span_and_event"

    @property
    def on_span(self) -> bool:
        return self in (ContentMode.SPAN_ONLY, ContentMode.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        return self in (ContentMode.EVENT_ONLY, ContentMode.SPAN_AND_EVENT)


_CONTENT_ALIASES = {
    "": ContentMode.NO_CONTENT,
    "false": ContentMode.NO_CONTENT,
    "no_content": ContentMode.NO_CONTENT,
    "true": ContentMode.SPAN_AND_EVENT,
    "span_only": ContentMode.SPAN_ONLY,
    "event_only": ContentMode.EVENT_ONLY,
    "span_and_event": ContentMode.SPAN_AND_EVENT,
}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")
_HOST = re.compile(r"^(\*|\*?[A-Za-z0-9.-]+)$")


@dataclass(frozen=True)
class Settings:
    """Everything the agent reads from the environment; built by `Settings.from_env`."""

    content: ContentMode = ContentMode.NO_CONTENT
    content_max_length: int = 8192
    pricing_file: str | None = None
    redact_patterns: str | None = None
    provider_hosts: Mapping[str, str] = field(default_factory=dict)
    gc_freeze: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            content=_content_mode(env.get(CAPTURE_CONTENT_VAR)),
            content_max_length=_positive_int(env, CONTENT_MAX_LENGTH_VAR, 8192),
            pricing_file=env.get(PRICING_FILE_VAR) or None,
            redact_patterns=env.get(REDACT_PATTERNS_VAR) or None,
            provider_hosts=_provider_hosts(env.get(PROVIDER_HOSTS_VAR)),
            gc_freeze=_bool(env, GC_FREEZE_VAR, False),
        )


def _content_mode(raw: str | None) -> ContentMode:
    value = (raw or "").strip().lower()
    try:
        return _CONTENT_ALIASES[value]
    except KeyError:
        allowed = "true, false, no_content, span_only, event_only, span_and_event"
        raise ConfigError(f"{CAPTURE_CONTENT_VAR}={raw!r} is not one of: {allowed} (case-insensitive)") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be greater than 0")
    return value


def _provider_hosts(raw: str | None) -> dict[str, str]:
    """Parse `host=provider` pairs (comma separated); `*` is the fallback for unknown hosts."""
    mapping: dict[str, str] = {}
    if not raw or not raw.strip():
        return mapping
    for number, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if not item:
            continue
        host, sep, provider = item.partition("=")
        host, provider = host.strip().lower(), provider.strip()
        if not sep or not host or not provider:
            raise ConfigError(
                f"{PROVIDER_HOSTS_VAR}: entry {number} {item!r} is not host=provider "
                "(example: llm.internal=openai,*=my_gateway)"
            )
        if not _HOST.match(host):
            raise ConfigError(f"{PROVIDER_HOSTS_VAR}: entry {number} has an invalid host {host!r}")
        if not _PROVIDER_NAME.match(provider):
            raise ConfigError(
                f"{PROVIDER_HOSTS_VAR}: entry {number} has an invalid provider name {provider!r} "
                "(lower-case letters, digits, '_' and '.', as in gen_ai.provider.name)"
            )
        mapping[host] = provider
    return mapping
