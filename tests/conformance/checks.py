"""Check emitted telemetry against the distilled GenAI registry facts (genai_registry.json).

Each problem is one stable string, `kind:where:name[=value]`, so a known non-conformance can be listed by
name in expected_nonconformance.yaml and the test can tell a fixed one from a new one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk.metrics.export import Gauge, Histogram, Sum
from opentelemetry.trace import SpanKind

HERE = Path(__file__).parent
REGISTRY: dict[str, Any] = json.loads((HERE / "genai_registry.json").read_text())
EXPECTED: dict[str, Any] = yaml.safe_load((HERE / "expected_nonconformance.yaml").read_text())
# The namespaces the GenAI registry owns, and those of the general attributes it refers to.
CHECKED = ("gen_ai.", "openai.", "server.", "error.")
INFERENCE = {"chat", "text_completion", "generate_content"}
# Enums whose registry members are only a fallback: `error.type`'s one member is `_OTHER`, and its note
# asks for the exception's canonical name (or the provider's code), so any string conforms.
OPEN_ENUMS = frozenset({"error.type"})


def span_group(operation: str, provider: str) -> str | None:
    """The registry's span definition for a call: provider-specific where the registry has one."""
    if operation in INFERENCE:
        return {"openai": "span.openai.inference.client", "anthropic": "span.anthropic.inference.client",
                "aws.bedrock": "span.aws.bedrock.client"}.get(provider, "span.gen_ai.inference.client")
    return {"embeddings": "span.gen_ai.embeddings.client", "invoke_workflow": "span.gen_ai.invoke_workflow.internal",
            "invoke_agent": "span.gen_ai.invoke_agent.internal", "execute_tool": "span.gen_ai.execute_tool.internal",
            }.get(operation)


def _matches(kind: str, value: Any, members: list[str] | None) -> bool:
    if kind in ("string", "enum") or kind.startswith("template[string]"):
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, float)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind.endswith("[]"):
        inner = kind[:-2]
        return isinstance(value, (list, tuple)) and all(_matches(inner, v, None) for v in value)
    return kind == "any"


def check_attributes(where: str, attributes: Mapping[str, Any], structured: bool = False) -> set[str]:
    """Known name, right type, enum member (custom values listed in the expectations file are allowed)."""
    problems: set[str] = set()
    custom = EXPECTED.get("custom_values", {})
    extensions = EXPECTED.get("extensions", {})
    for name, value in attributes.items():
        if not name.startswith(CHECKED):
            continue
        fact = REGISTRY["attributes"].get(name)
        if fact is None:
            if name not in extensions:
                problems.add(f"unknown-attribute:{where}:{name}")
            continue
        if fact["deprecated"]:
            problems.add(f"deprecated-attribute:{where}:{name}")
        if not _matches(fact["type"], value, fact["members"]):
            problems.add(f"type:{where}:{name}")
        if fact["type"] == "any" and structured and isinstance(value, str):
            problems.add(f"not-structured:{where}:{name}")
        if fact["members"] is not None and name not in OPEN_ENUMS and isinstance(value, str) \
                and value not in fact["members"] \
                and value not in custom.get(name, {}):
            problems.add(f"enum:{where}:{name}={value}")
        if name in MESSAGE_ATTRIBUTES:
            problems |= check_messages(where, name, value)
    return problems


MESSAGE_ATTRIBUTES = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")


def check_messages(where: str, name: str, value: Any) -> set[str]:
    """Roles, finish reasons and the known part types against the message JSON schemas."""
    schema, problems = REGISTRY["messages"], set()
    custom = EXPECTED.get("custom_values", {})
    try:
        messages = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return {f"not-json:{where}:{name}"}
    items = messages if isinstance(messages, (list, tuple)) else []
    parts = items if name == "gen_ai.system_instructions" else [
        p for m in items if isinstance(m, Mapping) for p in m.get("parts", ())]
    for message in items if name != "gen_ai.system_instructions" else ():
        if message.get("role") not in schema["roles"]:
            problems.add(f"enum:{where}:{name}.role={message.get('role')}")
        reason = message.get("finish_reason")
        if name == "gen_ai.output.messages" and reason not in schema["finish_reasons"] \
                and reason not in custom.get("finish_reason", {}):
            problems.add(f"enum:{where}:{name}.finish_reason={reason}")
    for part in parts:
        required = schema["parts"].get(part.get("type"))
        for key in required or ():
            if key not in part:
                problems.add(f"message-part:{where}:{name}.{part.get('type')}.{key}")
    return problems


def check_required(where: str, levels: Mapping[str, str], attributes: Mapping[str, Any]) -> set[str]:
    problems = {f"missing-required:{where}:{name}" for name, level in levels.items()
                if level == "required" and name not in attributes}
    if "server.address" in attributes and "server.port" in levels and "server.port" not in attributes:
        problems.add(f"missing-required:{where}:server.port")
    return problems


