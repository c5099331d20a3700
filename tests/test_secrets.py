"""The client's own API key is registered as a literal secret, even when no pattern recognises it."""

from __future__ import annotations

import json

import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai.privacy import RedactingSpanExporter
from otel_ai.runtime import state

# A gateway token of no known format: only registration can catch it.
PLAIN_KEY = "acme-gateway-token-QuietMeadow-4812"


@pytest.fixture
def content_mode() -> str:
    return "span_only"


def test_no_pattern_matches_the_plain_key():
    text, found = state.redactor().redact(f"my key is {PLAIN_KEY}, keep it safe")
    assert found in (None, {"secret": 1})  # no pattern kind: registration is what catches it
    assert found is None or PLAIN_KEY not in text


def test_the_clients_key_is_redacted_from_exported_spans(sim, telemetry):
    with openai.OpenAI(base_url=sim.base_url, api_key=PLAIN_KEY, max_retries=0) as client:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"I pasted my key by mistake: {PLAIN_KEY}"}]
        )
    span = telemetry.one_genai_span()
    assert PLAIN_KEY in span.attributes["gen_ai.input.messages"]  # captured in process, before export

    exported = InMemorySpanExporter()
    RedactingSpanExporter(exported, state.redactor()).export(telemetry.spans())
    [out] = [s for s in exported.get_finished_spans() if s.name == span.name]
    assert PLAIN_KEY not in json.dumps(dict(out.attributes))
    assert "[REDACTED:secret]" in out.attributes["gen_ai.input.messages"]
    assert "secret" in out.attributes["otel_ai.redacted.kinds"]
