"""otel-ai's own registry (semconv/registry/otel_ai/*.yaml): loaded, validated like a schema, resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
REGISTRY_DIR = ROOT / "semconv" / "registry"
TYPES = frozenset({"string", "int", "double", "boolean", "string[]", "int[]", "double[]", "boolean[]", "any"})
STABILITY = frozenset({"development", "alpha", "beta", "release_candidate", "stable"})
INSTRUMENTS = frozenset({"counter", "updowncounter", "gauge", "histogram"})
GROUP_TYPES = frozenset({"attribute_group", "metric", "event", "span"})
ATTRIBUTE_KEYS = frozenset({"id", "type", "stability", "brief", "examples", "note", "deprecated"})
REF_KEYS = frozenset({"ref", "requirement_level", "brief", "note", "examples"})
LEVELS = frozenset({"required", "recommended", "opt_in", "conditionally_required"})


@dataclass
class OurRegistry:
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id: {type, members}
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # name: {instrument, unit, attributes}
    events: dict[str, dict[str, str]] = field(default_factory=dict)  # name: {attribute: level}
    problems: list[str] = field(default_factory=list)

    def names(self) -> set[str]:
        return set(self.attributes) | set(self.metrics) | set(self.events)


def _value_fits(kind: str, value: Any) -> bool:
    if kind.endswith("[]"):
        return isinstance(value, list) and all(_value_fits(kind[:-2], v) for v in value)
    return {
        "string": isinstance(value, str), "boolean": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, (int, float)) and not isinstance(value, bool), "any": True,
    }.get(kind, False)


def _check_attribute(attr: dict[str, Any], where: str, problems: list[str]) -> tuple[str, list[str] | None]:
    if not set(attr) <= ATTRIBUTE_KEYS or not {"id", "type", "stability", "brief"} <= set(attr):
        problems.append(f"{where}: keys {sorted(attr)}")
    raw, members = attr.get("type"), None
    if isinstance(raw, dict):
        kind = "string"
        members = []
        for member in raw.get("members", []):
            if not {"id", "value", "brief", "stability"} <= set(member) or not isinstance(member["value"], str):
                problems.append(f"{where}: enum member {member}")
            else:
                members.append(member["value"])
        if not members:
            problems.append(f"{where}: an enum without members")
    else:
        kind = str(raw)
        if kind not in TYPES:
            problems.append(f"{where}: type {raw!r}")
    if attr.get("stability") not in STABILITY:
        problems.append(f"{where}: stability {attr.get('stability')!r}")
    if not str(attr.get("brief", "")).strip():
        problems.append(f"{where}: no brief")
    examples = attr.get("examples")
    if not isinstance(examples, list) or not examples:
        problems.append(f"{where}: examples must be a non-empty list")
    else:
        for example in examples:
            if not _value_fits(kind, example) or (members is not None and example not in members):
                problems.append(f"{where}: example {example!r} is not a {kind}")
    return kind, members


def load(genai_attributes: dict[str, Any]) -> OurRegistry:
    """Read, validate and resolve our registry; `problems` lists every structural fault found."""
    reg = OurRegistry()
    manifest = yaml.safe_load((REGISTRY_DIR / "registry_manifest.yaml").read_text())
    for key in ("name", "semconv_version", "schema_base_url", "dependencies"):
        if key not in manifest:
            reg.problems.append(f"manifest: no {key}")
    groups: dict[str, dict[str, Any]] = {}
    for path in sorted((REGISTRY_DIR / "otel_ai").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            where = f"{path.name}:{group.get('id')}"
            if group.get("id") in groups:
                reg.problems.append(f"{where}: duplicate group id")
            groups[group.get("id")] = group
            if group.get("type") not in GROUP_TYPES or not str(group.get("brief", "")).strip():
                reg.problems.append(f"{where}: type {group.get('type')!r} or no brief")
            for attr in group.get("attributes", []):
                if "id" in attr:
                    if not str(attr["id"]).startswith("otel_ai.") or attr["id"] in reg.attributes:
                        reg.problems.append(f"{where}: attribute id {attr['id']!r} (ours are otel_ai.*, once)")
                    kind, members = _check_attribute(attr, f"{where}:{attr['id']}", reg.problems)
                    reg.attributes[attr["id"]] = {"type": kind, "members": members}
    known = set(reg.attributes) | set(genai_attributes)

    def resolved(group_id: str) -> dict[str, str]:
        group = groups[group_id]
        levels = dict(resolved(group["extends"])) if group.get("extends") else {}
        for attr in group.get("attributes", []):
            if "ref" not in attr:
                continue
            if not set(attr) <= REF_KEYS or attr["ref"] not in known:
                reg.problems.append(f"{group_id}: ref {attr}")
            level = attr.get("requirement_level", "recommended")
            level = next(iter(level)) if isinstance(level, dict) else level
            if level not in LEVELS:
                reg.problems.append(f"{group_id}: requirement level {level!r}")
            levels[attr["ref"]] = level
        return levels

    for gid, group in groups.items():
        if group.get("type") == "metric":
            name = str(group.get("metric_name", ""))
            if not name.startswith("otel_ai.") or group.get("instrument") not in INSTRUMENTS \
                    or not isinstance(group.get("unit"), str) or group.get("stability") not in STABILITY:
                reg.problems.append(f"{gid}: metric_name/instrument/unit/stability")
            reg.metrics[name] = {"instrument": group.get("instrument"), "unit": group.get("unit"),
                                 "attributes": resolved(gid)}
        elif group.get("type") == "event":
            name = str(group.get("name", ""))
            if not name.startswith("otel_ai.") or group.get("stability") not in STABILITY:
                reg.problems.append(f"{gid}: event name/stability")
            reg.events[name] = resolved(gid)
        elif group.get("extends"):
            resolved(gid)
    return reg
