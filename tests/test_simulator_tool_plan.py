"""The simulator's tool plan (`x-simulator-tool-plan`): an agent loop walks it turn by turn.

Real `openai` client, real HTTP; the header is parsed by `plan_turn`, whose property test says it
answers any text with calls or a clean 400, never a crash.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_ai.testing.simulator import TOOL_PLAN_HEADER, OpenAISimulator, _ClientError, plan_turn

PLAN = json.dumps([[{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}], [{"name": "c"}]])


@pytest.fixture(scope="module")
def client() -> Any:
    with OpenAISimulator() as sim:
        yield openai.OpenAI(base_url=sim.base_url, api_key="sk-test", default_headers={TOOL_PLAN_HEADER: PLAN})


def test_responses_walk_the_plan(client: Any) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="go")
    assert [(i.name, json.loads(i.arguments)) for i in first.output] == [("a", {"x": 1}), ("b", {})]
    history: list[Any] = [{"role": "user", "content": "go"}]
    for item in first.output:
        history += [item.model_dump(exclude_none=True), {"type": "function_call_output", "call_id": item.call_id,
                                                         "output": "ok"}]
    second = client.responses.create(model="gpt-4o-mini", input=history)
    assert [i.name for i in second.output] == ["c"]
    history += [second.output[0].model_dump(exclude_none=True)]
    third = client.responses.create(model="gpt-4o-mini", input=history)
    assert third.output_text == "Hello from the simulator."


def test_responses_stream_carries_parallel_calls(client: Any) -> None:
    with client.responses.stream(model="gpt-4o-mini", input="go") as stream:
        final = stream.get_final_response()
    assert [i.name for i in final.output] == ["a", "b"]
    assert final.usage is not None and final.usage.output_tokens == 3  # the words of both argument strings


def test_chat_walks_the_plan(client: Any) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "go"}])
    calls = first.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["a", "b"] and first.choices[0].finish_reason == "tool_calls"
    messages: list[Any] = [{"role": "user", "content": "go"}, first.choices[0].message.model_dump(exclude_none=True)]
    messages += [{"role": "tool", "tool_call_id": c.id, "content": "ok"} for c in calls]
    second = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert [c.function.name for c in second.choices[0].message.tool_calls] == ["c"]


def test_a_bad_plan_is_a_400(client: Any) -> None:
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4o-mini", input="go", extra_headers={TOOL_PLAN_HEADER: "{not json"})


@given(st.text(), st.dictionaries(st.sampled_from(["input", "messages"]), st.recursive(
    st.none() | st.integers() | st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner))))
def test_plan_turn_answers_calls_or_a_client_error(plan: str, body: dict[str, Any]) -> None:
    try:
        calls = plan_turn(plan, body)
    except _ClientError as err:
        assert err.status == 400
    else:
        assert all(isinstance(name, str) and isinstance(json.loads(arguments), object) for name, arguments in calls)
