"""Leak-suite places of OpenAI Realtime voice sessions (``PROVIDERS`` name ``realtime``).

What their telemetry reads: the reply's text (captured as the response's output message) arriving
as `response.output_text.delta` events over the websocket, sync and async, and an audio reply's
transcript (`response.output_audio_transcript.delta`: the simulator speaks the first five words, so one
session per kind, the value right after the canary). The sessions go to the
Realtime simulator (``start``), with the app's OpenAI key. ``leak`` is ``tests/support/leak_app.py``,
passed in (see its docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

NAME = "realtime"


def start(stack: contextlib.ExitStack) -> Any:
    try:
        import openai.resources.realtime.realtime  # noqa: F401
        import websockets  # noqa: F401
    except ImportError:
        return None
    from otel_ai.testing.realtime_simulator import RealtimeSimulator

    return stack.enter_context(RealtimeSimulator())


def _options(ctx: Any) -> dict[str, Any]:
    sim = ctx.app.providers[NAME]
    return {"api_key": ctx.app.api_key, "base_url": sim.base_url, "websocket_base_url": sim.ws_base_url}


def _reply(ctx: Any) -> dict[str, Any]:
    """The reply: the blob as the ``x-simulator-reply`` header (one line: a header holds no break)."""
    return {"model": "gpt-realtime", "extra_headers": {"x-simulator-reply": ctx.blob().replace("\n", " ")}}


def _run_output(ctx: Any) -> int:
    import openai

    with openai.OpenAI(**_options(ctx)).realtime.connect(**_reply(ctx)) as conn:
        conn.response.create(response={"output_modalities": ["text"]})
        for event in conn:
            if event.type == "response.done":
                break
    return 2  # the session and its response


def _run_async_output(ctx: Any) -> int:
    import openai

    async def session() -> None:
        async with openai.AsyncOpenAI(**_options(ctx)).realtime.connect(**_reply(ctx)) as conn:
            await conn.response.create(response={"output_modalities": ["text"]})
            async for event in conn:
                if event.type == "response.done":
                    break

    asyncio.run(session())
    return 2


def _run_transcript(ctx: Any, kinds: Any) -> int:
    import openai

    client = openai.OpenAI(**_options(ctx))
    for kind in kinds:
        reply = f"{ctx.canary} {ctx.value('transcript', kind.name).text} end"
        headers = {"x-simulator-reply": reply}
        with client.realtime.connect(model="gpt-realtime", extra_headers=headers) as conn:
            conn.response.create(response={"output_modalities": ["audio"]})
            for event in conn:
                if event.type == "response.done":
                    break
    return 2 * len(kinds)


def places(leak: Any) -> tuple[Any, ...]:
    def blob(name: str, what: str, run: Callable[[Any], int]) -> Any:
        return leak._blob_place(f"{NAME}.{name}", what, run, needs=NAME, provider="openai")

    return (
        blob("session.output", "OpenAI realtime.connect: the reply's text deltas (x-simulator-reply)", _run_output),
        blob("session.async.output", "OpenAI async realtime.connect: the reply's text deltas", _run_async_output),
        leak.Place(f"{NAME}.session.transcript", "OpenAI realtime.connect: an audio reply's transcript deltas",
                   (("transcript", None),), lambda ctx: _run_transcript(ctx, leak.KINDS), NAME,
                   "gen_ai.output.messages", "openai"),
    )
