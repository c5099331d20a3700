"""LangChain / LangGraph runs as units of work: real langchain-openai over the real `openai` client
against the OpenAI simulator, real LangGraph graphs, one trace per run, one chat span per model call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import ReadableSpan
from typing_extensions import TypedDict

from otel_ai.instrumentation.langchain import LangChainInstrumentor
from tests.conftest import API_KEY
from tests.work.units_support import by_name, use_global_providers


@tool
def get_weather(location: str, unit: str = "celsius") -> str:
    """The weather at a place."""
    return f"sunny in {location}"


def _pick_scenario(request: httpx.Request) -> None:
    """The simulator calls the tool first, and answers once the tool's result is in the conversation."""
    body = json.loads(request.content or b"{}")
    roles = [m.get("role") for m in body.get("messages", [])]
    request.headers["x-simulator-scenario"] = "ok" if "tool" in roles else "tool_call"


@pytest.fixture
def lc(telemetry: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Any]:
    from otel_ai import guard

    use_global_providers(telemetry, monkeypatch)
    before = {k: v for k, v in guard.failures.items() if k.startswith("langchain.")}
    LangChainInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        LangChainInstrumentor().uninstrument()
    after = {k: v for k, v in guard.failures.items() if k.startswith("langchain.")}
    if "never_reach" not in request.node.name:
        assert after == before  # the handler itself never failed


def _model(sim: Any, *, agent: bool = False) -> ChatOpenAI:
    hooks = {"request": [_pick_scenario]} if agent else {}
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=sim.base_url, api_key=API_KEY, max_retries=0,  # type: ignore[arg-type]
        http_client=httpx.Client(event_hooks=hooks),
        http_async_client=httpx.AsyncClient(event_hooks={"request": [_async(_pick_scenario)]} if agent else {}),
    )


def _async(fn: Any) -> Any:
    async def hook(request: httpx.Request) -> None:
        fn(request)

    return hook


def _chat_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]


def _one_trace(spans: list[ReadableSpan]) -> None:
    traces = {s.context.trace_id for s in spans if s.context is not None}
    assert len(traces) == 1, sorted((s.name, s.context.trace_id if s.context else 0) for s in spans)
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1, [s.name for s in roots]


def _parent(spans: list[ReadableSpan], span: ReadableSpan) -> ReadableSpan:
    assert span.parent is not None, span.name
    [found] = [s for s in spans if s.context is not None and s.context.span_id == span.parent.span_id]
    return found


def test_lcel_chain_is_a_workflow_with_the_openai_span_under_it(lc: Any, sim: Any) -> None:
    chain = (ChatPromptTemplate.from_messages([("user", "say hi to {who}")]) | _model(sim)).with_config(
        run_name="greet"
    )
    answer = chain.invoke({"who": "Ada"})
    assert isinstance(answer, AIMessage) and answer.content
    spans = lc.spans()
    workflow = by_name(lc, "invoke_workflow greet")
    [chat] = _chat_spans(spans)  # one chat span: the OpenAI instrumentation's, none of ours
    assert chat.instrumentation_scope is not None and chat.instrumentation_scope.name != "otel_ai.work"
    assert _parent(spans, chat) is workflow
    attrs = workflow.attributes or {}
    assert attrs["gen_ai.operation.name"] == "invoke_workflow"
    assert attrs["otel_ai.task.calls"] == 1
    assert attrs["otel_ai.task.usage.input_tokens"] == (chat.attributes or {})["gen_ai.usage.input_tokens"]
    assert attrs["otel_ai.task.cost.usd"] > 0
    _one_trace(spans)


def test_react_agent_with_a_tool(lc: Any, sim: Any) -> None:
    from langgraph.prebuilt import create_react_agent

    agent = create_react_agent(_model(sim, agent=True), [get_weather], name="weather_agent")
    result = agent.invoke({"messages": [("user", "weather in Paris?")]}, {"configurable": {"thread_id": "t-1"}})
    assert result["messages"][-1].content
    spans = lc.spans()
    _one_trace(spans)
    root = by_name(lc, "invoke_agent weather_agent")
    assert root.parent is None
    tool_span = by_name(lc, "execute_tool get_weather")
    attrs = tool_span.attributes or {}
    assert attrs["gen_ai.tool.name"] == "get_weather"
    assert str(attrs["gen_ai.tool.call.id"]).startswith("call_")
    assert attrs["gen_ai.agent.name"] == "weather_agent"
    assert "gen_ai.tool.call.arguments" not in attrs  # content capture is off
    chats = _chat_spans(spans)
    assert len(chats) == 2  # one per model call, nothing doubled
    for chat in chats:
        assert _parent(spans, chat).name == "task agent"  # the LangGraph node
    root_attrs = root.attributes or {}
    assert root_attrs["otel_ai.task.calls"] == 2
    assert root_attrs["gen_ai.conversation.id"] == "t-1"
    assert root_attrs["otel_ai.task.cost.usd"] == pytest.approx(
        sum(float((c.attributes or {})["otel_ai.cost.usd"]) for c in chats)
    )


