"""Roll-up: each unit's span carries the totals of every GenAI call beneath it, threads and tasks included.

Real openai clients against the simulator; every total is checked against the sum over the GenAI
spans under the unit in the same trace.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

import otel_ai
from otel_ai.genai import hooks as calls
from otel_ai.work import threads
from otel_ai.work.units import current_unit
from tests.conftest import scenario
from tests.work.units_support import by_name, genai_calls_under, use_global_providers

MESSAGES = [{"role": "user", "content": "tell me three short things"}]


@pytest.fixture
def otel(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    return use_global_providers(telemetry, monkeypatch)


def expected(telemetry: Any, span: Any) -> dict[str, Any]:
    """The roll-up attributes `span` must carry: the sums over the GenAI calls below it."""
    below = genai_calls_under(telemetry, span)
    attrs = [dict(s.attributes) for s in below]
    return {
        "otel_ai.task.cost.usd": pytest.approx(sum(a.get("otel_ai.cost.usd", 0.0) for a in attrs)),
        "otel_ai.task.usage.input_tokens": sum(a.get("gen_ai.usage.input_tokens", 0) for a in attrs),
        "otel_ai.task.usage.output_tokens": sum(a.get("gen_ai.usage.output_tokens", 0) for a in attrs),
        "otel_ai.task.usage.characters": sum(a.get("otel_ai.usage.characters", 0) for a in attrs),
        "otel_ai.task.calls": len(below),
        "otel_ai.task.calls.failed": sum(1 for a in attrs if "error.type" in a),
    }


def rollup(span: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(span.attributes).items() if k.startswith("otel_ai.task.") and k not in (
        "otel_ai.task.type", "otel_ai.task.name", "otel_ai.task.id")}


def chat(client: Any, model: str = "gpt-4o-mini", **kwargs: Any) -> Any:
    return client.chat.completions.create(model=model, messages=MESSAGES, **kwargs)


def test_nested_units_carry_the_totals_of_every_call_below(client: Any, otel: Any) -> None:
    @otel_ai.task("summarize")
    def summarize() -> None:
        chat(client)
        chat(client, model="gpt-4o")

    @otel_ai.tool("lookup")
    def lookup() -> None:
        chat(client)
        with pytest.raises(openai.RateLimitError):
            chat(client, extra_headers=scenario("rate_limit"))

    @otel_ai.workflow("digest")
    def digest() -> None:
        chat(client)
        with otel_ai.agent("writer"):
            summarize()
            lookup()

    digest()
    wf = by_name(otel, "invoke_workflow digest")
    agent = by_name(otel, "invoke_agent writer")
    task = by_name(otel, "task summarize")
    tool = by_name(otel, "execute_tool lookup")
    assert rollup(wf) == expected(otel, wf)
    assert rollup(agent) == expected(otel, agent)
    assert rollup(task) == expected(otel, task)
    assert rollup(tool) == expected(otel, tool)
    # the numbers are real: five calls in all, one failed, a positive cost
    assert wf.attributes["otel_ai.task.calls"] == 5 and wf.attributes["otel_ai.task.calls.failed"] == 1
    assert task.attributes["otel_ai.task.calls"] == 2 and tool.attributes["otel_ai.task.calls.failed"] == 1
    assert wf.attributes["otel_ai.task.cost.usd"] > task.attributes["otel_ai.task.cost.usd"] > 0
    assert wf.attributes["otel_ai.task.usage.input_tokens"] > 0


def test_a_unit_without_calls_rolls_up_zeros(otel: Any) -> None:
    with otel_ai.task("idle"):
        pass
    assert rollup(by_name(otel, "task idle")) == {
        "otel_ai.task.cost.usd": 0.0, "otel_ai.task.usage.input_tokens": 0, "otel_ai.task.usage.output_tokens": 0,
        "otel_ai.task.usage.characters": 0, "otel_ai.task.calls": 0, "otel_ai.task.calls.failed": 0,
    }


def test_streams_roll_up_when_consumed_inside_the_unit(client: Any, otel: Any) -> None:
    with otel_ai.task("streaming"):
        stream = chat(client, stream=True, stream_options={"include_usage": True})
        "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    span = by_name(otel, "task streaming")
    assert rollup(span) == expected(otel, span)
    assert span.attributes["otel_ai.task.usage.output_tokens"] > 0


def test_threads_started_inside_a_unit_are_counted_and_parented(client: Any, otel: Any) -> None:
    def worker() -> None:
        chat(client)

    with otel_ai.task("fan_out") as unit:
        started = [threading.Thread(target=worker) for _ in range(3)]
        for t in started:
            t.start()
        for t in started:
            t.join()
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda _: chat(client), range(4)))
            pool.submit(chat, client).result()
    span = by_name(otel, "task fan_out")
    below = genai_calls_under(otel, span)
    assert len(below) == 8  # every call made in those threads is a descendant of the task span
    assert rollup(span) == expected(otel, span)
    assert unit.totals.calls == 8


def test_thread_outside_a_unit_is_left_alone(client: Any, otel: Any) -> None:
    assert threads.installed()
    seen: list[Any] = []
    t = threading.Thread(target=lambda: seen.append(current_unit()))
    t.start()
    t.join()
    assert seen == [None]
    assert "run" not in vars(t)  # outside a unit, nothing was wrapped
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(current_unit).result() is None


def test_roll_up_is_thread_safe(otel: Any) -> None:
    facts = calls.CallFacts(calls.CallScope("openai", "chat", "m", None), 0.001, 2, 3, 5, False)

    def burst() -> None:
        for _ in range(2000):
            calls.publish(facts)

    with otel_ai.workflow("busy") as wf, otel_ai.task("inner") as inner:
        started = [threading.Thread(target=burst) for _ in range(4)]
        for t in started:
            t.start()
        for t in started:
            t.join()
    for unit in (wf, inner):
        assert unit.totals.calls == 8000
        assert unit.totals.input_tokens == 16000 and unit.totals.output_tokens == 24000
        assert unit.totals.characters == 40000
        assert unit.totals.cost_usd == pytest.approx(8.0)
    assert by_name(otel, "task inner").attributes["otel_ai.task.usage.characters"] == 40000


async def test_asyncio_gather_inside_a_task(aclient: Any, otel: Any) -> None:
    @otel_ai.task("parallel")
    async def parallel() -> None:
        async def one() -> None:
            await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

        await asyncio.gather(one(), one(), one())
        await asyncio.create_task(one())
        await asyncio.to_thread(lambda: None)

    await parallel()
    span = by_name(otel, "task parallel")
    assert len(genai_calls_under(otel, span)) == 4
    assert rollup(span) == expected(otel, span)


async def test_run_in_executor_inside_a_task(client: Any, otel: Any) -> None:
    async with otel_ai.task("offload"):
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, chat, client)
    span = by_name(otel, "task offload")
    assert span.attributes["otel_ai.task.calls"] == 1 and rollup(span) == expected(otel, span)


def test_batches_roll_up_their_items_calls(client: Any, otel: Any) -> None:
    result = otel_ai.map_batches(lambda i: chat(client), range(3), batch_size=2, name="ask")
    assert result.succeeded == 3
    spans = [s for s in otel.spans() if s.name == "task ask"]
    assert sorted(s.attributes["otel_ai.task.calls"] for s in spans) == [1, 2]
    for span in spans:
        assert rollup(span) == expected(otel, span)


# -- set_cost --------------------------------------------------------------------------------------------


def test_set_cost_counts_in_the_roll_up_and_is_published(client: Any, otel: Any) -> None:
    published: list[calls.CallFacts] = []
    calls.subscribe(published.append)
    try:
        with otel_ai.workflow("mixed") as wf:
            chat(client)
            with otel_ai.task("transcribe") as task:
                task.set_cost(0.25, input_tokens=10, output_tokens=20, characters=300, model="whisper-local")
            wf.set_cost(0.5, model="gpu-box", provider="modal")
    finally:
        calls.unsubscribe(published.append)
    external = [f for f in published if f.scope.operation == "external"]
    assert [f.scope for f in external] == [
        calls.CallScope("unknown", "external", "whisper-local", "transcribe"),
        calls.CallScope("modal", "external", "gpu-box", "mixed"),
    ]
    assert external[0].cost_usd == 0.25 and external[0].characters == 300
    wf_span, task_span = by_name(otel, "invoke_workflow mixed"), by_name(otel, "task transcribe")
    [call] = genai_calls_under(otel, wf_span)
    assert task_span.attributes["otel_ai.task.cost.usd"] == pytest.approx(0.25)
    assert task_span.attributes["otel_ai.task.usage.characters"] == 300
    assert task_span.attributes["otel_ai.task.calls"] == 1
    assert wf_span.attributes["otel_ai.task.cost.usd"] == pytest.approx(0.75 + call.attributes["otel_ai.cost.usd"])
    assert wf_span.attributes["otel_ai.task.usage.input_tokens"] == 10 + call.attributes["gen_ai.usage.input_tokens"]
    assert wf_span.attributes["otel_ai.task.calls"] == 3


def test_set_cost_from_a_decorated_function(otel: Any) -> None:
    @otel_ai.task("render")
    def render() -> None:
        unit = otel_ai.current_unit()
        assert unit is not None
        unit.set_cost(0.1, output_tokens=5)
        unit.set_cost(float("nan"))  # nonsense is counted as zero cost, never raised
        unit.set_cost(-3.0)

    render()
    attrs = by_name(otel, "task render").attributes
    assert attrs["otel_ai.task.cost.usd"] == pytest.approx(0.1)
    assert attrs["otel_ai.task.calls"] == 3 and attrs["otel_ai.task.usage.output_tokens"] == 5


# -- task type on the calls ------------------------------------------------------------------------------


def test_calls_inside_a_task_carry_its_type_on_span_and_metrics(client: Any, otel: Any) -> None:
    with otel_ai.workflow("nightly"):
        chat(client)
        with otel_ai.task("classify"):
            chat(client, model="gpt-4o")
    chat(client, model="gpt-4.1-mini")  # outside: no task type
    by_model = {s.attributes["gen_ai.request.model"]: s.attributes.get("otel_ai.task.type") for s in otel.genai_spans()
                if s.attributes["gen_ai.operation.name"] == "chat"}
    assert by_model == {"gpt-4o-mini": "nightly", "gpt-4o": "classify", "gpt-4.1-mini": None}
    cost = {(p.get("gen_ai.request.model"), p.get("otel_ai.task.type")) for p, _ in otel.points("otel_ai.client.cost")}
    assert cost == {("gpt-4o-mini", "nightly"), ("gpt-4o", "classify"), ("gpt-4.1-mini", None)}
    requests = {p.get("otel_ai.task.type") for p, _ in otel.points("otel_ai.client.requests")}
    assert requests == {"nightly", "classify", None}
