"""`otel_ai.conversation(id=..., user=...)`: every GenAI span and unit span inside carries the conversation
and the user (hashed when asked), through decorators, `with`/`async with`, threads and nesting; the user
is a metric label only when asked; a library's own conversation id wins for its call."""

from __future__ import annotations

import asyncio
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import otel_ai
from otel_ai.runtime import state as _state
from tests.work.units_support import by_name, use_global_providers

MESSAGES = [{"role": "user", "content": "hello there"}]
CID, USER = "gen_ai.conversation.id", "user.id"


@pytest.fixture
def otel(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    return use_global_providers(telemetry, monkeypatch)


def chat(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def ids(otel: Any) -> list[tuple[str | None, str | None]]:
    return [(s.attributes.get(CID), s.attributes.get(USER)) for s in otel.genai_spans()]


def test_calls_and_units_inside_carry_the_conversation_and_outside_do_not(client: Any, otel: Any) -> None:
    chat(client)
    with otel_ai.conversation(id="conv-42", user="alice") as conv:
        assert conv is not None and (conv.id, conv.user) == ("conv-42", "alice")
        assert otel_ai.current_conversation() == conv
        with otel_ai.task("answer"):
            chat(client)
    chat(client)
    assert otel_ai.current_conversation() is None
    assert ids(otel) == [(None, None), ("conv-42", "alice"), (None, None)]
    task = by_name(otel, "task answer")
    assert (task.attributes[CID], task.attributes[USER]) == ("conv-42", "alice")


def test_nested_blocks_inherit_what_they_do_not_set(client: Any, otel: Any) -> None:
    with otel_ai.conversation(id="outer", user="alice"):
        with otel_ai.conversation(user="bob"):
            chat(client)
        with otel_ai.conversation(id="inner"):
            chat(client)
        chat(client)
    assert ids(otel) == [("outer", "bob"), ("inner", "alice"), ("outer", "alice")]


def test_the_decorator_starts_a_conversation_per_call_unless_one_is_given(client: Any, otel: Any) -> None:
    @otel_ai.conversation(user="carol")
    def handle() -> None:
        chat(client)

    @otel_ai.conversation(id=7)
    async def handle_async() -> None:
        await asyncio.sleep(0)
        chat(client)

    handle()
    handle()
    asyncio.run(handle_async())
    [(first, u1), (second, u2), (third, u3)] = ids(otel)
    assert re.fullmatch(r"[0-9a-f]{32}", first or "") and re.fullmatch(r"[0-9a-f]{32}", second or "")
    assert first != second and (u1, u2) == ("carol", "carol")
    assert (third, u3) == ("7", None)


def test_threads_and_tasks_started_inside_belong_to_it(client: Any, otel: Any) -> None:
    async def two() -> None:
        await asyncio.gather(asyncio.to_thread(chat, client), asyncio.to_thread(chat, client))

    with otel_ai.conversation(id="fan-out", user="dave"):
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda _: chat(client), range(2)))
        asyncio.run(two())
    assert ids(otel) == [("fan-out", "dave")] * 4


def test_a_hashed_user_is_user_hash_and_never_user_id(client: Any, otel: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_AI_USER_ID_HASH", "true")
    _state.reset()
    with otel_ai.conversation(id="c", user="alice@example.com"):
        chat(client)
    [span] = otel.genai_spans()
    expected = hashlib.sha256(b"alice@example.com").hexdigest()[:32]
    assert span.attributes["user.hash"] == expected and USER not in span.attributes


def test_the_user_is_a_metric_label_only_when_asked(client: Any, otel: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with otel_ai.conversation(id="c1", user="erin"):
        chat(client)
    labels = [attrs for attrs, _ in otel.points("otel_ai.client.cost")]
    assert labels and all(USER not in a and CID not in a for a in labels)
    monkeypatch.setenv("OTEL_AI_METRICS_USER", "true")
    _state.reset()
    otel.reinstrument()
    with otel_ai.conversation(id="c2", user="frank"):
        chat(client)
    users = {attrs.get(USER) for attrs, _ in otel.points("otel_ai.client.cost")}
    assert "frank" in users
    assert all(CID not in attrs for attrs, _ in otel.points("otel_ai.client.requests"))  # never the conversation


def test_the_responses_api_conversation_wins_for_its_call(client: Any, otel: Any) -> None:
    with otel_ai.conversation(id="block", user="gina"):
        client.responses.create(model="gpt-4o-mini", input="hi", conversation="conv_api_123")
        client.responses.create(model="gpt-4o-mini", input="hi", conversation={"id": "conv_api_456"})
        client.responses.create(model="gpt-4o-mini", input="hi")
    assert ids(otel) == [("conv_api_123", "gina"), ("conv_api_456", "gina"), ("block", "gina")]


def test_bad_arguments_warn_once_and_change_nothing(client: Any, otel: Any, capfd: pytest.CaptureFixture[str]) -> None:
    with otel_ai.conversation(id=object(), user=3.5) as conv:  # type: ignore[arg-type]
        assert chat(client).choices
    assert conv is not None and conv.user is None
    err = capfd.readouterr().err
    assert "otel_ai.conversation(id=...) takes a string or an integer, not object; ignored" in err
    assert "otel_ai.conversation(user=...)" in err
