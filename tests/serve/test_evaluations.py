"""Evaluations end to end: an app under `opentelemetry-instrument` calls the simulator with the real openai
client, evaluates the calls (after their spans ended), exports over OTLP to `otel-ai serve`; the API answers."""

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

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "sk-proj-" + "Zq7xW2" * 8  # an OpenAI key planted in an explanation: must arrive redacted

APP = f"""
import openai, otel_ai
client = openai.OpenAI(max_retries=0)
for model, score in (("gpt-4o-mini", 0.9), ("gpt-4o-mini", 0.4), ("gpt-4o", 0.8)):
    answer = client.chat.completions.create(model=model, messages=[{{"role": "user", "content": "hi"}}])
    assert otel_ai.evaluate("relevance", score, explanation="leaked {SECRET} here")
    assert otel_ai.evaluate("user_feedback", label="thumbs_up", response_id=answer.id)
"""


API_DB: dict[str, str] = {}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sim: Any) -> Any:
    db = tmp_path_factory.mktemp("serve") / "evals.db"
    server = LocalServer(ServeConfig(db=str(db), port=0, otlp_http_port=0, otlp_grpc_port=0)).start()
    try:
        urls = server.urls()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
        env.update({
            "OTEL_SERVICE_NAME": "evals-app", "OTEL_EXPORTER_OTLP_ENDPOINT": urls["otlp_http"],
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "otlp", "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OPENAI_BASE_URL": sim.base_url, "OPENAI_API_KEY": "sk-test-abcdefghijklmnopqrstuvwxyz0123456789",
        })
        result = subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, "-c", APP],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        deadline = time.monotonic() + 10  # the receiver hands batches to the store on its own threads
        while _get(urls["api"], "evaluations")["total"] < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        API_DB["db"] = str(db)
        yield urls["api"]
    finally:
        server.stop()


def _get(api: str, path: str, **params: Any) -> Any:
    answer = requests.get(f"{api}/api/v1/{path}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_every_evaluation_is_stored_with_its_call(api: str) -> None:
    page = _get(api, "evaluations")
    assert page["total"] == 6
    relevance = [item for item in page["items"] if item["name"] == "relevance"]
    assert sorted(item["score"] for item in relevance) == [0.4, 0.8, 0.9]
    assert {item["model"] for item in page["items"]} == {"gpt-4o-mini", "gpt-4o"}
    assert all(item["provider"] == "openai" and item["cost_usd"] > 0 for item in page["items"])
    feedback = [item for item in page["items"] if item["name"] == "user_feedback"]
    assert all(item["label"] == "thumbs_up" and item["response_id"] for item in feedback)


def test_the_explanation_arrives_redacted(api: str) -> None:
    page = _get(api, "evaluations", name="relevance")
    assert page["total"] == 3
    for item in page["items"]:
        assert SECRET not in item["explanation"] and SECRET[:16] not in item["explanation"]
        assert item["explanation"].startswith("leaked ") and item["explanation"].endswith(" here")


def test_filters_and_pages(api: str) -> None:
    assert _get(api, "evaluations", model="gpt-4o")["total"] == 2
    page = _get(api, "evaluations", name="relevance", model="gpt-4o-mini", limit=1)
    assert (page["total"], len(page["items"]), page["has_more"]) == (2, 1, True)
    second = _get(api, "evaluations", name="relevance", model="gpt-4o-mini", limit=1, offset=1)
    assert second["items"][0]["time_ns"] <= page["items"][0]["time_ns"] and not second["has_more"]


def test_summary_and_cost_per_good_answer(api: str) -> None:
    summary = _get(api, "evaluations/summary", name="relevance", threshold=0.7)
    groups = {group["model"]: group for group in summary["groups"]}
    mini = groups["gpt-4o-mini"]
    assert (mini["evaluations"], mini["good"]) == (2, 1)
    assert mini["mean_score"] == pytest.approx(0.65)
    assert mini["cost_per_good_answer_usd"] == pytest.approx(mini["cost_usd"] / 1)
    assert groups["gpt-4o"]["good"] == 1
    strict = _get(api, "evaluations/summary", name="relevance", threshold=0.95)
    assert all(group["cost_per_good_answer_usd"] is None for group in strict["groups"])


def _report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "otel-ai"), "report", "evals", "--db", API_DB["db"], *args],
                          capture_output=True, text=True, timeout=60)


def test_report_evals_table_json_and_csv(api: str) -> None:
    table = _report("--name", "relevance")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert "score >= 0.7" in lines[0] and lines[1].split()[:3] == ["evaluation", "model", "task_type"]
    mini = next(line for line in lines if "gpt-4o-mini" in line).split()
    assert mini[:6] == ["relevance", "gpt-4o-mini", "(none)", "2", "0.65", "1"]
    as_json = json.loads(_report("--format", "json", "--threshold", "0.85").stdout)
    assert as_json == _get(api, "evaluations/summary", threshold=0.85)
    feedback = _report("--format", "csv", "--name", "user_feedback", "--good-label", "thumbs_up").stdout.splitlines()
    assert feedback[0].startswith("evaluation,model,task_type") and len(feedback) == 3
    good = {row.split(",")[1]: row.split(",")[5] for row in feedback[1:]}
    assert good == {"gpt-4o-mini": "2", "gpt-4o": "1"}  # one thumbs-up per call


def test_dashboard_page_shows_the_summary(api: str, request: pytest.FixtureRequest) -> None:
    pytest.importorskip("playwright")
    from tests.serve import test_web

    if not Path(test_web.CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {test_web.CHROMIUM}")
    from playwright.sync_api import sync_playwright

    summary = _get(api, "evaluations/summary")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=test_web.CHROMIUM, headless=True,
                                              args=test_web.CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(api + "/evaluations")
            page.wait_for_selector("body[data-ready='1']", timeout=10_000)
            rows = page.locator("#evaluation-groups tbody tr")
            assert rows.count() == len(summary["groups"]) == 4
            for i, group in enumerate(summary["groups"]):
                row = rows.nth(i)
                assert row.get_attribute("data-name") == group["name"]
                assert row.locator(".good").inner_text() == str(group["good"])
            assert page.locator("#recent-evaluations tbody tr").count() == 6
            assert problems == []
        finally:
            chromium.close()