def check_span(span: Any) -> set[str]:
    attributes = dict(span.attributes or {})
    operation, provider = str(attributes.get("gen_ai.operation.name")), str(attributes.get("gen_ai.provider.name"))
    where = f"span[{operation}]"
    problems = check_attributes(where, attributes)
    group_id = span_group(operation, provider)
    if group_id is None:
        if operation not in EXPECTED.get("custom_values", {}).get("gen_ai.operation.name", {}):
            return problems | {f"unknown-span:{where}"}
        # A documented custom operation has no span definition: what every GenAI client span requires.
        common = {"gen_ai.operation.name": "required", "gen_ai.provider.name": "required",
                  "server.port": "conditionally_required"}
        return problems | check_required(where, common, attributes)
    group = REGISTRY["spans"][group_id]
    problems |= check_required(where, group["attributes"], attributes)
    kind = {"client": SpanKind.CLIENT, "internal": SpanKind.INTERNAL}[group["span_kind"]]
    if span.kind != kind:
        problems.add(f"span-kind:{where}:{span.kind.name}")
    model = attributes.get("gen_ai.request.model")
    if operation in INFERENCE | {"embeddings"} and model and span.name != f"{operation} {model}":
        problems.add(f"span-name:{where}")
    return problems


# Severities the conventions ask for in an event's note ("Instrumentations SHOULD set the severity to DEBUG
# (severity number 5)", semantic-conventions-genai model/gen-ai/events.yaml); the pinned registry predates
# the note, so the distilled facts do not carry it.
EVENT_SEVERITY = {"gen_ai.client.inference.operation.details": SeverityNumber.DEBUG}


def check_event(record: Any) -> set[str]:
    name = record.event_name
    if not name or not (name.startswith("gen_ai.") or name.startswith("otel_ai.")):
        return set()
    fact = REGISTRY["events"].get(name)
    if fact is None:
        return set() if name in EXPECTED.get("extensions", {}) else {f"unknown-event:{name}"}
    attributes = dict(record.attributes or {})
    where = f"event[{name}]"
    problems = check_attributes(where, attributes, structured=True)
    problems |= check_required(where, fact["attributes"], attributes)
    severity = EVENT_SEVERITY.get(name)
    if severity is not None and record.severity_number != severity:
        problems.add(f"severity:{where}:{getattr(record.severity_number, 'name', record.severity_number)}")
    return problems


def instrument_of(data: Any) -> str:
    if isinstance(data, Histogram):
        return "histogram"
    if isinstance(data, Sum):
        return "counter" if data.is_monotonic else "updowncounter"
    if isinstance(data, Gauge):
        return "gauge"
    return type(data).__name__


def check_metric(metric: Any) -> set[str]:
    name = metric.name
    if not name.startswith("gen_ai."):
        return set()
    # A metric of an open proposal (OTEL_AI_SEMCONV_PROPOSALS) is checked against the proposal's facts.
    fact = REGISTRY["metrics"].get(name) or proposal_fact(name)
    if fact is None:
        return set() if name in EXPECTED.get("extensions", {}) else {f"unknown-metric:{name}"}
    problems: set[str] = set()
    if metric.unit != fact["unit"]:
        problems.add(f"metric-unit:{name}:{metric.unit}")
    if instrument_of(metric.data) != fact["instrument"]:
        problems.add(f"metric-instrument:{name}:{instrument_of(metric.data)}")
    where = f"metric[{name}]"
    for point in metric.data.data_points:
        attributes = dict(point.attributes or {})
        problems |= check_attributes(where, attributes) | check_required(where, fact["attributes"], attributes)
        # A provider's page may add attributes to the common metric (OpenAI: the response's service tier).
        added = REGISTRY["provider_metrics"].get(str(attributes.get("gen_ai.provider.name")), {}).get(name, {})
        for attribute in attributes:
            if attribute.startswith(CHECKED) and attribute not in fact["attributes"] and attribute not in added \
                    and attribute not in EXPECTED.get("extensions", {}):
                problems.add(f"attribute-not-on-metric:{where}:{attribute}")
        bounds = getattr(point, "explicit_bounds", None)
        if fact["buckets"] is not None and bounds is not None and \
                [float(b) for b in bounds] != fact["buckets"]:
            problems.add(f"metric-buckets:{name}")
    return problems


def proposal_fact(name: str) -> dict[str, Any] | None:
    """The expectations file's facts of a proposed metric, shaped like the registry's (no bucket advice yet)."""
    entry = EXPECTED.get("proposals", {}).get(name)
    return None if entry is None else {**entry, "buckets": None}


def metrics_of(reader: Any) -> Iterable[Any]:
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            yield from scope_metrics.metrics
