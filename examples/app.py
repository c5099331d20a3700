"""Example AI app: a FastAPI service that calls an OpenAI-compatible API and ElevenLabs text to speech.
It has no telemetry code, except the units of work of /digest (`otel_ai.workflow`, `otel_ai.task`,
`otel_ai.map_batches`), which name the work so its calls' cost rolls up to it (docs/work.md), and in
/agent (a LangGraph agent with one tool, docs/langchain.md) the conversation its turns belong to
(`otel_ai.conversation`, docs/conversations.md) and one evaluation of its answer (`otel_ai.evaluate`,
docs/evaluations.md).

Run it instrumented:      opentelemetry-instrument python examples/app.py
or with console output:   otel-ai run --console -- python examples/app.py

Offline by default: without OPENAI_API_KEY it starts the local OpenAI-compatible simulator
(otel_ai/testing/simulator.py) and points the client at it. With OPENAI_API_KEY (and optionally
OPENAI_BASE_URL, e.g. https://api.deepseek.com/v1 with a DeepSeek key) it calls the real API.
Speech likewise: without ELEVENLABS_API_KEY it starts the local ElevenLabs simulator
(otel_ai/testing/elevenlabs_simulator.py); with it (and optionally ELEVENLABS_BASE_URL) it calls
ElevenLabs.

Local models likewise: without OLLAMA_HOST it starts the local Ollama simulator
(otel_ai/testing/ollama_simulator.py); with it, it calls that Ollama server.

By default it serves a few requests to itself and exits (`--units` adds /digest to them, `--providers`
/ask/<provider> for each provider in ASKERS, `--agent` two turns of one conversation with /agent);
`--serve` keeps it running (compose stack).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import ollama
import openai
import uvicorn
from elevenlabs import ElevenLabs
from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse, StreamingResponse

import otel_ai
from otel_ai.testing.elevenlabs_simulator import ElevenLabsSimulator
from otel_ai.testing.ollama_simulator import OllamaSimulator
from otel_ai.testing.simulator import OpenAISimulator

logger = logging.getLogger("example")
MODEL = os.environ.get("EXAMPLE_MODEL", "gpt-4o-mini")
EMBEDDING_MODEL = os.environ.get("EXAMPLE_EMBEDDING_MODEL", "text-embedding-3-small")
SPEECH_MODEL = os.environ.get("EXAMPLE_SPEECH_MODEL", "eleven_multilingual_v2")
VOICE_ID = os.environ.get("EXAMPLE_VOICE_ID", "JBFqnCBsd6RMkjVDRZzb")  # "George", a premade voice
SPEECH_FORMAT = "mp3_44100_128"
LOCAL_MODEL = os.environ.get("EXAMPLE_OLLAMA_MODEL", "llama3.2")


def make_client() -> tuple[openai.OpenAI, OpenAISimulator | None]:
    if os.environ.get("OPENAI_API_KEY"):
        return openai.OpenAI(base_url=os.environ.get("OPENAI_BASE_URL") or None), None
    simulator = OpenAISimulator(port=int(os.environ.get("EXAMPLE_SIMULATOR_PORT", "0"))).start()
    api_key = os.environ.get("EXAMPLE_SIMULATOR_API_KEY", "sk-simulated-local-key-0000000000000000")
    return openai.OpenAI(base_url=simulator.base_url, api_key=api_key, max_retries=2), simulator


def make_speech_client() -> tuple[ElevenLabs, ElevenLabsSimulator | None]:
    if os.environ.get("ELEVENLABS_API_KEY"):
        return ElevenLabs(base_url=os.environ.get("ELEVENLABS_BASE_URL") or None), None
    simulator = ElevenLabsSimulator(port=int(os.environ.get("EXAMPLE_ELEVENLABS_SIMULATOR_PORT", "0"))).start()
    api_key = os.environ.get("EXAMPLE_ELEVENLABS_SIMULATOR_API_KEY", "sk_simulated_local_key_" + "0" * 25)
    return ElevenLabs(api_key=api_key, **simulator.client_options()), simulator


def make_local_client() -> tuple[ollama.Client, OllamaSimulator | None]:
    if os.environ.get("OLLAMA_HOST"):
        return ollama.Client(), None
    simulator = OllamaSimulator(port=int(os.environ.get("EXAMPLE_OLLAMA_SIMULATOR_PORT", "0"))).start()
    return ollama.Client(host=simulator.base_url), simulator


client, simulator = make_client()
speech_client, speech_simulator = make_speech_client()
local_client, local_simulator = make_local_client()
app = FastAPI(title="otel-ai example")
if os.environ.get("OTEL_METRICS_EXPORTER", "") in ("prometheus", "otel_ai_prometheus"):
    app.mount("/metrics", otel_ai.metrics_app())  # for teams scraping the app without a collector


@app.get("/ask", response_class=PlainTextResponse)
def ask(q: str = "What is OpenTelemetry?") -> str:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": q}],
    )
    logger.info("answered a question with %s", completion.model)
    return completion.choices[0].message.content or ""


@app.get("/stream", response_class=PlainTextResponse)
def stream(q: str = "Tell me about tracing") -> str:
    parts = []
    with client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": q}], stream=True, stream_options={"include_usage": True}
    ) as chunks:
        for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


@app.get("/embed")
def embed(text: str = "observability for LLM apps") -> dict[str, Any]:
    result = client.embeddings.create(model=EMBEDDING_MODEL, input=text)
    return {"dimensions": len(result.data[0].embedding)}


@app.get("/speak")
def speak(text: str = "Every call to the model is a span.") -> StreamingResponse:
    # The audio streams through to the caller as it arrives; the speech span ends when it has all been delivered.
    audio = speech_client.text_to_speech.stream(
        VOICE_ID, text=text, model_id=SPEECH_MODEL, output_format=SPEECH_FORMAT
    )
    return StreamingResponse(audio, media_type="audio/mpeg")


def ask_ollama(q: str) -> str:
    answer = local_client.chat(
        model=LOCAL_MODEL,
        messages=[{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": q}],
    )
    return answer.message.content or ""


# Clients (and their simulators) of the providers only /ask/<provider> calls, made on first use.
_lazy: dict[str, Any] = {}
_lazy_simulators: list[Any] = []
_lazy_lock = threading.Lock()


def _lazy_client(name: str, make: Callable[[], Any]) -> Any:
    with _lazy_lock:
        if name not in _lazy:
            _lazy[name] = make()
        return _lazy[name]


def _anthropic_client() -> Any:
    import anthropic

    if os.environ.get("ANTHROPIC_API_KEY"):
        return anthropic.Anthropic()
    from otel_ai.testing.anthropic_simulator import AnthropicSimulator

    sim = AnthropicSimulator().start()
    _lazy_simulators.append(sim)
    return anthropic.Anthropic(base_url=sim.base_url, api_key="sk-ant-api03-simulated-" + "0" * 80, max_retries=0)


def _mistral_client() -> Any:
    from mistralai.client import Mistral

    if os.environ.get("MISTRAL_API_KEY"):
        return Mistral(api_key=os.environ["MISTRAL_API_KEY"])
    from otel_ai.testing.mistral_simulator import MistralSimulator

    sim = MistralSimulator().start()
    _lazy_simulators.append(sim)
    return Mistral(api_key="simulated0mistral0key000000000000", **sim.client_options())


def ask_anthropic(q: str) -> str:
    message = _lazy_client("anthropic", _anthropic_client).messages.create(
        model=os.environ.get("EXAMPLE_ANTHROPIC_MODEL", "claude-haiku-4-5"), max_tokens=200,
        system="Answer in one sentence.", messages=[{"role": "user", "content": q}],
    )
    return "".join(block.text for block in message.content if block.type == "text")


def ask_mistral(q: str) -> str:
    answer = _lazy_client("mistral", _mistral_client).chat.complete(
        model=os.environ.get("EXAMPLE_MISTRAL_MODEL", "mistral-small-latest"),
        messages=[{"role": "system", "content": "Answer in one sentence."}, {"role": "user", "content": q}],
    )
    content = answer.choices[0].message.content if answer.choices else ""
    return content if isinstance(content, str) else ""


# The providers /ask/<provider> calls: one function per provider (question in, answer text out), each
# with its own client (its simulator unless the provider's own variables point at the real service).
ASKERS: dict[str, Callable[[str], str]] = {"ollama": ask_ollama, "anthropic": ask_anthropic, "mistral": ask_mistral}


@app.get("/ask/{provider}", response_class=PlainTextResponse)
def ask_provider(provider: str, q: str = "What is OpenTelemetry?") -> str:
    asker = ASKERS.get(provider)
    if asker is None:
        raise HTTPException(404, f"unknown provider {provider!r}; known: {', '.join(ASKERS)}")
    return asker(q)


@otel_ai.task("research")
def research(topic: str) -> list[str]:
    """One call for headlines; every call in here carries otel_ai.task.type=research."""
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "List three headlines."}, {"role": "user", "content": topic}],
    )
    lines = [part.strip() for part in (completion.choices[0].message.content or "").split(".") if part.strip()]
    return (lines + [f"{topic}, part {i}" for i in range(1, 4)])[:3]


def summarize(headline: str) -> str:
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": f"Summarize in five words: {headline}"}]
    )
    return completion.choices[0].message.content or ""


@app.get("/digest")
@otel_ai.workflow("digest")
def digest(topic: str = "observability") -> dict[str, Any]:
    """A workflow: a research task, then the headlines summarized two per batch (one task span each).

    The workflow span carries the cost and tokens of all four calls (otel_ai.task.cost.usd, ...).
    """
    headlines = research(topic)
    summaries = otel_ai.map_batches(summarize, headlines, batch_size=2, name="summarize")
    unit = otel_ai.current_unit()
    totals = unit.totals if unit is not None else None
    return {
        "topic": topic,
        "summaries": summaries.results,
        "failed": summaries.failed,
        "calls": totals.calls if totals else 0,
        "cost_usd": totals.cost_usd if totals else 0.0,
    }


# /agent: a LangGraph agent (LangChain's `create_agent`) with one tool, driving the same OpenAI-compatible
# endpoint through langchain-openai. The LangChain integration turns its runs into units of work (invoke_agent,
# task per graph node, execute_tool) under the route's workflow, with the provider's chat spans inside.
WEATHER = {"paris": ("18 degrees", "sunny"), "oslo": ("4 degrees", "rain"), "lima": ("22 degrees", "cloudy")}

# Offline, the simulator plays the model: the tool plan makes it ask for get_weather first, then answer
# (a turn whose history already holds that call is answered at once); the reply of each question is scripted
# here, so the evaluation below has a real answer to check.
AGENT_TOOL_PLAN = json.dumps([[{"name": "get_weather", "arguments": {"city": "Paris"}}]])
AGENT_REPLIES = {
    "What is the weather in Paris today?": "It is 18 degrees and sunny in Paris today.",
    "Do I need an umbrella?": "No umbrella needed: it stays sunny in Paris.",
}


def get_weather(city: str) -> str:
    """Today's weather in a city: its temperature and sky."""
    temperature, sky = WEATHER.get(city.strip().lower(), ("15 degrees", "cloudy"))
    return f"{city}: {temperature}, {sky}"


