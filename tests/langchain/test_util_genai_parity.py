"""The workflow, agent and tool spans LangChain runs become match what opentelemetry-util-genai emits.

A LangChain workflow (a runnable) runs a `create_agent` agent that calls a tool; util-genai's
`TelemetryHandler` records the same work by hand. Both into in-memory providers: the spans with a GenAI
operation other than `chat` (name, kind, status, nearest such ancestor, every attribute but `otel_ai.*`)
must agree.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.util.genai.handler import TelemetryHandler

from tests.langchain.test_langchain import _ToolCallingFake, get_weather
from tests.work.test_util_genai_parity import util_run


def _langchain_run() -> None:
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import RunnableLambda

    call = {"name": "get_weather", "args": {"location": "Oslo"}, "id": "call_1", "type": "tool_call"}
    model = _ToolCallingFake(messages=iter([AIMessage(content="", tool_calls=[call]), AIMessage(content="sunny")]))
    agent = create_agent(model, [get_weather], name="planner")
    trip = RunnableLambda(lambda question: agent.invoke({"messages": [("user", question)]}), name="trip")
    trip.invoke("weather?", {"configurable": {"thread_id": "c-1"}})


def _util_run(handler: TelemetryHandler) -> None:
    with (
        handler.workflow("trip", conversation_id="c-1"),
        handler.invoke_local_agent(agent_name="planner", conversation_id="c-1") as agent,
        handler.tool("get_weather", tool_type="function", agent_name="planner", tool_call_id="call_1",
                     tool_description="The weather at a place."),
    ):
        # The one difference: otel-ai names the agent's provider (required by the conventions on
        # invoke_agent) from its first model call, here the fake chat model's; util-genai leaves it to its caller.
        agent.attributes["gen_ai.provider.name"] = "_toolcallingfake"


def _described(spans: list[ReadableSpan]) -> dict[str, dict[str, Any]]:
    kept = {s.context.span_id: s for s in spans if s.context is not None
            and (s.attributes or {}).get("gen_ai.operation.name") not in (None, "chat")}
    every = {s.context.span_id: s for s in spans if s.context is not None}
    out: dict[str, dict[str, Any]] = {}
    for span in kept.values():
        parent = span.parent.span_id if span.parent else None
        while parent is not None and parent not in kept:
            above = every.get(parent)
            parent = above.parent.span_id if above is not None and above.parent else None
        out[span.name] = {
            "kind": span.kind, "status": span.status.status_code,
            "parent": kept[parent].name if parent is not None else None,
            "attributes": {k: v for k, v in dict(span.attributes or {}).items() if not k.startswith("otel_ai.")},
        }
    return out


def test_langchain_units_match_util_genai(lc: Any) -> None:
    _langchain_run()
    their_spans, _ = util_run(_util_run)
    mine, expected = _described(lc.spans()), _described(their_spans)
    assert sorted(mine) == sorted(expected) == ["execute_tool get_weather", "invoke_agent planner",
                                                "invoke_workflow trip"]
    for name in expected:
        for key in ("kind", "status", "parent"):
            assert mine[name][key] == expected[name][key], (name, key)
        for key in sorted(set(mine[name]["attributes"]) | set(expected[name]["attributes"])):
            assert mine[name]["attributes"].get(key) == expected[name]["attributes"].get(key), (name, key)
