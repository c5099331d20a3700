"""distill_registry.py on a tiny conventions repository: enums, inherited requirement levels, units, buckets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conformance.distill_registry import distill

REGISTRY = """groups:
  - id: registry.gen_ai
    type: attribute_group
    brief: b
    attributes:
      - id: gen_ai.provider.name
        stability: development
        type: {members: [{id: openai, value: "openai", brief: b, stability: development}]}
        brief: b
      - id: gen_ai.request.model
        stability: development
        type: string
        brief: b
"""
METRICS = """groups:
  - id: metric_attributes.gen_ai
    type: attribute_group
    brief: b
    attributes:
      - ref: gen_ai.provider.name
        requirement_level: required
      - ref: gen_ai.request.model
        requirement_level: {conditionally_required: If available.}
  - id: metric_attributes.openai
    type: attribute_group
    brief: b
    attributes:
      - ref: gen_ai.request.model
        requirement_level: recommended
  - id: metric.gen_ai.client.token.usage
    type: metric
    metric_name: gen_ai.client.token.usage
    brief: b
    instrument: histogram
    unit: "{token}"
    stability: development
    extends: metric_attributes.gen_ai
"""
DOC = """### Metric: `gen_ai.client.token.usage`

This metric SHOULD be specified with [ExplicitBucketBoundaries] of
[1, 4, 16].
"""
OPENAI_DOC = """## Metrics

### Metric: `gen_ai.client.token.usage`

<!-- semconv metric_attributes.openai -->
"""
SCHEMA = {"$defs": {"Role": {"enum": ["user"]}, "FinishReason": {"enum": ["stop"]},
                    "TextPart": {"properties": {"type": {"const": "text"}}, "required": ["type", "content"]}}}


def test_distill_reads_one_commit(tmp_path: Path) -> None:
    files = {"model/gen-ai/registry.yaml": REGISTRY, "model/gen-ai/metrics.yaml": METRICS,
             "docs/gen-ai/gen-ai-metrics.md": DOC,
             "docs/gen-ai/openai.md": OPENAI_DOC, "docs/gen-ai/gen-ai-input-messages.json": json.dumps(SCHEMA),
             "docs/gen-ai/gen-ai-output-messages.json": json.dumps(SCHEMA)}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    facts = distill(tmp_path, commit)
    assert facts["source"]["commit"] == commit
    assert facts["attributes"]["gen_ai.provider.name"]["members"] == ["openai"]
    assert facts["metrics"]["gen_ai.client.token.usage"] == {
        "instrument": "histogram", "unit": "{token}", "buckets": [1.0, 4.0, 16.0],
        "attributes": {"gen_ai.provider.name": "required", "gen_ai.request.model": "conditionally_required"},
    }
    # The provider page ties its attribute group to the common metric.
    added = {"gen_ai.client.token.usage": {"gen_ai.request.model": "recommended"}}
    assert facts["provider_metrics"] == {"openai": added}
    assert facts["messages"] == {"finish_reasons": ["stop"], "roles": ["user"], "parts": {"text": ["content", "type"]}}
