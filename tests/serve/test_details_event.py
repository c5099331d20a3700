"""`otel-ai serve` and the GenAI details event: structured content from current agents, JSON strings from older ones.

The example app runs under `opentelemetry-instrument` with content capture on the event only and sends its
OTLP/HTTP protobuf to a real `LocalServer`: the `gen_ai.client.inference.operation.details` records arrive with
`gen_ai.input.messages` / `gen_ai.output.messages` as OTLP arrays of kvlists, no body and DEBUG severity, and the
API answers them as JSON arrays. A record shaped as agents before this change sent it (the messages as the
body, their JSON strings as attributes) is encoded by the SDK's own OTLP encoder and posted alongside: the
server keeps both forms as sent, and the trace page shows the messages of either in its logs table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry._logs import LogRecord as APILogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_ai.serve.server import LocalServer, ServeConfig
from tests.serve.test_web import browser  # noqa: F401  (Chromium; fails, not skips, under OTEL_AI_REQUIRE_BROWSER)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DETAILS = "gen_ai.client.inference.operation.details"
OLD_PROMPT = "an older agent asked this"


def _run_app(endpoint: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_"))}
    env.update({
        "OTEL_SERVICE_NAME": "details-event",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "event_only",
    })
    result = subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, "examples/app.py"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def _old_agent_record(trace_id: int, span_id: int, time_ns: int) -> bytes:
    """An ExportLogsServiceRequest as the recorder wrote the event before: body = the messages, attributes = JSON."""
    messages = [{"role": "user", "parts": [{"type": "text", "content": OLD_PROMPT}]}]
    record = APILogRecord(
        timestamp=time_ns, trace_id=trace_id, span_id=span_id, event_name=DETAILS,
        body={"gen_ai.input.messages": messages},
        attributes={"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(messages)},
    )
    readable = ReadableLogRecord(log_record=record, resource=Resource.create({"service.name": "details-event-old"}),
                                 instrumentation_scope=InstrumentationScope("otel_ai", "0.1.0"))
    return encode_logs([readable]).SerializeToString()


def _get(api: str, path: str) -> Any:
    with urllib.request.urlopen(f"{api}/api/v1{path}", timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """(the API's base URL, the trace of the first chat call with its details events)."""
    db = tmp_path_factory.mktemp("details") / "details.db"
    server = LocalServer(ServeConfig(db=str(db), port=0, otlp_http_port=0, otlp_grpc_port=0,
                                     shutdown_grace_s=2)).start()
    try:
        urls = server.urls()
        _run_app(urls["otlp_http"])
        api = urls["api"]
        deadline = time.monotonic() + 10
        while True:
            traces = _get(api, "/traces?limit=100")["items"]
            chats = [t for t in traces if t["name"].startswith("GET /ask")]
            trace = _get(api, f"/traces/{chats[0]['trace_id']}") if chats else {"logs": []}
            if any(log["event_name"] == DETAILS for log in trace["logs"]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        chat = next(s for s in trace["spans"] if s["name"].startswith("chat "))
        old = _old_agent_record(int(trace["trace_id"], 16), int(chat["span_id"], 16), chat["end_ns"] + 1000)
        posted = requests.post(f"{urls['otlp_http']}/v1/logs", data=old, timeout=10,
                               headers={"Content-Type": "application/x-protobuf"})
        assert posted.status_code == 200, posted.text
        deadline = time.monotonic() + 10
        while sum(log["event_name"] == DETAILS for log in trace["logs"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            trace = _get(api, f"/traces/{trace['trace_id']}")
        yield api, trace
    finally:
        server.stop()


def _details(trace: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the current agent's details record, the older agent's)."""
    records = [log for log in trace["logs"] if log["event_name"] == DETAILS]
    new = [r for r in records if r["body"] is None]
    old = [r for r in records if r["body"] is not None]
    assert len(new) == 1 and len(old) == 1, records
    return new[0], old[0]


def test_structured_content_is_stored_and_served_as_json_arrays(served: tuple[str, dict[str, Any]]) -> None:
    _, trace = served
    new, _ = _details(trace)
    messages = new["attributes"]["gen_ai.input.messages"]
    assert isinstance(messages, list), "kept structured: the API answers a JSON array, not a string"
    assert messages[0] == {"role": "system", "parts": [{"type": "text", "content": "Answer in one sentence."}]}
    assert messages[1]["role"] == "user" and isinstance(messages[1]["parts"][0]["content"], str)
    output = new["attributes"]["gen_ai.output.messages"]
    assert isinstance(output, list) and output[0]["role"] == "assistant" and output[0]["parts"][0]["content"]
    assert new["severity_number"] == SeverityNumber.DEBUG.value and new["severity_text"] == "DEBUG"
    assert new["attributes"]["gen_ai.operation.name"] == "chat"


def test_the_older_string_form_is_still_accepted_as_sent(served: tuple[str, dict[str, Any]]) -> None:
    _, trace = served
    _, old = _details(trace)
    assert isinstance(old["attributes"]["gen_ai.input.messages"], str)
    assert json.loads(old["attributes"]["gen_ai.input.messages"])[0]["parts"][0]["content"] == OLD_PROMPT
    assert old["body"]["gen_ai.input.messages"][0]["parts"][0]["content"] == OLD_PROMPT


def test_the_trace_page_shows_the_messages_of_both_forms(
    served: tuple[str, dict[str, Any]], browser: Any,  # noqa: F811 (test_web's fixture, imported above)
) -> None:
    api, trace = served
    new, _ = _details(trace)
    prompt = new["attributes"]["gen_ai.input.messages"][1]["parts"][0]["content"]
    page = browser.new_page()
    try:
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{api}/traces/{trace['trace_id']}")
        page.wait_for_selector("body[data-ready='1']", timeout=10_000)
        cells = page.locator("#logs tr.log .body")
        texts = [cells.nth(i).inner_text() for i in range(cells.count())]
        [shown] = [t for t in texts if t.startswith(DETAILS)]  # no body: the event name and its content
        assert json.loads(shown.removeprefix(DETAILS))["gen_ai.input.messages"][1]["parts"][0]["content"] == prompt
        assert any(OLD_PROMPT in t and not t.startswith(DETAILS) for t in texts)  # the older body, as before
        assert problems == []
    finally:
        page.close()
