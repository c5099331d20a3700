"""The cost in the shapes other backends read: `OTEL_AI_COST_ATTRIBUTES` = a comma list of shapes.

`otel_ai.cost.usd` (with `otel_ai.cost.input_usd` / `output_usd`) is always on the span; the setting
adds the same amounts under other names, so a backend that reads its own names shows our cost:

* `gen_ai` (default): the GenAI conventions' open cost proposal (semantic-conventions-genai PR #443):
  `gen_ai.usage.cost.amount`, `gen_ai.usage.cost.currency` ("USD") and `gen_ai.usage.cost.source`
  (`local`: the recorder computed the amount from its price table; `provider`: the response stated
  it, as OpenRouter's `usage.cost` and a LiteLLM proxy's `x-litellm-response-cost` do).
* `openinference`: OpenInference's names, which Arize Phoenix reads: `llm.cost.total` / `prompt` /
  `completion`, `llm.token_count.*`, `llm.model_name`, `llm.provider`, `llm.system` and
  `openinference.span.kind`, so the span is shown as an LLM (or EMBEDDING) span.
* `openlit`: `gen_ai.usage.cost`, the one double OpenLIT writes and Langfuse reads.
* `otel_ai` or `none`: ours only.

The list is parsed once (at start-up, with the other settings) into a `CostShapes`, whose `write`
the recorder calls once per finished call: the choices are plain booleans, so the default costs a
few dict stores per call. docs/backends.md says which backends were checked and how.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.util.types import AttributeValue

from otel_ai import variables
from otel_ai.genai.model import GenAIRequest, Usage
from otel_ai.pricing.cost import Cost

__all__ = ["DEFAULT", "SHAPES", "CostShapes", "parse_cost_attributes"]

Attributes = dict[str, AttributeValue]

SHAPES = ("otel_ai", "gen_ai", "openinference", "openlit", "none")
DEFAULT = "otel_ai,gen_ai"

# The GenAI conventions' cost proposal (semantic-conventions-genai PR #443, open).
GEN_AI_COST_AMOUNT = "gen_ai.usage.cost.amount"
GEN_AI_COST_CURRENCY = "gen_ai.usage.cost.currency"
GEN_AI_COST_SOURCE = "gen_ai.usage.cost.source"
# OpenLIT's single cost attribute, also read by Langfuse (a double, USD).
OPENLIT_COST = "gen_ai.usage.cost"
# OpenInference (Arize Phoenix, Arize AX).
OI_SPAN_KIND = "openinference.span.kind"
OI_MODEL_NAME = "llm.model_name"
OI_PROVIDER = "llm.provider"
OI_SYSTEM = "llm.system"
OI_COST_TOTAL = "llm.cost.total"
OI_COST_PROMPT = "llm.cost.prompt"
OI_COST_COMPLETION = "llm.cost.completion"
OI_TOKENS_PROMPT = "llm.token_count.prompt"
OI_TOKENS_COMPLETION = "llm.token_count.completion"
OI_TOKENS_TOTAL = "llm.token_count.total"
OI_TOKENS_CACHE_READ = "llm.token_count.prompt_details.cache_read"
OI_TOKENS_CACHE_WRITE = "llm.token_count.prompt_details.cache_write"
OI_TOKENS_REASONING = "llm.token_count.completion_details.reasoning"

# gen_ai.provider.name -> (llm.provider, llm.system): OpenInference's members where it has one (its
# provider is who hosts the model, its system the model family's API); otherwise our name for both.
_OI_PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("openai", "openai"),
    "azure.ai.openai": ("azure", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "aws.bedrock": ("aws", "amazon"),
    "gcp.gemini": ("google", "vertexai"),
    "gcp.vertex_ai": ("google", "vertexai"),
    "cohere": ("cohere", "cohere"),
    "mistral_ai": ("mistralai", "mistralai"),
    "x_ai": ("xai", "xai"),
    "deepseek": ("deepseek", "deepseek"),
}


@dataclass(frozen=True)
class CostShapes:
    """Which shapes the span carries besides ours; `write` adds them to a finished call's attributes."""

    gen_ai: bool = True
    openinference: bool = False
    openlit: bool = False

    @property
    def names(self) -> str:
        """The setting's value for these choices (`otel_ai,gen_ai` for the default)."""
        chosen = [name for name in ("gen_ai", "openinference", "openlit") if getattr(self, name)]
        return ",".join(["otel_ai", *chosen])

    @property
    def any(self) -> bool:
        return self.gen_ai or self.openinference or self.openlit

    def write(self, attrs: Attributes, cost: Cost | None, request: GenAIRequest, usage: Usage | None,
              response_model: str | None) -> None:
        """Add the chosen shapes for one call (`cost` None: not priced, so no amount is written)."""
        if cost is not None:
            if self.gen_ai:
                attrs[GEN_AI_COST_AMOUNT] = cost.total_usd
                attrs[GEN_AI_COST_CURRENCY] = "USD"
                # `provider`: the response stated the amount (OpenRouter, a LiteLLM proxy); else we computed it.
                attrs[GEN_AI_COST_SOURCE] = "provider" if cost.source == "provider" else "local"
            if self.openlit:
                attrs[OPENLIT_COST] = cost.total_usd
        if self.openinference:
            _openinference(attrs, cost, request, usage, response_model)


