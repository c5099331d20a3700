"""The OpenAI Agents SDK as units of work: real `Runner` runs, a real `openai` client, the simulator.

The agent calls a function tool and hands off to a second agent (the simulator's tool plan scripts the
model); every model call is recorded once, by the OpenAI instrumentation, under the agent that made it.
The SDK's own export to OpenAI is pointed at a local server here, which also shows it keeps working.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

agents = pytest.importorskip("agents")

from agents import Agent, Runner, function_tool, trace  # noqa: E402
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel  # noqa: E402
from agents.models.openai_responses import OpenAIResponsesModel  # noqa: E402
from agents.tracing import processors as sdk_processors  # noqa: E402

from otel_ai.instrumentation.openai_agents import OpenAIAgentsInstrumentor  # noqa: E402
from tests.conftest import API_KEY  # noqa: E402
from tests.work.units_support import by_name, children, use_global_providers  # noqa: E402

PLAN = json.dumps([
    [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Oslo"}}],
    [{"name": "transfer_to_writer", "arguments": {}}],
])


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


class _Ingest(BaseHTTPRequestHandler):
    posts: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).posts.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def ingest() -> Iterator[list[dict[str, Any]]]:
    """A local stand-in for OpenAI's trace ingest: the SDK's own exporter posts here, not to api.openai.com."""
    server = HTTPServer(("127.0.0.1", 0), _Ingest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    exporter = sdk_processors.default_exporter()
    old = (exporter.endpoint, exporter._api_key)
    exporter.endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces/ingest"
    exporter.set_api_key("sk-test-ingest")
    _Ingest.posts = []
    yield _Ingest.posts
    sdk_processors.default_processor().force_flush()  # what is queued goes here, not to OpenAI
    exporter.endpoint, exporter._api_key = old
    server.shutdown()


@pytest.fixture
def instrumented(telemetry: Any, monkeypatch: pytest.MonkeyPatch, ingest: Any) -> Iterator[Any]:
    use_global_providers(telemetry, monkeypatch)
    OpenAIAgentsInstrumentor().instrument()
    yield telemetry
    OpenAIAgentsInstrumentor().uninstrument()


def _agents(sim: Any, *, chat: bool = False) -> Agent[Any]:
    import openai

    client = openai.AsyncOpenAI(
        base_url=sim.base_url, api_key=API_KEY, max_retries=0,
        default_headers={"x-simulator-tool-plan": PLAN, "x-simulator-reply": "Sunny everywhere."},
    )
    model_type = OpenAIChatCompletionsModel if chat else OpenAIResponsesModel
    writer = Agent(name="writer", instructions="Write.", model=model_type(model="gpt-4o-mini", openai_client=client))
    return Agent(
        name="planner", instructions="Plan.", tools=[get_weather], handoffs=[writer],
        model=model_type(model="gpt-4o-mini", openai_client=client),
    )


def _check_run(telemetry: Any) -> None:
    workflow = by_name(telemetry, "invoke_workflow Agent workflow")
    planner = by_name(telemetry, "invoke_agent planner")
    writer = by_name(telemetry, "invoke_agent writer")
    tools = [s for s in telemetry.spans() if s.name == "execute_tool get_weather"]
    chats = [s for s in telemetry.spans() if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    # one trace for the whole run: both agents, both parallel tool calls, every model call
    assert {s.context.trace_id for s in telemetry.spans()} == {workflow.context.trace_id}
    assert planner.parent.span_id == workflow.context.span_id
    assert writer.parent.span_id == workflow.context.span_id
    assert len(tools) == 2 and all(t.parent.span_id == planner.context.span_id for t in tools)
    # one span per model call: planner asked twice (tools, handoff), writer once; none added by the SDK
    assert len(chats) == 3
    assert len([c for c in chats if c.parent.span_id == planner.context.span_id]) == 2
    assert len([c for c in chats if c.parent.span_id == writer.context.span_id]) == 1
    # the roll-up counts each call once, in its agent and in the workflow
    assert planner.attributes["otel_ai.task.calls"] == 2
    assert writer.attributes["otel_ai.task.calls"] == 1
    assert workflow.attributes["otel_ai.task.calls"] == 3
    assert workflow.attributes["otel_ai.task.cost.usd"] > 0
    assert workflow.attributes["otel_ai.task.cost.usd"] == pytest.approx(
        planner.attributes["otel_ai.task.cost.usd"] + writer.attributes["otel_ai.task.cost.usd"]
    )
    # the handoff is an event on the agent that hands off
    [event] = [e for e in planner.events if e.name == "otel_ai.agent.handoff"]
    assert event.attributes["otel_ai.handoff.to_agent"] == "writer"
    for tool in tools:  # content off: no arguments, no result
        assert "gen_ai.tool.call.arguments" not in tool.attributes
        assert tool.attributes["gen_ai.agent.name"] == "planner"
        assert tool.attributes["gen_ai.tool.type"] == "function"


async def test_run_async(sim: Any, instrumented: Any) -> None:
    result = await Runner.run(_agents(sim), "weather in Paris and Oslo?")
    assert result.final_output == "Sunny everywhere."
    _check_run(instrumented)


def test_run_sync(sim: Any, instrumented: Any) -> None:
    result = Runner.run_sync(_agents(sim), "weather in Paris and Oslo?")
    assert result.final_output == "Sunny everywhere."
    _check_run(instrumented)


async def test_run_streamed(sim: Any, instrumented: Any) -> None:
    result = Runner.run_streamed(_agents(sim), "weather in Paris and Oslo?")
    async for _ in result.stream_events():
        pass
    assert result.final_output == "Sunny everywhere."
    _check_run(instrumented)


async def test_chat_completions_model(sim: Any, instrumented: Any) -> None:
    result = await Runner.run(_agents(sim, chat=True), "weather in Paris and Oslo?")
    assert result.final_output == "Sunny everywhere."
    _check_run(instrumented)


async def test_sdk_export_keeps_working(sim: Any, instrumented: Any, ingest: list[dict[str, Any]]) -> None:
    await Runner.run(_agents(sim), "weather?")
    sdk_processors.default_processor().force_flush()
    kinds = {item.get("span_data", {}).get("type") for post in ingest for item in post.get("data", [])}
    assert {"agent", "function", "handoff"} <= kinds


async def test_group_id_is_the_conversation(sim: Any, instrumented: Any) -> None:
    with trace("support", group_id="thread-42"):
        await Runner.run(_agents(sim), "weather?")
    workflow = by_name(instrumented, "invoke_workflow support")
    assert workflow.attributes["gen_ai.conversation.id"] == "thread-42"
    for span in children(instrumented, workflow):
        assert span.attributes["gen_ai.conversation.id"] == "thread-42"
    chats = [s for s in instrumented.spans() if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    assert chats and all(c.attributes["gen_ai.conversation.id"] == "thread-42" for c in chats)


class TestContent:
    @pytest.fixture
    def content_mode(self) -> str:
        return "span_only"

    async def test_tool_arguments_and_result(self, sim: Any, instrumented: Any) -> None:
        await Runner.run(_agents(sim), "weather?")
        tools = [s for s in instrumented.spans() if s.name == "execute_tool get_weather"]
        results = sorted(str(t.attributes["gen_ai.tool.call.result"]) for t in tools)
        assert results == ["sunny in Oslo", "sunny in Paris"]
        assert any("Paris" in str(t.attributes["gen_ai.tool.call.arguments"]) for t in tools)


async def test_failing_tool_is_an_error_and_the_run_goes_on(sim: Any, instrumented: Any) -> None:
    @function_tool
    def get_weather(city: str) -> str:
        """Always fails."""
        raise RuntimeError("no weather today")

    agent = _agents(sim)
    agent.tools = [get_weather]
    result = await Runner.run(agent, "weather?")
    assert result.final_output == "Sunny everywhere."
    tools = [s for s in instrumented.spans() if s.name == "execute_tool get_weather"]
    assert len(tools) == 2
    for tool in tools:
        assert tool.status.status_code.name == "ERROR"
        assert tool.attributes["error.type"].endswith("AgentsSpanError")


async def test_uninstrumented_records_no_units(sim: Any, instrumented: Any) -> None:
    OpenAIAgentsInstrumentor().uninstrument()
    await Runner.run(_agents(sim), "weather?")
    assert not [s for s in instrumented.spans() if s.name.startswith(("invoke_agent", "execute_tool"))]
    chats = [s for s in instrumented.spans() if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 3


@pytest.mark.parametrize("tripped", [False, True])
async def test_guardrail_is_apply_guardrail(sim: Any, instrumented: Any, tripped: bool) -> None:
    from agents import GuardrailFunctionOutput, InputGuardrailTripwireTriggered, input_guardrail

    @input_guardrail
    def no_secrets(ctx: Any, agent: Any, text: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered=tripped)

    agent = _agents(sim)
    agent.input_guardrails = [no_secrets]
    if tripped:
        with pytest.raises(InputGuardrailTripwireTriggered):  # the SDK's own behaviour, unchanged
            await Runner.run(agent, "weather?")
    else:
        await Runner.run(agent, "weather?")
    guard = by_name(instrumented, "apply_guardrail no_secrets")
    planner = by_name(instrumented, "invoke_agent planner")
    assert guard.attributes["gen_ai.operation.name"] == "apply_guardrail"
    assert guard.attributes["gen_ai.guardian.name"] == "no_secrets"
    assert guard.attributes["gen_ai.security.target.type"] == "llm_input"
    assert guard.attributes["gen_ai.security.decision.type"] == ("deny" if tripped else "allow")
    assert guard.kind.name == "INTERNAL"
    assert guard.status.status_code.name == "UNSET"  # a decision, not an error
    assert guard.context.trace_id == planner.context.trace_id
    assert guard.parent.span_id == planner.context.span_id


async def test_output_guardrail_targets_the_output(sim: Any, instrumented: Any) -> None:
    from agents import GuardrailFunctionOutput, output_guardrail

    @output_guardrail
    def polite(ctx: Any, agent: Any, output: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)

    agent = _agents(sim)
    agent.handoffs[0].output_guardrails = [polite]  # the writer gives the final output
    await Runner.run(agent, "weather?")
    guard = by_name(instrumented, "apply_guardrail polite")
    assert guard.attributes["gen_ai.guardian.name"] == "polite"
    assert guard.attributes["gen_ai.security.target.type"] == "llm_output"
    assert guard.attributes["gen_ai.security.decision.type"] == "allow"


@pytest.mark.parametrize("chat", [False, True])
async def test_model_calls_nobody_recorded_get_a_chat_span_from_the_sdk_usage(
    sim: Any, instrumented: Any, chat: bool
) -> None:
    from otel_ai.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().uninstrument()  # the model's provider not instrumented: the SDK's usage is all there is
    await Runner.run(_agents(sim, chat=chat), "weather in Paris and Oslo?")
    chats = [s for s in instrumented.spans() if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 3, [s.name for s in instrumented.spans()]
    for span in chats:
        assert span.name == "chat gpt-4o-mini"
        assert span.attributes["gen_ai.usage.input_tokens"] > 0
        assert span.attributes["gen_ai.usage.output_tokens"] > 0
        assert span.attributes["gen_ai.provider.name"] == "openai"
    planner = by_name(instrumented, "invoke_agent planner")
    workflow = by_name(instrumented, "invoke_workflow Agent workflow")
    assert len([c for c in chats if c.parent.span_id == planner.context.span_id]) == 2
    assert workflow.attributes["otel_ai.task.calls"] == 3
    assert workflow.attributes["otel_ai.task.usage.input_tokens"] == sum(
        c.attributes["gen_ai.usage.input_tokens"] for c in chats
    )



async def test_a_model_call_inside_a_tool_counts_in_the_tool_even_from_a_thread(sim: Any, instrumented: Any) -> None:
    import concurrent.futures

    import openai

    def ask(city: str) -> str:
        with openai.OpenAI(base_url=sim.base_url, api_key=API_KEY, max_retries=0) as client:
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": city}])
        return str(answer.choices[0].message.content)

    @function_tool
    def get_weather(city: str) -> str:
        """Asks a model, from a worker thread."""
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(ask, city).result()

    agent = _agents(sim)
    agent.tools = [get_weather]
    await Runner.run(agent, "weather?")
    tools = [s for s in instrumented.spans() if s.name == "execute_tool get_weather"]
    workflow = by_name(instrumented, "invoke_workflow Agent workflow")
    assert len(tools) == 2
    for tool in tools:
        [inner] = children(instrumented, tool)
        assert inner.name == "chat gpt-4o-mini" and inner.context.trace_id == workflow.context.trace_id
        assert tool.attributes["otel_ai.task.calls"] == 1
    assert workflow.attributes["otel_ai.task.calls"] == 5  # three agent turns, two tool calls
