"""With `OTEL_AI_USER_ID_HASH` on, the raw user id is in no exported byte: spans, logs and metrics.

A real app under `opentelemetry-instrument` (content capture and HTTP header capture on, the user a metric
label with `OTEL_AI_METRICS_USER`, OTLP/HTTP to the test receiver) talks to the OpenAI simulator inside
`otel_ai.conversation(user=...)`: sync, streamed, async and Responses calls, a unit of work with its own
spend, an evaluation, a nested conversation that inherits the user, a log record, and the user id also
sent in the request's own `user` field. Two users: one no redactor recognises (only the hash protects it)
and one that is an e-mail address. The test requires that the hash (the first 32 hex digits of the
SHA-256) arrived where the user belongs (spans, the details log records, metric labels) and that neither
raw id, in any form, nor `user.id` arrived anywhere.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

from tests.support.otlp_receiver import OTLPReceiver, attrs_to_dict

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USERS = ("acct-7f3k9q2w-harbour", "marguerite.okafor71@example-mail.test")

APP = '''
import asyncio, logging, sys
import openai
import otel_ai
from otel_ai.testing.simulator import OpenAISimulator

users = sys.argv[1:]
with OpenAISimulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
    for user in users:
        with otel_ai.conversation(id="conv-hash-test", user=user):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                           user=user)
            with client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                                stream=True, stream_options={"include_usage": True}) as stream:
                for _ in stream:
                    pass
            client.responses.create(model="gpt-4o-mini", input="hi", safety_identifier=user)
            with otel_ai.workflow("support") as unit, otel_ai.tool("lookup"):
                unit.set_cost(0.01, input_tokens=3, model="local")
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            otel_ai.evaluate("helpfulness", 0.8, "good", "fine")
            with otel_ai.conversation(id="conv-hash-inner"):  # inherits the user
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            logging.getLogger("app").warning("a turn finished")

            async def turn():
                async with openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0) as aclient:
                    await aclient.chat.completions.create(model="gpt-4o-mini",
                                                          messages=[{"role": "user", "content": "hi"}])

            asyncio.run(turn())
print("done", flush=True)
'''


def _forms(user: str) -> set[str]:
    return {user, quote(user, safe=""), quote_plus(user), user.lower(), user.upper()}


def test_the_raw_user_id_is_never_exported(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    with OTLPReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
        env.update({
            "OTEL_SERVICE_NAME": "hash-test", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_BLRP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "500",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_and_event",
            "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST": ".*",
            "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE": ".*",
            "OTEL_AI_USER_ID_HASH": "true", "OTEL_AI_METRICS_USER": "true",
        })
        result = subprocess.run(
            [str(BIN / "opentelemetry-instrument"), sys.executable, str(app), *USERS],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0 and "done" in result.stdout, result.stderr[-4000:]
        hashes = {hashlib.sha256(u.encode()).hexdigest()[:32] for u in USERS}
        spans = receiver.span_entries()
        assert receiver.wait_for(lambda: any(m.metric.name == "otel_ai.client.requests" for m in receiver.metrics()))
        raw = b"".join(receiver.raw_bodies).decode("latin-1")
        spans = receiver.span_entries()
        logs = receiver.log_entries()
        metrics = receiver.metrics()
    # the hash arrived where the user belongs: every GenAI and unit span, the details records, the counters
    genai = [s for s in spans if "gen_ai.operation.name" in s.attributes]
    assert len(genai) >= 2 * 8, [s.span.name for s in spans]
    assert {s.attributes.get("user.hash") for s in genai} == hashes, [s.attributes for s in genai][:3]
    details = [e for e in logs if e.log.event_name == "gen_ai.client.inference.operation.details"]
    assert details and {e.attributes.get("user.hash") for e in details} == hashes
    labelled = {
        attrs_to_dict(point.attributes).get("user.hash")
        for m in metrics if m.metric.name in ("otel_ai.client.requests", "otel_ai.client.cost") for point in m.points()
    }
    assert labelled == hashes
    # and the raw id is nowhere, in no form, and no `user.id` was written
    for user in USERS:
        for form in _forms(user):
            assert form not in raw, f"the raw user id {user!r} was exported (as {form!r})"
    assert "user.id" not in raw