def _scripted_reply(request: Any) -> None:
    """httpx request hook (offline only): the simulator answers the latest question with its scripted reply."""
    from otel_ai.testing.simulator import REPLY_HEADER

    messages = json.loads(request.content or b"{}").get("messages") or []
    questions = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    reply = AGENT_REPLIES.get(questions[-1]) if questions and isinstance(questions[-1], str) else None
    if reply:
        request.headers[REPLY_HEADER] = reply


def _make_agent() -> Any:
    import httpx
    from langchain.agents import create_agent
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.checkpoint.memory import InMemorySaver

    if simulator is None:
        model = ChatOpenAI(model=MODEL, base_url=os.environ.get("OPENAI_BASE_URL") or None)
    else:
        from otel_ai.testing.simulator import TOOL_PLAN_HEADER

        model = ChatOpenAI(
            model=MODEL, base_url=simulator.base_url, api_key=client.api_key,  # type: ignore[arg-type]
            default_headers={TOOL_PLAN_HEADER: AGENT_TOOL_PLAN},
            http_client=httpx.Client(event_hooks={"request": [_scripted_reply]}),
        )
    # The checkpointer keeps each conversation's messages (its thread id), so a second turn sees the first.
    return create_agent(model, [tool(get_weather)], name="weather_agent", checkpointer=InMemorySaver(),
                        system_prompt="Answer weather questions in one sentence; look the weather up with get_weather.")


