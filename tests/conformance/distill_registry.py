"""Distil the GenAI registry facts the conformance test needs into genai_registry.json.

Run from the repository root (any git checkout of the conventions, at the commit to pin):

    python tests/conformance/distill_registry.py --repo /path/to/semantic-conventions \
        --commit c1212d96fcbf7f7e8b6279a971f2a36282a5a240

It reads the files with `git show COMMIT:PATH` (no work tree needed), so the JSON names exactly the
commit it came from. The registry is YAML; the bucket advice of the metrics lives only in the generated
markdown (docs/gen-ai/gen-ai-metrics.md) and the message shapes in the JSON schemas next to it, so
they are read from there.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

# Registry areas whose attributes GenAI telemetry uses (model/<area>/..., deprecated files included).
AREAS = ("gen-ai", "openai", "server", "error", "user")
METRICS_DOC = "docs/gen-ai/gen-ai-metrics.md"
# Providers whose page adds attributes to the common metrics (`### Metric: ...` sections that include a
# `<!-- semconv GROUP -->` snippet): the registry YAML ties those groups to no metric, only the page does.
PROVIDER_DOCS = {"openai": "docs/gen-ai/openai.md"}
MESSAGE_SCHEMAS = ("docs/gen-ai/gen-ai-input-messages.json", "docs/gen-ai/gen-ai-output-messages.json")
OUT = Path(__file__).with_name("genai_registry.json")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={repo}", *args], check=True, capture_output=True, text=True).stdout


def _type_of(raw: Any) -> tuple[str, list[str] | None]:
    """(type, enum members): an enum is `enum` with its member values (custom values are allowed by the spec)."""
    if isinstance(raw, dict) and "members" in raw:
        return "enum", sorted(str(m["value"]) for m in raw["members"])
    return str(raw), None


def _level(raw: Any) -> str:
    if raw is None:
        return "recommended"
    if isinstance(raw, dict):
        return str(next(iter(raw)))
    return str(raw)


def distill(repo: Path, commit: str) -> dict[str, Any]:
    git_dir = repo / ".git" if (repo / ".git").is_dir() else repo
    paths = [p for p in _git(git_dir, "ls-tree", "-r", "--name-only", commit, "model").splitlines()
             if p.endswith(".yaml") and p.split("/")[1] in AREAS]
    groups: dict[str, dict[str, Any]] = {}
    for path in paths:
        for group in (yaml.safe_load(_git(git_dir, "show", f"{commit}:{path}")) or {}).get("groups", []):
            groups[group["id"]] = group
    attributes: dict[str, Any] = {}
    for group in groups.values():
        for attr in group.get("attributes", []):
            if "id" not in attr:
                continue
            kind, members = _type_of(attr["type"])
            attributes[attr["id"]] = {
                "type": kind, "members": members, "stability": attr.get("stability"),
                "deprecated": attr.get("deprecated") is not None,
            }

    def resolved(group_id: str) -> dict[str, str]:
        group = groups[group_id]
        levels = dict(resolved(group["extends"])) if group.get("extends") else {}
        for attr in group.get("attributes", []):
            name = attr.get("ref") or attr.get("id")
            if "requirement_level" in attr or name not in levels:
                levels[name] = _level(attr.get("requirement_level"))
        return levels

    spans, events, metrics = {}, {}, {}
    for gid, group in sorted(groups.items()):
        if group.get("deprecated") is not None:
            continue
        if group.get("type") == "span":
            spans[gid] = {"span_kind": group.get("span_kind"), "attributes": resolved(gid)}
        elif group.get("type") == "event":
            events[group.get("name", gid)] = {"attributes": resolved(gid)}
        elif group.get("type") == "metric":
            metrics[group["metric_name"]] = {
                "instrument": group["instrument"], "unit": group["unit"], "attributes": resolved(gid), "buckets": None,
            }
    doc = _git(git_dir, "show", f"{commit}:{METRICS_DOC}")
    for section in re.split(r"^### Metric: ", doc, flags=re.M)[1:]:
        name = section.split("`")[1]
        found = re.search(r"ExplicitBucketBoundaries\]\s+of\s+\[([^\]]*)\]", section)
        if found and name in metrics:
            metrics[name]["buckets"] = [float(x) for x in found.group(1).replace("\n", " ").split(",")]
    provider_metrics: dict[str, dict[str, dict[str, str]]] = {}
    for provider, path in PROVIDER_DOCS.items():
        try:
            page = _git(git_dir, "show", f"{commit}:{path}")
        except subprocess.CalledProcessError:
            continue
        for section in re.split(r"^### Metric: ", page, flags=re.M)[1:]:
            name = section.split("`")[1]
            for group_id in re.findall(r"<!-- semconv ([\w.]+) -->", section):
                if group_id in groups and name in metrics:
                    provider_metrics.setdefault(provider, {}).setdefault(name, {}).update(resolved(group_id))
    schema: dict[str, Any] = {"finish_reasons": [], "roles": [], "parts": {}}
    for path in MESSAGE_SCHEMAS:
        for name, definition in json.loads(_git(git_dir, "show", f"{commit}:{path}"))["$defs"].items():
            if name in ("FinishReason", "Role"):
                key = "finish_reasons" if name == "FinishReason" else "roles"
                schema[key] = sorted(set(schema[key]) | set(definition["enum"]))
            kind = definition.get("properties", {}).get("type", {}).get("const")
            if kind:
                schema["parts"][kind] = sorted(definition.get("required", []))
    schema["parts"] = dict(sorted(schema["parts"].items()))
    date = _git(git_dir, "show", "-s", "--format=%cI", commit).strip()
    return {
        "source": {
            "repository": "open-telemetry/semantic-conventions", "commit": commit, "date": date,
            "note": "the last commit with the GenAI model before it moved to open-telemetry/semantic-conventions-genai",
            "areas": list(AREAS),
        },
        "attributes": dict(sorted(attributes.items())),
        "spans": spans, "events": events, "metrics": dict(sorted(metrics.items())),
        "provider_metrics": provider_metrics, "messages": schema,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True, help="a git checkout (or bare git dir) of the conventions")
    parser.add_argument("--commit", required=True)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.write_text(json.dumps(distill(args.repo, args.commit), indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
