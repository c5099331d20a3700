"""The conversation and the user a call belongs to: a value in the OpenTelemetry context.

`otel_ai.conversation(...)` (in `otel_ai.work.conversation`) puts it there; the recorder and the units of
work read it when a span starts and write `gen_ai.conversation.id` and `user.id` (or `user.hash`, when
`OTEL_AI_USER_ID_HASH` is on). It lives in the OpenTelemetry context, next to the span, so whatever carries
the trace context (asyncio tasks, our thread propagation) carries the conversation too.

The user is never a metric label unless `OTEL_AI_METRICS_USER` asks for it: one series per user is the
cardinality a metrics backend is not made for; spans and the local store carry it instead.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Final

from opentelemetry.context import create_key, get_value

from otel_ai import variables
from otel_ai.genai import semconv as sc
from otel_ai.privacy.cut import cut_key

__all__ = ["KEY", "Conversation", "configure", "current", "user_value"]

KEY: Final = create_key("otel_ai.conversation")
MAX_LENGTH: Final = 256  # an id longer than this is cut (`cut_key`): it is a key, not content


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation id and a user (either may be None); `user` is already what is exported."""

    id: str | None
    user: str | None
    attributes: dict[str, str]


class _Options:
    __slots__ = ("hash_user", "user_on_metrics")

    def __init__(self) -> None:
        self.hash_user = False
        self.user_on_metrics = False


OPTIONS: Final = _Options()


def configure(*, hash_user: bool, user_on_metrics: bool) -> None:
    """The two settings (`OTEL_AI_USER_ID_HASH`, `OTEL_AI_METRICS_USER`), set by the runtime when it reads them."""
    OPTIONS.hash_user = hash_user
    OPTIONS.user_on_metrics = user_on_metrics


def configure_from_env() -> None:
    """Read the two settings straight from the environment (bad values: the defaults; the runtime reports them).

    Done at import too, so a user id is hashed as asked even in a conversation entered before the runtime
    has read its settings.
    """
    ignored: list[str] = []
    configure(hash_user=variables.USER_ID_HASH.boolean(os.environ, ignored),
              user_on_metrics=variables.METRICS_USER.boolean(os.environ, ignored))


def user_value(user: str) -> str:
    """What is exported for `user`: itself, or the first 32 hex digits of its SHA-256 when hashing is on."""
    if OPTIONS.hash_user:
        return hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return user


def make(conversation_id: str | None, user: str | None, exported_user: str | None = None) -> Conversation:
    """A `Conversation` whose `attributes` are the span attributes it adds (cut to `MAX_LENGTH`);
    `exported_user`: a user already in its exported form (inherited from an outer conversation)."""
    # cut without leaving a piece of a secret at the cut (`cut_key`); a hashed user needs no cut
    cid = cut_key(conversation_id, MAX_LENGTH) if conversation_id is not None else None
    if user is None:
        exported = exported_user
    else:
        exported = user_value(user[:MAX_LENGTH]) if OPTIONS.hash_user else cut_key(user, MAX_LENGTH)
    attributes: dict[str, str] = {}
    if cid:
        attributes[sc.CONVERSATION_ID] = cid
    if exported:
        attributes[sc.USER_HASH if OPTIONS.hash_user else sc.USER_ID] = exported
    return Conversation(cid, exported, attributes)


def current() -> Conversation | None:
    """The conversation open in the caller's context, or None."""
    return get_value(KEY)  # type: ignore[return-value]


configure_from_env()
