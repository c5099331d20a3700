"""Our registry (semconv/registry) and the code, kept in step: every otel_ai.* name either way.

Two ways a name is checked (docs/conventions.md, "Our registry and conformance"):
* emitted: the scenarios below run real clients against the simulators; every otel_ai.* attribute, event
  and metric they emit must be in the registry with the right type, enum values, unit and instrument;
* static: every `"otel_ai.…"` string constant in otel_ai/ is a registry name or listed in NOT_TELEMETRY
  (module, logger, scope and context-key names), and the registry has no name the code no longer spells.
A registry name the scenarios do not emit must be in STATIC_ONLY with the rare path that emits it.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.conformance.checks import REGISTRY, instrument_of, metrics_of
from tests.conformance.registry import ROOT, OurRegistry, load
from tests.conformance.scenarios import MESSAGES, SCENARIOS, Sims, _openai
from tests.conftest import Telemetry

OURS: OurRegistry = load(REGISTRY["attributes"])

# `otel_ai.*` strings in the code that are not telemetry names (modules are recognised on their own).
NOT_TELEMETRY = {
    "otel_ai.authenticated": "ASGI scope key of the local server (serve/guard.py)",
    "otel_ai.conversation": "context key of the current conversation (genai/conversation.py)",
    "otel_ai.unit": "context key of the current unit of work (work/context.py)",
    "otel_ai.system": "instrumentation scope name of the system metrics (system/instrumentor.py)",
    "otel_ai.budgets": "meter (scope) name of the budget gauges (budgets/gauges.py)",
    "otel_ai.serve": "logger name of the local server",
}

# Registry names the scenarios below do not emit, and the path that does (checked by the static scan only).
STATIC_ONLY = {
    "otel_ai.realtime.response.status": "OpenAI Realtime sessions (websocket; tests/test_openai_realtime.py)",
    "otel_ai.realtime.input_tokens": "OpenAI Realtime sessions",
    "otel_ai.realtime.output_tokens": "OpenAI Realtime sessions",
    "otel_ai.realtime.audio_input_tokens": "OpenAI Realtime sessions",
    "otel_ai.realtime.audio_output_tokens": "OpenAI Realtime sessions",
    "otel_ai.realtime.errors": "OpenAI Realtime sessions",
    "otel_ai.speech.dialogue": "ElevenLabs text-to-dialogue (tests/test_elevenlabs.py)",
    "otel_ai.agent.tools": "OpenAI Agents SDK agents (tests/work/test_openai_agents.py)",
    "otel_ai.agent.handoffs": "OpenAI Agents SDK agents",
    "otel_ai.handoff.from_agent": "OpenAI Agents SDK handoffs",
    "otel_ai.handoff.to_agent": "OpenAI Agents SDK handoffs",
    "otel_ai.agent.handoff": "OpenAI Agents SDK handoffs (event)",
    "otel_ai.retrieval.documents": "LangChain retrievers (tests/langchain)",
    "otel_ai.redacted.count": "added by the redacting exporters on export, not in the in-memory pipeline",
    "otel_ai.redacted.kinds": "added by the redacting exporters on export",
    "otel_ai.usage.estimated": "OTEL_AI_STREAM_USAGE=estimate streams (tests/test_openai_stream_estimate.py)",
}


# -- scenarios beyond the conformance ones: the rarer calls that carry our own names -----------------------


def units_batches_budgets_evaluations(telemetry: Telemetry, sims: Sims) -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.metrics import _internal as metrics_internal

    import otel_ai
    import otel_ai.budgets as budgets
    from otel_ai import agent_warnings
    from otel_ai.work import units

    with mock.patch.object(trace, "_TRACER_PROVIDER", telemetry.providers["tracer_provider"]), \
            mock.patch.object(metrics_internal, "_METER_PROVIDER", telemetry.providers["meter_provider"]):
        assert metrics.get_meter_provider() is telemetry.providers["meter_provider"]
        units._ensure_registered()
        budgets.install(budgets.BudgetConfig((budgets.Budget(name="daily", limit_usd=5.0),)),
                        meter_provider=telemetry.providers["meter_provider"])
        try:
            with _openai(sims) as client, otel_ai.task("summarize", name="summary", id="job-1"):
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                client.chat.completions.create(model="acme-unpriced-1", messages=MESSAGES)  # calls.unpriced
                client.chat.completions.create(model="acme/routed-1", messages=MESSAGES,  # pricing.source=provider
                                               extra_headers={"x-simulator-scenario": "openrouter"})
                otel_ai.evaluate("relevance", 0.8, "good")
            otel_ai.map_batches(lambda item: 1 / item, [1, 0, 2], batch_size=3, task_type="divide")
            agent_warnings.count("config.invalid")
            telemetry.metric_reader.get_metrics_data()  # the gauges observe while the budget is installed
            seen.extend(collect(telemetry))
        finally:
            budgets.uninstall()


EXTRA = {"units_batches_budgets_evaluations": units_batches_budgets_evaluations}
seen: list[tuple[str, str, Any]] = []  # filled by a scenario that must collect before it tears down


def _attribute_items(telemetry: Telemetry) -> Iterator[tuple[str, str, Any]]:
    for span in telemetry.spans():
        yield from (("attribute", k, v) for k, v in (span.attributes or {}).items())
        for event in span.events:
            yield ("event", event.name, None)
            yield from (("attribute", k, v) for k, v in (event.attributes or {}).items())
    for log in telemetry.logs():
        yield ("event", str(log.log_record.event_name), None)
        yield from (("attribute", k, v) for k, v in (log.log_record.attributes or {}).items())


def collect(telemetry: Telemetry) -> list[tuple[str, str, Any]]:
    """(kind, name, value or metric) of every otel_ai.* thing emitted: attributes, events, metrics."""
    found = [item for item in _attribute_items(telemetry) if item[1].startswith("otel_ai.")]
    for metric in metrics_of(telemetry.metric_reader):
        if metric.name.startswith("otel_ai."):
            found.append(("metric", metric.name, metric))
        for point in metric.data.data_points:
            found.extend(("attribute", k, v) for k, v in (point.attributes or {}).items() if k.startswith("otel_ai."))
    return found


def _fits(kind: str, value: Any) -> bool:
    if kind.endswith("[]"):
        return isinstance(value, (list, tuple)) and all(_fits(kind[:-2], v) for v in value)
    return {"string": isinstance(value, str), "boolean": isinstance(value, bool), "double": isinstance(value, float),
            "int": isinstance(value, int) and not isinstance(value, bool)}.get(kind, kind == "any")


def problems_with(found: list[tuple[str, str, Any]]) -> list[str]:
    problems = []
    for kind, name, value in found:
        if kind == "attribute":
            fact = OURS.attributes.get(name)
            if fact is None:
                problems.append(f"attribute {name} is not in the registry")
            elif not _fits(fact["type"], value):
                problems.append(f"attribute {name}={value!r} is not a {fact['type']}")
            elif fact["members"] is not None and value not in fact["members"]:
                problems.append(f"attribute {name}={value!r} is not one of {fact['members']}")
        elif kind == "event" and name.startswith("otel_ai.") and name not in OURS.events:
            problems.append(f"event {name} is not in the registry")
        elif kind == "metric":
            fact = OURS.metrics.get(name)
            if fact is None:
                problems.append(f"metric {name} is not in the registry")
                continue
            if value.unit != fact["unit"] or instrument_of(value.data) != fact["instrument"]:
                problems.append(f"metric {name}: {instrument_of(value.data)} in {value.unit!r}, registry says "
                                f"{fact['instrument']} in {fact['unit']!r}")
            for point in value.data.data_points:
                labels = set(point.attributes or {})
                undeclared = labels - set(fact["attributes"])
                missing = {a for a, level in fact["attributes"].items() if level == "required"} - labels
                if undeclared or missing:
                    problems.append(f"metric {name}: labels not declared {sorted(undeclared)}, "
                                    f"required missing {sorted(missing)}")
    return problems


@pytest.mark.parametrize("scenario", [*SCENARIOS, *EXTRA])
def test_what_the_scenarios_emit_is_in_the_registry(scenario: str, telemetry: Telemetry, sims: Sims) -> None:
    seen.clear()
    (SCENARIOS.get(scenario) or EXTRA[scenario])(telemetry, sims)
    found = seen[:] or collect(telemetry)
    assert found, "no otel_ai.* telemetry: the check would be vacuous"
    problems = problems_with(found)
    assert not problems, "\n".join(problems)


def test_every_registry_name_is_emitted_by_a_scenario_or_listed_as_static_only(
    telemetry: Telemetry, sims: Sims,
) -> None:
    """What the scenarios emit (all of them, into one pipeline), plus STATIC_ONLY, is the whole registry."""
    emitted: set[str] = set()
    for run in [*SCENARIOS.values(), *EXTRA.values()]:
        seen.clear()
        run(telemetry, sims)
        emitted.update(name for _, name, _ in seen)
    emitted.update(name for _, name, _ in collect(telemetry))
    assert set(STATIC_ONLY) <= OURS.names(), sorted(set(STATIC_ONLY) - OURS.names())
    unseen = sorted(OURS.names() - emitted - set(STATIC_ONLY))
    assert not unseen, f"emitted by no scenario (add one, or list it in STATIC_ONLY with its path): {unseen}"
    assert sorted(emitted & set(STATIC_ONLY)) == [], "emitted now: remove from STATIC_ONLY"


NAME = re.compile(r"otel_ai(\.[a-z0-9_]+)+")


def spelled_names() -> dict[str, str]:
    """Every string constant `otel_ai.<name>` in otel_ai/ (not testing/), with the file that spells it."""
    names = {}
    for path in sorted((ROOT / "otel_ai").rglob("*.py")):
        if "testing" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.fullmatch(node.value):
                names.setdefault(node.value, str(path.relative_to(ROOT)))
    return names


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_the_code_and_the_registry_spell_the_same_names() -> None:
    spelled = {n: p for n, p in spelled_names().items()
               if n not in NOT_TELEMETRY and not _is_module(n) and not n.startswith("otel_ai.serve.")}
    missing, stale = sorted(set(spelled) - OURS.names()), sorted(OURS.names() - set(spelled))
    assert not missing, f"spelled in the code, missing from semconv/registry: {[(n, spelled[n]) for n in missing]}"
    assert not stale, f"in semconv/registry, no longer spelled in the code: {stale}"
    assert set(NOT_TELEMETRY) <= set(spelled_names()), "NOT_TELEMETRY lists a name the code no longer spells"


def test_the_registry_is_well_formed() -> None:
    assert OURS.problems == []
    assert OURS.attributes and OURS.metrics and OURS.events


def test_enum_members_match_the_code() -> None:
    from otel_ai.genai.classify import CATEGORIES

    assert sorted(OURS.attributes["otel_ai.error.category"]["members"] or []) == sorted(CATEGORIES)


def test_a_broken_registry_is_caught(tmp_path: Path) -> None:
    """The structural checks find what they claim to: bad type, bad stability, an example of the wrong type."""
    from tests.conformance import registry as module

    (tmp_path / "otel_ai").mkdir()
    (tmp_path / "registry_manifest.yaml").write_text("name: x\n")
    (tmp_path / "otel_ai" / "r.yaml").write_text(
        "groups:\n  - id: g\n    type: attribute_group\n    brief: b\n    attributes:\n"
        "      - {id: otel_ai.x, type: float, stability: experimental, brief: b, examples: ['a']}\n"
        "  - id: m\n    type: metric\n    brief: b\n    metric_name: otel_ai.m\n    instrument: meter\n"
        "    unit: s\n    stability: development\n    attributes: [{ref: otel_ai.nope}]\n")
    with mock.patch.object(module, "REGISTRY_DIR", tmp_path):
        problems = load(REGISTRY["attributes"]).problems
    text = "\n".join(problems)
    for expected in ("type 'float'", "stability 'experimental'", "example 'a'", "metric_name/instrument",
                     "ref {'ref': 'otel_ai.nope'}", "manifest: no semconv_version"):
        assert expected in text, (expected, problems)
