"""The names of otel_ai/genai/semconv.py: the conventions' from their package, ours only where it has none.

Two directions. The names imported from `opentelemetry-semantic-conventions` must still be the strings the
contract (README.md, "Telemetry", and the design's "Names") promises: a renamed or re-valued constant in a
later package would otherwise change what dashboards and alert rules see. And every name spelled out by hand
must be absent from the package: when an upgrade brings one in, this test says to import it instead.
"""

from __future__ import annotations

import ast
import enum
import importlib
from pathlib import Path

import opentelemetry.semconv

from otel_ai.genai import semconv as sc

SOURCE = Path(sc.__file__).read_text(encoding="utf-8")

# Every name semconv.py takes from the conventions package, with the string the contract gives it.
CONTRACT = {
    "OPERATION": "gen_ai.operation.name",
    "CONVERSATION_ID": "gen_ai.conversation.id",
    "USER_ID": "user.id",
    "USER_HASH": "user.hash",
    "PROVIDER": "gen_ai.provider.name",
    "REQUEST_MODEL": "gen_ai.request.model",
    "REQUEST_TEMPERATURE": "gen_ai.request.temperature",
    "REQUEST_TOP_P": "gen_ai.request.top_p",
    "REQUEST_MAX_TOKENS": "gen_ai.request.max_tokens",
    "REQUEST_FREQUENCY_PENALTY": "gen_ai.request.frequency_penalty",
    "REQUEST_PRESENCE_PENALTY": "gen_ai.request.presence_penalty",
    "REQUEST_STOP_SEQUENCES": "gen_ai.request.stop_sequences",
    "REQUEST_SEED": "gen_ai.request.seed",
    "REQUEST_CHOICE_COUNT": "gen_ai.request.choice.count",
    "REQUEST_ENCODING_FORMATS": "gen_ai.request.encoding_formats",
    "REQUEST_STREAM": "gen_ai.request.stream",
    "OUTPUT_TYPE": "gen_ai.output.type",
    "RESPONSE_ID": "gen_ai.response.id",
    "RESPONSE_MODEL": "gen_ai.response.model",
    "RESPONSE_FINISH_REASONS": "gen_ai.response.finish_reasons",
    "RESPONSE_TIME_TO_FIRST_CHUNK": "gen_ai.response.time_to_first_chunk",
    "USAGE_INPUT_TOKENS": "gen_ai.usage.input_tokens",
    "USAGE_OUTPUT_TOKENS": "gen_ai.usage.output_tokens",
    "USAGE_CACHE_READ_INPUT_TOKENS": "gen_ai.usage.cache_read.input_tokens",
    "USAGE_REASONING_OUTPUT_TOKENS": "gen_ai.usage.reasoning.output_tokens",
    "USAGE_CACHE_CREATION_INPUT_TOKENS": "gen_ai.usage.cache_creation.input_tokens",
    "EMBEDDINGS_DIMENSION_COUNT": "gen_ai.embeddings.dimension.count",
    "TOKEN_TYPE": "gen_ai.token.type",
    "INPUT_MESSAGES": "gen_ai.input.messages",
    "OUTPUT_MESSAGES": "gen_ai.output.messages",
    "SYSTEM_INSTRUCTIONS": "gen_ai.system_instructions",
    "TOOL_DEFINITIONS": "gen_ai.tool.definitions",
    "SERVER_ADDRESS": "server.address",
    "SERVER_PORT": "server.port",
    "ERROR_TYPE": "error.type",
    "OPENAI_API_TYPE": "openai.api.type",
    "OPENAI_REQUEST_SERVICE_TIER": "openai.request.service_tier",
    "OPENAI_RESPONSE_SERVICE_TIER": "openai.response.service_tier",
    "OPENAI_RESPONSE_SYSTEM_FINGERPRINT": "openai.response.system_fingerprint",
    "AWS_BEDROCK_GUARDRAIL_ID": "aws.bedrock.guardrail.id",
    "OP_INVOKE_WORKFLOW": "invoke_workflow",
    "OP_INVOKE_AGENT": "invoke_agent",
    "OP_EXECUTE_TOOL": "execute_tool",
    "WORKFLOW_NAME": "gen_ai.workflow.name",
    "AGENT_NAME": "gen_ai.agent.name",
    "AGENT_DESCRIPTION": "gen_ai.agent.description",
    "TOOL_NAME": "gen_ai.tool.name",
    "TOOL_TYPE": "gen_ai.tool.type",
    "TOOL_DESCRIPTION": "gen_ai.tool.description",
    "REQUEST_TOP_K": "gen_ai.request.top_k",
    "METRIC_DURATION": "gen_ai.client.operation.duration",
    "METRIC_TOKEN_USAGE": "gen_ai.client.token.usage",
    "METRIC_TIME_TO_FIRST_CHUNK": "gen_ai.client.operation.time_to_first_chunk",
    "METRIC_TIME_PER_OUTPUT_CHUNK": "gen_ai.client.operation.time_per_output_chunk",
}


def _assignments() -> dict[str, ast.expr]:
    """semconv.py's module-level names and the expressions that give them their values."""
    found: dict[str, ast.expr] = {}
    for node in ast.parse(SOURCE).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _by_hand() -> dict[str, str]:
    """The names semconv.py spells out as string literals (its own, or newer than the package)."""
    return {name: value.value for name, value in _assignments().items()
            if isinstance(value, ast.Constant) and isinstance(value.value, str)}


def _package_strings() -> set[str]:
    """Every string constant and enum value that any module of opentelemetry-semantic-conventions exports."""
    strings: set[str] = set()
    # A file walk: `_incubating` is a namespace package, which pkgutil's walk does not enter.
    root = Path(next(iter(opentelemetry.semconv.__path__)))
    for path in sorted(root.rglob("*.py")):
        parts = [part for part in path.relative_to(root).with_suffix("").parts if part != "__init__"]
        module = importlib.import_module(".".join(["opentelemetry.semconv", *parts]))
        for name, value in vars(module).items():
            if name.startswith("__"):
                continue
            if isinstance(value, str):
                strings.add(value)
            elif isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == module.__name__:
                strings.update(member.value for member in value if isinstance(member.value, str))
    return strings


def test_every_name_is_either_imported_or_spelled_out() -> None:
    assignments = _assignments()
    imported = {name for name, value in assignments.items() if isinstance(value, ast.Attribute)}
    assert imported == set(CONTRACT), "a name semconv.py takes from the package is missing from CONTRACT"
    assert set(_by_hand()) | imported | {n for n in assignments if n.endswith("_BUCKETS")} == set(assignments)


def test_imported_names_are_the_contracts_strings() -> None:
    assert {name: getattr(sc, name) for name in CONTRACT} == CONTRACT
    assert all(type(getattr(sc, name)) is str for name in CONTRACT)  # not an enum member


def test_names_spelled_out_by_hand_are_not_in_the_conventions_package() -> None:
    package = _package_strings()
    assert "gen_ai.provider.name" in package  # the walk does find the package's names
    in_package = {name: value for name, value in _by_hand().items() if value in package}
    assert not in_package, f"now in opentelemetry-semantic-conventions, import them instead: {in_package}"


def test_own_names_live_under_otel_ai_or_a_provider_namespace() -> None:
    for name, value in _by_hand().items():
        assert value.startswith(("otel_ai.", "gen_ai.", "elevenlabs.", "anthropic.")), (name, value)