def _openinference(attrs: Attributes, cost: Cost | None, request: GenAIRequest, usage: Usage | None,
                   response_model: str | None) -> None:
    attrs[OI_SPAN_KIND] = "EMBEDDING" if request.operation == "embeddings" else "LLM"
    model = response_model or request.model
    if model:
        attrs[OI_MODEL_NAME] = model
    provider, system = _OI_PROVIDERS.get(request.provider) or (request.provider, request.provider)
    attrs[OI_PROVIDER] = provider
    attrs[OI_SYSTEM] = system
    if usage is not None:
        prompt, completion = usage.input_tokens, usage.output_tokens
        if prompt is not None:
            attrs[OI_TOKENS_PROMPT] = prompt
        if completion is not None:
            attrs[OI_TOKENS_COMPLETION] = completion
        if prompt is not None or completion is not None:
            attrs[OI_TOKENS_TOTAL] = (prompt or 0) + (completion or 0)
        if usage.cache_read_input_tokens is not None:
            attrs[OI_TOKENS_CACHE_READ] = usage.cache_read_input_tokens
        if usage.cache_creation_input_tokens is not None:
            attrs[OI_TOKENS_CACHE_WRITE] = usage.cache_creation_input_tokens
        if usage.reasoning_output_tokens is not None:
            attrs[OI_TOKENS_REASONING] = usage.reasoning_output_tokens
    if cost is not None:
        attrs[OI_COST_TOTAL] = cost.total_usd
        if cost.input_usd is not None and cost.output_usd is not None:  # a provider's total has no parts
            attrs[OI_COST_PROMPT] = cost.input_usd
            attrs[OI_COST_COMPLETION] = cost.output_usd


def parse_cost_attributes(env: Mapping[str, str], problems: list[str]) -> CostShapes:
    """`OTEL_AI_COST_ATTRIBUTES`: the shapes; a bad value is one problem line and the default."""
    name = variables.COST_ATTRIBUTES.name
    text = variables.raw(env, name)
    if text is None:
        return CostShapes()
    words = variables.words(text)
    unknown = [word for word in words if word not in SHAPES]
    if not words or unknown or ("none" in words and len(set(words) - {"otel_ai"}) > 1):
        what = (f"has an unknown entry {unknown[0]!r}" if unknown
                else "lists none with other shapes" if words else "names no shape")
        problems.append(f"{name}={text!r} {what} (a comma list of: {', '.join(SHAPES)}); using {DEFAULT}")
        return CostShapes()
    return CostShapes(gen_ai="gen_ai" in words, openinference="openinference" in words, openlit="openlit" in words)
