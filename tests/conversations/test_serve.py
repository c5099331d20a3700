"""Conversations in `otel-ai serve`: an app under `opentelemetry-instrument` talks in two conversations (one
call failing); the API, `otel-ai report conversations` and the users view give the turns in order and the
sums over the exported spans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from otel_ai.serve.server import LocalServer, ServeConfig
from tests.support.console_spans import exported_spans

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

APP = """
import openai, otel_ai
from otel_ai.testing.simulator import OpenAISimulator
with OpenAISimulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test-conv0123456789abcdef0123", max_retries=0)
    ask = lambda q, **kw: client.chat.completions.create(model="gpt-4o-mini",
                                                         messages=[{"role": "user", "content": q}], **kw)
    with otel_ai.conversation(id="conv-a", user="alice"):
        for q in ("one", "two", "three"):
            ask(q)
    with otel_ai.conversation(id="conv-b", user="bob"):
        ask("hello")
        try:
            ask("again", extra_headers={"x-simulator-scenario": "rate_limit"})
        except openai.RateLimitError:
            pass
    ask("outside")
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("conv")
    db = tmp / "conv.db"
    (tmp / "app.py").write_text(APP)
    server = LocalServer(ServeConfig(db=str(db), port=0, otlp_http_port=0, otlp_grpc_port=0)).start()
    try:
        urls = server.urls()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
        env.update(OTEL_SERVICE_NAME="conv-app", OTEL_EXPORTER_OTLP_ENDPOINT=urls["otlp_http"],
                   OTEL_TRACES_EXPORTER="otlp,console", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
        result = subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, str(tmp / "app.py")],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        spans = [s for s in exported_spans(result.stdout) if "gen_ai.operation.name" in s["attributes"]]
        assert len(spans) == 6
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if requests.get(f"{urls['api']}/api/v1/summary", timeout=5).json()["calls"] == 6:
                break
            time.sleep(0.1)
        yield urls["api"], db, spans
    finally:
        server.stop()


def _get(api: str, path: str, **params: Any) -> Any:
    response = requests.get(f"{api}/api/v1/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_conversations_with_their_sums(served: Any) -> None:
    api, _, spans = served
    page = _get(api, "conversations")
    assert [c["conversation_id"] for c in page["items"]] == ["conv-b", "conv-a"]  # most recent first
    by_id = {c["conversation_id"]: c for c in page["items"]}
    for cid, user, calls, errors in (("conv-a", "alice", 3, 0), ("conv-b", "bob", 2, 1)):
        mine = [s["attributes"] for s in spans if s["attributes"].get("gen_ai.conversation.id") == cid]
        got = by_id[cid]
        assert (got["user"], got["calls"], got["errors"]) == (user, calls, errors)
        assert got["cost_usd"] == pytest.approx(sum(a.get("otel_ai.cost.usd", 0) for a in mine))
        assert got["input_tokens"] == sum(a.get("gen_ai.usage.input_tokens", 0) for a in mine)
    assert [c["conversation_id"] for c in _get(api, "conversations", user="alice")["items"]] == ["conv-a"]


def test_one_conversation_is_its_turns_in_order(served: Any) -> None:
    api, _, _ = served
    detail = _get(api, "conversations/conv-b")
    assert [t["outcome"] for t in detail["turns"]] == ["ok", "error"]
    assert detail["turns"][1]["error_category"] == "rate_limit" and detail["users"] == ["bob"]
    assert detail["unpriced_calls"] == 0  # the failed call had no usage: nothing to price
    assert requests.get(f"{api}/api/v1/conversations/nope", timeout=10).status_code == 404
    users = {u["user"]: u for u in _get(api, "users")["items"]}
    assert set(users) == {"alice", "bob"} and users["alice"]["calls"] == 3 and users["bob"]["conversations"] == 1


def test_the_report_prints_the_same(served: Any) -> None:
    _, db, _ = served
    run = [str(BIN / "otel-ai"), "report", "conversations", "--db", str(db)]
    table = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "conv-a" in table.stdout and "alice" in table.stdout and "2 conversations" in table.stdout
    data = json.loads(subprocess.run([*run, "--format", "json", "--conversation", "conv-a"], capture_output=True,
                                     text=True, timeout=60, check=True).stdout)
    assert data["calls"] == 3 and len(data["turns"]) == 3
    failed = subprocess.run([*run, "--conversation", "conv-b"], capture_output=True, text=True, timeout=60, check=True)
    assert "unpriced" not in failed.stdout and "error (rate_limit)" in failed.stdout
    bad = subprocess.run([*run, "--model", "x"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a filter of `report conversations`" in bad.stderr


def test_budget_spend_in_a_user_or_conversation_scope_reads_the_calls(served: Any) -> None:
    from datetime import datetime, timezone

    from otel_ai.serve.store import open_store
    from otel_ai.serve.store.budgets import spend

    _, db, spans = served

    def cost(key: str, value: str) -> float:
        return sum(s["attributes"].get("otel_ai.cost.usd", 0) for s in spans if s["attributes"].get(key) == value)

    since = datetime(2000, 1, 1, tzinfo=timezone.utc)
    with open_store(str(db)) as store:
        most = spend(store, since, scope={"user": "*"})
        bob = spend(store, since, scope={"user": "bob", "provider": "openai"})
        conv = spend(store, since, scope={"conversation": "conv-a"})
        nobody = spend(store, since, scope={"user": "*", "provider": "elsewhere"})
    assert (most["calls"], most["spent_usd"]) == (3, pytest.approx(cost("user.id", "alice")))
    assert (bob["calls"], bob["spent_usd"]) == (2, pytest.approx(cost("user.id", "bob")))
    assert (conv["calls"], conv["spent_usd"]) == (3, pytest.approx(cost("gen_ai.conversation.id", "conv-a")))
    assert nobody == {"spent_usd": 0.0, "calls": 0}
