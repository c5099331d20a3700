"""Leak-suite places of conversations, users and evaluations (``PROVIDERS`` name ``conversations``).

What their telemetry reads: the conversation id and the user of ``otel_ai.conversation(...)`` (on every
GenAI and unit span inside, on the details log records, and, with ``OTEL_AI_METRICS_USER`` on as the
suite sets it, on the cost and request counters' labels), and an evaluation's label. Each id is one
line holding one kind (an id is a key, not a text: one secret per conversation); a second context puts
the secret across the 256-character limit the ids are cut at, so the cut leaves only a piece of it. The
calls go to the app's own OpenAI client and simulator (``start`` only says the places can run).
``leak`` is ``tests/support/leak_app.py``, passed in.
"""

from __future__ import annotations

import contextlib
from typing import Any

NAME = "conversations"
ID_LIMIT = 256  # otel_ai.genai.conversation.MAX_LENGTH


def start(stack: contextlib.ExitStack) -> Any:
    return object()  # nothing to start: the calls use the app's client


def _ids(ctx: Any, context: str, kind: Any) -> str:
    """The id holding `kind`'s value: after the canary, or across the cut (half of the value kept)."""
    text = ctx.value(context, kind.name).text
    if context.endswith("cut"):
        head = f"{ctx.canary} "
        keep = max(len(text) // 2, 13)  # more than a piece: a leak of the kept half is a leak
        return head + "x" * (ID_LIMIT - len(head) - keep - 1) + " " + text  # a word before it, as in a sentence
    return f"{ctx.canary} {text}"


def _calls(ctx: Any, model: str, **conversation: str) -> int:
    """A unit and a chat call inside it, in one conversation; 1 GenAI call."""
    import otel_ai

    with otel_ai.conversation(**conversation), otel_ai.workflow("support"):
        ctx.client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    return 1


def places(leak: Any) -> tuple[Any, ...]:
    Place = leak.Place

    def run(field: str, context: str) -> Any:
        def go(ctx: Any) -> int:
            calls = 0
            for kind in leak.KINDS:
                value = _ids(ctx, context, kind)
                other = {"user": "leak-user"} if field == "id" else {"id": f"conv-{ctx.canary}"}
                calls += _calls(ctx, leak.MODEL, **{field: value}, **other)
            return calls

        return go

    def run_label(ctx: Any) -> int:
        import otel_ai

        ctx.client.chat.completions.create(model=leak.MODEL, messages=[{"role": "user", "content": "hi"}])
        otel_ai.evaluate("helpfulness", 0.5, ctx.blob())  # a label that should have been a category
        return 1

    every = None
    return (
        Place("conversation.id", "otel_ai.conversation(id=...): the conversation id", (("id", every),),
              run("id", "id"), NAME, "gen_ai.conversation.id"),
        Place("conversation.id_cut", "a conversation id cut at 256 characters in the middle of a value",
              (("id_cut", every),), run("id", "id_cut"), NAME, "gen_ai.conversation.id"),
        Place("conversation.user", "otel_ai.conversation(user=...): the user id (spans and metric labels)",
              (("user", every),), run("user", "user"), NAME, "user.id"),
        Place("conversation.user_cut", "a user id cut at 256 characters in the middle of a value",
              (("user_cut", every),), run("user", "user_cut"), NAME, "user.id"),
        Place("evaluation.label", "otel_ai.evaluate(): an evaluation's label",
              tuple((c, None) for c in leak.TEXT_CONTEXTS), run_label, NAME, "gen_ai.evaluation.score.label"),
    )
