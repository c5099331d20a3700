"""The example app's /ask/<provider> route: `examples/app.py --providers` under `opentelemetry-instrument`
calls Ollama, Anthropic and Mistral through their simulators (started in-process, no provider variables),
found through the `otel_ai_*` entry points; each call's console line and exported span show the provider
and its cost: Ollama's a known zero (`otel_ai.pricing.source = local`), the others' from the catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.console_spans import exported_spans

for _library in ("ollama", "anthropic", "mistralai"):
    pytest.importorskip(_library)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_the_providers_route_calls_each_provider_through_its_simulator() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_", "OLLAMA_", "ANTHROPIC_", "MISTRAL_"))}
    env.update(OTEL_TRACES_EXPORTER="otel_ai_console,console", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
               OTEL_SERVICE_NAME="ollama-example-test")
    result = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "examples/app.py", "--providers"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'GET /ask/ollama -> "Hello from the Ollama simulator."' in result.stdout
    [line] = [line for line in result.stdout.splitlines() if "provider=ollama" in line]
    spans = exported_spans(result.stdout)
    [span] = [s for s in spans if s["attributes"].get("gen_ai.provider.name") == "ollama"]
    attrs = span["attributes"]
    assert line.startswith("[otel-ai] chat llama3.2 ")
    assert f"tokens={attrs['gen_ai.usage.input_tokens']}in/5out" in line
    assert "cost=$0.00 " in line and "status=ok" in line
    assert (attrs["otel_ai.pricing.source"], attrs["otel_ai.cost.usd"]) == ("local", 0.0)
    assert attrs["server.address"] == "127.0.0.1" and attrs["gen_ai.usage.input_tokens"] > 0
    for route, provider, model, answer in (
        ("anthropic", "anthropic", "claude-haiku-4-5", "Hello from the Anthropic simulator."),
        ("mistral", "mistral_ai", "mistral-small-latest", "Bonjour from the Mistral simulator."),
    ):
        assert f'GET /ask/{route} -> "{answer}"' in result.stdout
        # one GenAI span per call (the anthropic SDK's own span is left out while ours records)
        [span] = [s for s in spans if s["attributes"].get("gen_ai.provider.name") == provider]
        attrs = span["attributes"]
        assert span["name"] == f"chat {model}" and attrs["otel_ai.pricing.source"] == "catalog"
        assert attrs["otel_ai.cost.usd"] > 0 and attrs["gen_ai.usage.output_tokens"] == 5
        [line] = [line for line in result.stdout.splitlines() if f"provider={provider} " in line]
        assert line.startswith(f"[otel-ai] chat {model} ") and "status=ok" in line