class _State(TypedDict, total=False):
    topic: str
    a: str
    b: str
    joined: str


def _parallel_graph(sim: Any) -> Any:
    model = _model(sim)

    async def left(state: _State) -> _State:
        return {"a": str((await model.ainvoke(f"left {state['topic']}")).content)}

    async def right(state: _State) -> _State:
        return {"b": str((await model.ainvoke(f"right {state['topic']}")).content)}

    async def join(state: _State) -> _State:
        return {"joined": state["a"] + state["b"]}

    graph = StateGraph(_State)
    graph.add_node("left", left)
    graph.add_node("right", right)
    graph.add_node("join", join)
    graph.add_edge(START, "left")
    graph.add_edge(START, "right")
    graph.add_edge(["left", "right"], "join")
    graph.add_edge("join", END)
    return graph.compile(name="fanout")


async def test_async_graph_with_parallel_branches_is_one_trace(lc: Any, sim: Any) -> None:
    app = _parallel_graph(sim)
    results = await asyncio.gather(app.ainvoke({"topic": "x"}), app.ainvoke({"topic": "y"}))
    assert all(r["joined"] for r in results)
    spans = [s for s in lc.spans() if not s.name.startswith("POST") and s.name != "POST"]
    roots = [s for s in spans if s.parent is None]
    assert [s.name for s in roots] == ["invoke_workflow fanout"] * 2
    for root in roots:
        mine = [s for s in spans if s.context is not None and s.context.trace_id == root.context.trace_id]
        assert sorted(s.name for s in mine if s.name.startswith("task")) == ["task join", "task left", "task right"]
        chats = _chat_spans(mine)
        assert len(chats) == 2
        assert {_parent(mine, c).name for c in chats} == {"task left", "task right"}
        assert (root.attributes or {})["otel_ai.task.calls"] == 2
    assert len(_chat_spans(spans)) == 4


def test_fake_chat_model_gets_a_chat_span_from_reported_usage(lc: Any) -> None:
    reply = AIMessage(content="hello", usage_metadata={"input_tokens": 7, "output_tokens": 3, "total_tokens": 10})
    model = GenericFakeChatModel(messages=iter([reply]))
    chain = RunnableLambda(lambda x: x, name="prep") | model
    chain.invoke("hi")
    spans = lc.spans()
    [chat] = _chat_spans(spans)
    attrs = chat.attributes or {}
    assert attrs["gen_ai.usage.input_tokens"] == 7 and attrs["gen_ai.usage.output_tokens"] == 3
    workflow = _parent(spans, chat)
    assert workflow.name.startswith("invoke_workflow")
    assert (workflow.attributes or {})["otel_ai.task.usage.input_tokens"] == 7
    _one_trace(spans)


