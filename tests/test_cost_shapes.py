"""`OTEL_AI_COST_ATTRIBUTES`: the cost under other backends' names, through the real openai client.

Each choice is read the way the agent reads it (the environment, at instrumentation), a real chat or
embeddings call goes to the simulator over HTTP, and the span must carry exactly the chosen shapes,
each equal to our own `otel_ai.cost.*` (docs/backends.md). Phoenix reading them back: test_phoenix.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otel_ai.genai import cost_shapes
from otel_ai.runtime.settings import Settings
from tests.conftest import Telemetry

MESSAGES = [{"role": "user", "content": "Say hello to the test suite please"}]
BIN = Path(sys.executable).parent
GEN_AI = {"gen_ai.usage.cost.amount", "gen_ai.usage.cost.currency", "gen_ai.usage.cost.source"}
OPENLIT = {"gen_ai.usage.cost"}
OPENINFERENCE = {"openinference.span.kind", "llm.model_name", "llm.provider", "llm.system", "llm.cost.total",
                 "llm.cost.prompt", "llm.cost.completion", "llm.token_count.prompt", "llm.token_count.completion",
                 "llm.token_count.total"}
FOREIGN = GEN_AI | OPENLIT | OPENINFERENCE


def _call(telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, sim: Any, value: str | None,
          model: str = "gpt-4o-mini") -> tuple[dict[str, Any], Any]:
    import openai

    if value is not None:
        monkeypatch.setenv("OTEL_AI_COST_ATTRIBUTES", value)
    telemetry.reinstrument()
    with openai.OpenAI(base_url=sim.base_url, api_key="sk-test-cost-shapes", max_retries=0) as client:
        completion = client.chat.completions.create(model=model, messages=MESSAGES)
    return dict(telemetry.one_genai_span().attributes or {}), completion


def _foreign(attributes: dict[str, Any]) -> set[str]:
    return {name for name in attributes if name in FOREIGN or name.startswith(("llm.", "openinference."))}


def test_the_default_adds_the_genai_proposal_and_nothing_else(telemetry, monkeypatch, sim):
    attributes, _ = _call(telemetry, monkeypatch, sim, None)
    assert attributes["otel_ai.cost.usd"] > 0
    assert attributes["gen_ai.usage.cost.amount"] == attributes["otel_ai.cost.usd"]
    assert isinstance(attributes["gen_ai.usage.cost.amount"], float)
    assert attributes["gen_ai.usage.cost.currency"] == "USD"
    assert attributes["gen_ai.usage.cost.source"] == "local"  # we priced it; the provider sent no amount
    assert _foreign(attributes) == GEN_AI


@pytest.mark.parametrize("value", ["otel_ai", "none", " NONE ", "otel_ai,none"])
def test_ours_only(telemetry, monkeypatch, sim, value):
    attributes, _ = _call(telemetry, monkeypatch, sim, value)
    assert attributes["otel_ai.cost.usd"] > 0
    assert {"otel_ai.cost.input_usd", "otel_ai.cost.output_usd", "otel_ai.pricing.source"} <= set(attributes)
    assert _foreign(attributes) == set()


def test_openlit_is_one_double_equal_to_ours(telemetry, monkeypatch, sim):
    attributes, _ = _call(telemetry, monkeypatch, sim, "openlit")
    assert attributes["gen_ai.usage.cost"] == attributes["otel_ai.cost.usd"] > 0
    assert isinstance(attributes["gen_ai.usage.cost"], float)
    assert _foreign(attributes) == OPENLIT


def test_openinference_names_what_phoenix_reads(telemetry, monkeypatch, sim):
    attributes, completion = _call(telemetry, monkeypatch, sim, "otel_ai, OpenInference")
    usage = completion.usage
    assert {name: attributes[name] for name in OPENINFERENCE} == {
        "openinference.span.kind": "LLM",
        "llm.model_name": completion.model,
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.cost.total": attributes["otel_ai.cost.usd"],
        "llm.cost.prompt": attributes["otel_ai.cost.input_usd"],
        "llm.cost.completion": attributes["otel_ai.cost.output_usd"],
        "llm.token_count.prompt": usage.prompt_tokens,
        "llm.token_count.completion": usage.completion_tokens,
        "llm.token_count.total": usage.prompt_tokens + usage.completion_tokens,
    }
    assert attributes["llm.cost.total"] > 0
    assert attributes["llm.token_count.prompt"] == attributes["gen_ai.usage.input_tokens"]
    # the cached and reasoning parts follow gen_ai.usage.* where the provider reported them
    for ours, theirs in (("gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read"),
                         ("gen_ai.usage.reasoning.output_tokens", "llm.token_count.completion_details.reasoning")):
        assert attributes.get(theirs) == attributes.get(ours)
    assert _foreign(attributes) - {"llm.token_count.prompt_details.cache_read",
                                   "llm.token_count.completion_details.reasoning"} == OPENINFERENCE


def test_all_shapes_together(telemetry, monkeypatch, sim):
    attributes, _ = _call(telemetry, monkeypatch, sim, "gen_ai,openinference,openlit")
    total = attributes["otel_ai.cost.usd"]
    assert attributes["gen_ai.usage.cost.amount"] == attributes["gen_ai.usage.cost"] == attributes["llm.cost.total"] \
        == total > 0
    assert _foreign(attributes) >= FOREIGN


def test_an_unpriced_model_carries_no_amount_but_is_still_an_llm_span(telemetry, monkeypatch, sim):
    attributes, completion = _call(telemetry, monkeypatch, sim, "gen_ai,openinference,openlit",
                                   model="my-own-finetune-7b")
    assert attributes["otel_ai.pricing.source"] == "unknown"
    assert "otel_ai.cost.usd" not in attributes
    assert _foreign(attributes) & (GEN_AI | OPENLIT | {"llm.cost.total", "llm.cost.prompt", "llm.cost.completion"}) \
        == set()
    assert attributes["openinference.span.kind"] == "LLM"
    assert attributes["llm.model_name"] == completion.model
    assert attributes["llm.token_count.total"] == completion.usage.total_tokens


def test_embeddings_are_embedding_spans(telemetry, monkeypatch, sim):
    import openai

    monkeypatch.setenv("OTEL_AI_COST_ATTRIBUTES", "openinference")
    telemetry.reinstrument()
    with openai.OpenAI(base_url=sim.base_url, api_key="sk-test-cost-shapes", max_retries=0) as client:
        client.embeddings.create(model="text-embedding-3-small", input="hello")
    attributes = dict(telemetry.one_genai_span().attributes or {})
    assert attributes["openinference.span.kind"] == "EMBEDDING"
    assert attributes["llm.cost.total"] == attributes["otel_ai.cost.usd"] > 0
    assert attributes["llm.token_count.prompt"] == attributes["gen_ai.usage.input_tokens"]


def test_provider_names_map_to_openinference_members():
    from otel_ai.genai.model import GenAIRequest

    shapes = cost_shapes.CostShapes(gen_ai=False, openinference=True)
    seen = {}
    for provider in ("openai", "azure.ai.openai", "anthropic", "aws.bedrock", "gcp.gemini", "mistral_ai", "x_ai",
                     "ollama"):
        attrs: dict[str, Any] = {}
        shapes.write(attrs, None, GenAIRequest(operation="chat", provider=provider, model="m"), None, None)
        seen[provider] = (attrs["llm.provider"], attrs["llm.system"])
    assert seen == {
        "openai": ("openai", "openai"), "azure.ai.openai": ("azure", "openai"),
        "anthropic": ("anthropic", "anthropic"), "aws.bedrock": ("aws", "amazon"),
        "gcp.gemini": ("google", "vertexai"), "mistral_ai": ("mistralai", "mistralai"),
        "x_ai": ("xai", "xai"), "ollama": ("ollama", "ollama"),  # no OpenInference member: our name
    }


@pytest.mark.parametrize(("value", "fragment"), [
    ("phoenix", "unknown entry 'phoenix'"),
    ("gen_ai,openinferense", "unknown entry 'openinferense'"),
    ("none,openlit", "lists none with other shapes"),
    (",", "names no shape"),
])
def test_a_bad_value_is_one_line_and_the_default(value, fragment):
    settings = Settings.from_env({"OTEL_AI_COST_ATTRIBUTES": value})
    assert settings.cost_shapes == cost_shapes.CostShapes()
    [problem] = settings.problems
    assert problem.startswith(f"OTEL_AI_COST_ATTRIBUTES={value!r} ")
    assert fragment in problem
    assert problem.endswith("; using otel_ai,gen_ai")


def test_good_values_parse():
    parse = cost_shapes.parse_cost_attributes
    problems: list[str] = []
    assert parse({}, problems) == cost_shapes.CostShapes(gen_ai=True)
    assert parse({"OTEL_AI_COST_ATTRIBUTES": "  "}, problems) == cost_shapes.CostShapes(gen_ai=True)
    assert parse({"OTEL_AI_COST_ATTRIBUTES": "openinference,"}, problems) == cost_shapes.CostShapes(
        gen_ai=False, openinference=True)
    assert parse({"OTEL_AI_COST_ATTRIBUTES": "OTEL_AI,GEN_AI,OPENLIT"}, problems).names == "otel_ai,gen_ai,openlit"
    assert problems == []


def test_otel_ai_check_exits_2_on_a_bad_value():
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([str(BIN / "otel-ai"), "check", "--no-probe"], capture_output=True, text=True,
                            timeout=60, env={**env, "OTEL_AI_COST_ATTRIBUTES": "langfuse"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "OTEL_AI_COST_ATTRIBUTES='langfuse' has an unknown entry 'langfuse'" in result.stderr + result.stdout
    assert "cost attributes      otel_ai,gen_ai (docs/backends.md)" in result.stdout  # the fallback in effect
    chosen = subprocess.run([str(BIN / "otel-ai"), "check", "--no-probe"], capture_output=True, text=True,
                            timeout=60, env={**env, "OTEL_AI_COST_ATTRIBUTES": "openlit,OpenInference"})
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert "cost attributes      otel_ai,openinference,openlit (docs/backends.md)" in chosen.stdout