def grounded(answer: str, tool_results: list[str]) -> tuple[float, str, str]:
    """A deterministic check (score, label, explanation): does the answer state what the tool reported?"""
    facts = [fact for result in tool_results for fact in result.split(": ", 1)[-1].split(", ") if fact]
    if not facts:
        return 0.0, "ungrounded", "no tool result to check the answer against"
    found = [fact for fact in facts if fact.lower() in answer.lower()]
    score = len(found) / len(facts)
    label = "pass" if score == 1.0 else "partial" if found else "fail"
    return score, label, f"states {len(found)} of the {len(facts)} facts get_weather reported"


@otel_ai.workflow("weather_chat")
def _agent_turn(q: str, conversation: str) -> dict[str, Any]:
    from langchain_core.messages import AIMessage, ToolMessage

    agent = _lazy_client("agent", _make_agent)
    before = len(agent.get_state({"configurable": {"thread_id": conversation}}).values.get("messages", []))
    # LangGraph's thread id is the conversation: its checkpoint holds the earlier turns.
    result = agent.invoke({"messages": [("user", q)]}, {"configurable": {"thread_id": conversation}})
    turn = result["messages"][before:]
    final = turn[-1]
    answer = final.content if isinstance(final, AIMessage) and isinstance(final.content, str) else ""
    tool_results = [str(m.content) for m in turn if isinstance(m, ToolMessage)]
    evaluation = None
    if tool_results:  # a turn that looked something up: its final answer is checked against what it found
        score, label, explanation = grounded(answer, tool_results)
        otel_ai.evaluate("grounded", score, label, explanation, response_id=final.response_metadata.get("id"))
        evaluation = {"name": "grounded", "score": score, "label": label}
    unit = otel_ai.current_unit()
    totals = unit.totals if unit is not None else None
    return {
        "conversation": conversation,
        "answer": answer,
        "tools": [m.name for m in turn if isinstance(m, ToolMessage)],
        "evaluation": evaluation,
        "calls": totals.calls if totals else 0,
        "cost_usd": totals.cost_usd if totals else 0.0,
    }


