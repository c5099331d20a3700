"""The example app's /digest workflow under `opentelemetry-instrument`: the zero-code set-up and units together."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.console_spans import exported_spans

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_digest_workflow_rolls_up_its_tasks_and_calls() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_"))}
    env.update({"OTEL_SERVICE_NAME": "units-example", "OTEL_TRACES_EXPORTER": "console",
                "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "OTEL_BSP_SCHEDULE_DELAY": "100"})
    result = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "examples/app.py", "--units"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "GET /digest" in result.stdout
    spans = exported_spans(result.stdout)
    by_id = {s["context"]["span_id"]: s for s in spans}
    [workflow] = [s for s in spans if s["name"] == "invoke_workflow digest"]
    assert by_id[workflow["parent_id"]]["name"].startswith("GET /digest")  # under the FastAPI server span

    def under(span: dict[str, Any]) -> list[dict[str, Any]]:
        out, todo = [], [span["context"]["span_id"]]
        while todo:
            parent = todo.pop()
            kids = [s for s in spans if s["parent_id"] == parent]
            out += kids
            todo += [k["context"]["span_id"] for k in kids]
        return out

    chats = [s for s in under(workflow) if s["attributes"].get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 4  # one research call, three summaries in two batches
    attrs = workflow["attributes"]
    assert attrs["otel_ai.task.calls"] == 4
    assert attrs["otel_ai.task.cost.usd"] == pytest.approx(sum(c["attributes"]["otel_ai.cost.usd"] for c in chats))
    assert attrs["otel_ai.task.usage.input_tokens"] == sum(c["attributes"]["gen_ai.usage.input_tokens"] for c in chats)
    batches = [s for s in spans if s["name"] == "task summarize"]
    assert sorted(b["attributes"]["otel_ai.batch.items"] for b in batches) == [1, 2]
    types = sorted(c["attributes"].get("otel_ai.task.type") for c in chats)
    assert types == ["research", "summarize", "summarize", "summarize"]
