"""The example app's /ask/<provider> route: `examples/app.py --providers` under `opentelemetry-instrument`
calls Ollama through its simulator (started in-process, no OLLAMA_HOST), found through the `otel_ai_ollama`
entry point; the call's console line and exported span show the provider and its known zero cost
(`otel_ai.pricing.source = local`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.console_spans import exported_spans

pytest.importorskip("ollama")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_the_providers_route_calls_ollama_through_its_simulator() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_", "OLLAMA_"))}
    env.update(OTEL_TRACES_EXPORTER="otel_ai_console,console", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
               OTEL_SERVICE_NAME="ollama-example-test")
    result = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "examples/app.py", "--providers"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'GET /ask/ollama -> "Hello from the Ollama simulator."' in result.stdout
    [line] = [line for line in result.stdout.splitlines() if "provider=ollama" in line]
    assert line.startswith("[otel-ai] chat llama3.2 ") and "tokens=10in/5out" in line
    assert "cost=$0.00 " in line and "status=ok" in line
    [span] = [s for s in exported_spans(result.stdout) if s["attributes"].get("gen_ai.provider.name") == "ollama"]
    attrs = span["attributes"]
    assert (attrs["otel_ai.pricing.source"], attrs["otel_ai.cost.usd"]) == ("local", 0.0)
    assert attrs["server.address"] == "127.0.0.1" and attrs["gen_ai.usage.input_tokens"] == 10