@app.get("/agent")
def agent_turn(q: str = "What is the weather in Paris today?", conversation: str = "weather-demo",
               user: str = "demo-user") -> dict[str, Any]:
    """One turn of a conversation with the weather agent; every span inside carries its id and user."""
    with otel_ai.conversation(id=conversation, user=user):
        return _agent_turn(q, conversation)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drive(port: int, units: bool = False, providers: bool = False, agent: bool = False) -> None:
    """The demo workload: the app's own endpoints, the way a user's traffic would hit them."""
    base = f"http://127.0.0.1:{port}"
    questions = [
        "/ask?q=What+is+a+span",
        "/ask?q=Contact+me+at+jane.doe%40example.com+about+metrics",
        "/stream?q=Explain+time+to+first+token",
        "/embed?text=vector+search",
        "/speak?text=Traces+show+where+the+time+goes",
    ]
    if providers:
        questions.extend(f"/ask/{name}?q=What+does+this+call+cost" for name in ASKERS)
    if units:
        questions.append("/digest?topic=tracing")
    if agent:  # two turns of one conversation: the first looks the weather up, the second answers from it
        questions.extend(f"/agent?q={urllib.parse.quote_plus(q)}&conversation=weather-demo-1&user=alice"
                         for q in AGENT_REPLIES)
    for path in questions:
        with urllib.request.urlopen(base + path, timeout=30) as response:
            content_type = response.headers.get_content_type()
            body = response.read()
        if content_type.startswith("audio/"):
            shown = f"{len(body)} bytes of {content_type}"
        elif content_type == "application/json":
            shown = json.dumps(_shortened(json.loads(body)), ensure_ascii=False)
        else:
            shown = json.dumps(_shortened(body.decode(), limit=72), ensure_ascii=False)
        print(f"GET {path.split('?')[0]:<8} -> {shown}", flush=True)


def _shortened(value: Any, limit: int = 48) -> Any:
    """`value` with every long string cut at a word (marked with …), so a printed answer stays one
    whole, readable line (a real model's answer is long; a cut JSON text would be cut mid-string).
    Floats keep 6 significant digits (a summed cost is 1.3060000000000002e-05 otherwise)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, str) and len(value) > limit:
        cut = value[:limit].rsplit(" ", 1)[0] or value[:limit]
        return cut.rstrip(" ,.;:") + "…"
    if isinstance(value, list):
        return [_shortened(item, limit) for item in value]
    if isinstance(value, dict):
        return {key: _shortened(item, limit) for key, item in value.items()}
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", help="keep serving instead of exiting after the demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--units", action="store_true", help="also call /digest (a workflow with tasks) in the demo")
    parser.add_argument("--providers", action="store_true", help="also call /ask/<provider> for each of ASKERS")
    parser.add_argument("--agent", action="store_true",
                        help="also talk to /agent (a LangGraph agent with a tool): two turns of one conversation")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)

    port = args.port or _free_port()
    config = uvicorn.Config(app, host=args.host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    if args.serve:
        server.run()
        return 0
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    target = "the local simulator" if simulator is not None else "the real API"
    speech_target = "the local ElevenLabs simulator" if speech_simulator is not None else "ElevenLabs"
    print(f"example app on http://127.0.0.1:{port}, calling {target} and {speech_target}", flush=True)
    try:
        _drive(port, units=args.units, providers=args.providers, agent=args.agent)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for sim in (simulator, speech_simulator, local_simulator, *_lazy_simulators):
            if sim is not None:
                sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