class _Docs(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
        return [Document(page_content=f"about {query}"), Document(page_content="more")]


def test_retriever_is_a_retrieval_span(lc: Any) -> None:
    chain = RunnableLambda(lambda q: q, name="ask") | _Docs()
    docs = chain.invoke("otters")
    assert len(docs) == 2
    span = by_name(lc, "retrieval _Docs")
    attrs = span.attributes or {}
    assert attrs["gen_ai.operation.name"] == "retrieval"
    assert attrs["otel_ai.retrieval.documents"] == 2
    _one_trace(lc.spans())


def test_errors_in_our_handler_never_reach_the_app(lc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_ai.instrumentation.langchain import handler as H

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(H.OtelAIHandler, "_chain_start", broken)
    monkeypatch.setattr(H.OtelAIHandler, "_close", broken)
    assert (RunnableLambda(lambda x: x + 1) | RunnableLambda(lambda x: x * 2)).invoke(1) == 4


def test_a_failing_tool_marks_its_span_and_the_error_reaches_the_app(lc: Any) -> None:
    @tool
    def explode(x: int) -> int:
        """Always fails."""
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        explode.invoke({"x": 1})
    span = by_name(lc, "execute_tool explode")
    assert (span.attributes or {})["error.type"] == "ValueError"


@pytest.mark.parametrize("content_mode", ["SPAN_ONLY"])
def test_tool_arguments_and_result_only_with_content_capture(lc: Any, content_mode: str) -> None:
    assert get_weather.invoke({"location": "Oslo"}) == "sunny in Oslo"
    attrs = by_name(lc, "execute_tool get_weather").attributes or {}
    assert "Oslo" in str(attrs["gen_ai.tool.call.arguments"])
    assert attrs["gen_ai.tool.call.result"] == "sunny in Oslo"


class _ToolCallingFake(GenericFakeChatModel):
    """A chat model no otel_ai instrumentor covers, that asks for tools (create_agent binds them)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


async def test_create_agent_parallel_tool_calls_async_one_trace(lc: Any) -> None:
    from langchain.agents import create_agent

    calls = [
        {"name": "get_weather", "args": {"location": city}, "id": f"call_{city}", "type": "tool_call"}
        for city in ("Oslo", "Lima", "Pune")
    ]
    usage = {"input_tokens": 11, "output_tokens": 5, "total_tokens": 16}
    model = _ToolCallingFake(messages=iter([
        AIMessage(content="", tool_calls=calls, usage_metadata=usage),  # type: ignore[arg-type]
        AIMessage(content="all sunny", usage_metadata=usage),  # type: ignore[arg-type]
    ]))
    agent = create_agent(model, [get_weather], name="planner")
    result = await agent.ainvoke({"messages": [("user", "weather?")]}, {"configurable": {"thread_id": "conv-9"}})
    assert result["messages"][-1].content == "all sunny"
    spans = lc.spans()
    _one_trace(spans)
    root = by_name(lc, "invoke_agent planner")
    assert root.parent is None
    tools = [s for s in spans if s.name == "execute_tool get_weather"]
    assert sorted(str((s.attributes or {})["gen_ai.tool.call.id"]) for s in tools) == [
        "call_Lima", "call_Oslo", "call_Pune"
    ]
    for span in tools:
        assert (span.attributes or {})["gen_ai.agent.name"] == "planner"
    chats = _chat_spans(spans)
    assert len(chats) == 2
    attrs = root.attributes or {}
    assert attrs["otel_ai.task.calls"] == 2
    assert attrs["otel_ai.task.usage.input_tokens"] == 22
    assert attrs["gen_ai.agent.name"] == "planner"
    assert attrs["gen_ai.conversation.id"] == "conv-9"


def test_stream_and_batch_each_input_one_trace(lc: Any, sim: Any) -> None:
    chain = (ChatPromptTemplate.from_messages([("user", "{q}")]) | _model(sim)).with_config(run_name="qa")
    chunks = list(chain.stream({"q": "streamed"}))
    assert "".join(str(c.content) for c in chunks)
    assert len(chain.batch([{"q": "one"}, {"q": "two"}, {"q": "three"}])) == 3
    spans = [s for s in lc.spans() if not s.name.startswith("POST")]
    roots = [s for s in spans if s.parent is None]
    assert [s.name for s in roots] == ["invoke_workflow qa"] * 4
    chats = _chat_spans(spans)
    assert len(chats) == 4
    assert {_parent(spans, c).context.span_id for c in chats} == {r.context.span_id for r in roots}  # type: ignore[union-attr]
    assert all((r.attributes or {})["otel_ai.task.calls"] == 1 for r in roots)


def test_uninstrument_stops_the_units(lc: Any) -> None:
    LangChainInstrumentor().uninstrument()
    RunnableLambda(lambda x: x, name="quiet").invoke(1)
    assert not [s for s in lc.spans() if s.name.startswith("invoke_workflow")]
    LangChainInstrumentor().instrument(**lc.providers)
    RunnableLambda(lambda x: x, name="loud").invoke(1)
    assert by_name(lc, "invoke_workflow loud")


def test_sync_graph_parallel_nodes_in_threads_one_trace(lc: Any, sim: Any) -> None:
    import threading

    model = _model(sim)
    threads: set[int] = set()

    def branch(tag: str) -> Any:
        def node(state: _State) -> _State:
            threads.add(threading.get_ident())
            return {tag: str(model.invoke(f"{tag} {state['topic']}").content)}  # type: ignore[misc]

        return node

    graph = StateGraph(_State)
    graph.add_node("left", branch("a"))
    graph.add_node("right", branch("b"))
    graph.add_edge(START, "left")
    graph.add_edge(START, "right")
    graph.add_edge("left", END)
    graph.add_edge("right", END)
    result = graph.compile(name="sync_fanout").invoke({"topic": "z"})
    assert result["a"] and result["b"]
    assert len(threads) == 2  # LangGraph ran the branches in its thread pool
    spans = [s for s in lc.spans() if not s.name.startswith("POST")]
    _one_trace(spans)
    chats = _chat_spans(spans)
    assert {_parent(spans, c).name for c in chats} == {"task left", "task right"}
    assert (by_name(lc, "invoke_workflow sync_fanout").attributes or {})["otel_ai.task.calls"] == 2


async def test_async_react_agent_streamed_one_trace(lc: Any, sim: Any) -> None:
    from langchain.agents import create_agent

    agent = create_agent(_model(sim, agent=True), [get_weather], name="streamer")
    updates = [u async for u in agent.astream({"messages": [("user", "weather?")]}, stream_mode="updates")]
    assert updates
    spans = [s for s in lc.spans() if not s.name.startswith("POST")]
    _one_trace(spans)
    assert len(_chat_spans(spans)) == 2
    root = by_name(lc, "invoke_agent streamer")
    assert (root.attributes or {})["otel_ai.task.calls"] == 2
    assert (root.attributes or {})["otel_ai.task.cost.usd"] > 0
    assert _parent(spans, by_name(lc, "execute_tool get_weather")).name == "task tools"
