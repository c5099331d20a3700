"""Every GenAI span, event and metric the scenarios emit, checked against the distilled GenAI registry.

The registry facts come from genai_registry.json (regenerate with distill_registry.py; the commit is in
its `source`). What does not conform today is listed by name in expected_nonconformance.yaml with a
reason: a scenario passes only when it finds exactly the listed problems, so a fix (the entry goes
stale) fails as loudly as a new problem does. docs/conventions.md, "Our registry and conformance".
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.checks import EXPECTED, INFERENCE, REGISTRY, check_event, check_metric, check_span, metrics_of
from tests.conformance.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
DETAILS_EVENT = "gen_ai.client.inference.operation.details"


def expected_for(scenario: str) -> set[str]:
    return {entry["id"] for entry in EXPECTED["nonconformance"]
            if entry["scenarios"] == "*" or scenario in entry["scenarios"]}


def chunk_problems(telemetry: Any, facts: dict[str, int] | None) -> set[str]:
    """time_per_output_chunk: one value per chunk after the first, and none for calls that do not stream."""
    name = "gen_ai.client.operation.time_per_output_chunk"
    recorded = sum(point.count for _, point in telemetry.points(name))
    chunks = (facts or {}).get("chunks")
    if chunks is None:
        return {f"metric-not-streaming:{name}"} if recorded else set()
    return set() if recorded == chunks - 1 else {f"metric-per-chunk:{name}"}


def history_problems(telemetry: Any, facts: dict[str, int] | None) -> set[str]:
    """A system message that is part of the chat history SHOULD stay in gen_ai.input.messages."""
    if not (facts or {}).get("system_in_history"):
        return set()
    spans = [s for s in telemetry.spans() if (s.attributes or {}).get("gen_ai.input.messages")]
    roles = {m.get("role") for s in spans for m in json.loads(str(s.attributes["gen_ai.input.messages"]))}
    return set() if "system" in roles else {"system-message-dropped:span[chat]:gen_ai.input.messages"}


def problems_of(telemetry: Any) -> set[str]:
    spans = [s for s in telemetry.spans() if (s.attributes or {}).get("gen_ai.operation.name")]
    assert spans, "the scenario emitted no GenAI span: the check would be vacuous"
    events = [log.log_record for log in telemetry.logs()]
    if {s.attributes["gen_ai.operation.name"] for s in spans} & INFERENCE:  # the event is of inference calls
        assert DETAILS_EVENT in {e.event_name for e in events}, "content capture is on: the details event must come"
    metrics = list(metrics_of(telemetry.metric_reader))
    assert "gen_ai.client.operation.duration" in {m.name for m in metrics}
    found: set[str] = set()
    for span in spans:
        found |= check_span(span)
    for event in events:
        found |= check_event(event)
    for metric in metrics:
        found |= check_metric(metric)
    return found


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario_conforms_but_for_the_listed_exceptions(scenario: str, telemetry: Any, sims: Any) -> None:
    facts = SCENARIOS[scenario](telemetry, sims)
    found = problems_of(telemetry) | chunk_problems(telemetry, facts) | history_problems(telemetry, facts)
    expected = expected_for(scenario)
    new, fixed = sorted(found - expected), sorted(expected - found)
    assert not new and not fixed, (
        f"{scenario}: new non-conformance (fix it, or list it with a reason): {new}; "
        f"listed but no longer found (remove the entry, or its scenario): {fixed}"
    )


def test_the_expectations_file_is_well_formed() -> None:
    """Each entry: a unique id, known scenarios, a one-line reason; extensions are names the code spells."""
    ids = [entry["id"] for entry in EXPECTED["nonconformance"]]
    assert len(ids) == len(set(ids))
    for entry in EXPECTED["nonconformance"]:
        assert set(entry) == {"id", "scenarios", "reason"}, entry
        assert entry["scenarios"] == "*" or set(entry["scenarios"]) <= set(SCENARIOS), entry
        assert entry["reason"].strip() and "\n" not in entry["reason"].strip(), entry
    source = "\n".join(p.read_text() for p in (ROOT / "otel_ai").rglob("*.py"))
    for name, reason in EXPECTED["extensions"].items():
        assert reason.strip() and f'"{name}"' in source, name  # still spelled by the code
        assert name not in REGISTRY["attributes"] and name not in REGISTRY["metrics"], f"{name} is in the registry now"
    for name, fact in EXPECTED["proposals"].items():
        assert set(fact) == {"proposal", "status", "unit", "instrument", "attributes"}, name
        assert fact["status"] == "provisional" and re.fullmatch(r"semantic-conventions-genai#\d+", fact["proposal"])
        assert f'"{name}"' in source and name not in REGISTRY["metrics"], name  # spelled, and not released yet
    for attribute, values in EXPECTED["custom_values"].items():
        for value, reason in values.items():
            assert reason.strip() and re.search(rf"[\"']{re.escape(value)}[\"']", source), (attribute, value)


def test_the_distilled_facts_name_their_commit() -> None:
    assert re.fullmatch(r"[0-9a-f]{40}", REGISTRY["source"]["commit"])
    assert REGISTRY["metrics"]["gen_ai.client.token.usage"]["unit"] == "{token}"
    assert REGISTRY["spans"]["span.gen_ai.inference.client"]["attributes"]["gen_ai.provider.name"] == "required"
