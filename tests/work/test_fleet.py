"""Fleet budgets: the spend of every process, counted from a real `otel-ai serve` store.

* Two instrumented processes (tests/work/fleet_app.py) export to one `otel-ai serve` and spend into one
  block budget: the second process is blocked once the two together reach the limit, which it alone
  would not; `/api/v1/budgets` shows the fleet's spend and status.
* The store query sums roll-ups and raw rows exactly, and a model scope matches dated snapshots only.
* A server that does not answer: one warning line, in-process numbers (fail-open), fleet again once it does.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

import otel_ai.budgets as B
from otel_ai.budgets.fleet import FleetRefresher
from otel_ai.genai import hooks as calls
from otel_ai.notify import notification as notify
from otel_ai.serve.server import LocalServer, ServeConfig
from tests.conftest import Telemetry

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("fleet_app.py")
MESSAGES = [{"role": "user", "content": "fleet call"}]  # the same words as fleet_app.py: the same cost


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _one_call_cost(client: Any, telemetry: Telemetry) -> float:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    cost = float(telemetry.one_genai_span().attributes["otel_ai.cost.usd"])
    assert cost > 0
    return cost


def _run_app(env: dict[str, str], base_url: str, count: int, service: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(APP), base_url, str(count)], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**env, "OTEL_SERVICE_NAME": service},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_two_processes_spend_into_one_fleet_budget_through_otel_ai_serve(
    client: Any, sim: Any, telemetry: Telemetry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cost = _one_call_cost(client, telemetry)
    limit = 4.5 * cost  # A's 3 calls alone: 67%; with B's first two: over the limit
    declared = json.dumps([{"name": "fleet", "scope": {"provider": "openai", "model": "gpt-4o-mini"},
                            "period": "day", "limit_usd": limit, "warn_at": [0.5], "action": "block"}])
    monkeypatch.setenv("OTEL_AI_SERVE_BUDGETS", declared)  # what the server shows at /api/v1/budgets
    server = LocalServer(ServeConfig(db=str(tmp_path / "fleet.db"), port=0, otlp_http_port=0, otlp_grpc_port=0,
                                     shutdown_grace_s=2)).start()
    try:
        urls = server.urls()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
        env.update({
            "OTEL_AI_BUDGETS": declared,
            "OTEL_AI_BUDGET_SERVER": urls["api"],
            "OTEL_AI_BUDGET_SERVER_TTL": "0.2",
            "OTEL_EXPORTER_OTLP_ENDPOINT": urls["otlp_http"],
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "httpx,requests,urllib3,fastapi",
        })
        first = _run_app(env, sim.base_url, 3, "fleet-a")
        assert first["outcomes"] == ["sent"] * 3
        assert [(n["severity"], n["threshold"]) for n in first["notices"]] == [("warning", 0.5)]
        assert first["local_usd"] == pytest.approx(3 * cost)

        second = _run_app(env, sim.base_url, 4, "fleet-b")
        # B starts from A's 3 calls (from the store): its 2nd call reaches the limit, the rest are blocked.
        assert second["outcomes"] == ["sent", "sent", "blocked", "blocked"]
        assert second["local_usd"] == pytest.approx(2 * cost)  # alone it would be under the limit
        assert second["fleet"] is True and second["spent_usd"] == pytest.approx(5 * cost)
        assert [(n["severity"], n["threshold"], n["service"]) for n in second["notices"]] == [
            ("warning", 0.5, "fleet-b"), ("critical", 1.0, "fleet-b")]

        report = _get(f"{urls['api']}/api/v1/budgets")
        (state,) = report["budgets"]
        assert report["source"] == "OTEL_AI_SERVE_BUDGETS" and report["problems"] == []
        # calls: the 5 sent and the 2 blocked (stored as failed calls that cost nothing)
        assert (state["name"], state["status"], state["action"], state["calls"]) == ("fleet", "exceeded", "block", 7)
        assert state["spent_usd"] == pytest.approx(5 * cost) and state["fraction"] == pytest.approx(5 / 4.5)
        assert state["period_start"].startswith(datetime.now(timezone.utc).date().isoformat())
        spend = _get(f"{urls['api']}/api/v1/budgets/spend?since=1d&provider=openai&service=fleet-a")
        assert spend["calls"] == 3 and spend["spent_usd"] == pytest.approx(3 * cost)
    finally:
        server.stop()


def test_the_store_sums_roll_ups_and_edges_exactly_and_matches_dated_model_snapshots(tmp_path: Path) -> None:
    from sqlalchemy import insert

    from otel_ai.serve.store import open_store, schema
    from otel_ai.serve.store.budgets import spend

    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    models = ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o", "gpt-4o-mini-tts", "gpt_4o-mini"]
    rows = []
    for i in range(24 * 12):  # every 37 minutes over ~7 days: whole days, whole hours and minutes at both ends
        moment = start + timedelta(minutes=37 * i)
        rows.append({
            "trace_id": f"{i:032x}", "span_id": f"{i:016x}", "start_ns": int(moment.timestamp()) * 10**9,
            "duration_ns": 10**6, "duration_bucket": 0, "service": "svc" if i % 2 else "other", "provider": "openai",
            "operation": "chat", "model": models[i % len(models)], "task_type": "", "input_tokens": 1,
            "output_tokens": 1, "characters": 0, "cost_usd": 0.001 * (i % 7 + 1), "outcome": "ok",
            "error_category": "", "error_type": "",
        })
    with open_store(str(tmp_path / "s.db")) as store:
        with store.engine.begin() as connection:
            connection.execute(insert(schema.genai_calls), rows)
        store.rebuild_aggregates()
        since, until = start + timedelta(hours=5, minutes=13), start + timedelta(days=6, hours=2, minutes=41)

        def expected(match: Any) -> float:
            lo, hi = int(since.timestamp()) * 10**9, int(until.timestamp()) * 10**9
            return sum(r["cost_usd"] for r in rows if lo <= r["start_ns"] < hi and match(r))

        got = spend(store, since, until)
        assert got["spent_usd"] == pytest.approx(expected(lambda r: True), rel=1e-12)
        got = spend(store, since, until, scope={"model": "gpt-4o-mini", "service": "svc"})
        assert got["spent_usd"] == pytest.approx(expected(
            lambda r: r["model"] in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18") and r["service"] == "svc"), rel=1e-12)
        got = spend(store, since, scope={"model": "gpt-4o"})  # not gpt-4o-mini-…: only gpt-4o itself
        since_ns = since.timestamp() * 1e9
        assert got["calls"] == sum(1 for r in rows if r["model"] == "gpt-4o" and r["start_ns"] >= since_ns)
        assert spend(store, since, scope={"model": "gpt%4o"})["calls"] == 0  # LIKE wildcards are literal


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_warns_once_and_budgets_count_locally_until_it_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, notices: list[notify.Notification],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    tracker = B.BudgetTracker([B.Budget("fleet", 1.0, action="block")], service="svc")
    down = FleetRefresher(tracker, f"http://127.0.0.1:{_closed_port()}", ttl_s=0.1)
    facts = calls.CallFacts(calls.CallScope("openai", "chat", "m", None), 0.3, 1, 1, 0, False)
    tracker.on_call(facts)
    assert down.refresh() is False and down.refresh() is False and down.refresh() is False
    # The agent's own warning: one stderr line (not a log record the OTLP handler would drop), counted.
    warnings = [line for line in capsys.readouterr().err.splitlines() if "did not answer" in line]
    assert len(warnings) == 1 and "count this process's spend only" in warnings[0]
    assert warnings[0].startswith("otel-ai: budget server")
    assert agent_warnings.counts() == {"budget.server_unreachable": 1}
    (status,) = tracker.statuses()
    assert status.spent_usd == pytest.approx(0.3) and status.fleet is False
    tracker.gate(facts.scope)  # fail-open: local numbers decide

    server = LocalServer(ServeConfig(db=str(tmp_path / "up.db"), port=0, otlp_http_port=0, otlp_grpc_port=0,
                                     shutdown_grace_s=2)).start()
    try:
        up = FleetRefresher(tracker, server.urls()["api"], ttl_s=0.1)
        up.failing = True  # as if it had failed before
        with caplog.at_level(logging.INFO, logger="otel_ai"):
            assert up.refresh() is True
        assert any("answers again" in r.getMessage() for r in caplog.records)
        (status,) = tracker.statuses()
        # The empty store knows none of this process's calls yet: never less than the local spend.
        assert status.fleet is True and status.spent_usd == pytest.approx(0.3)
        up.start()
        assert up.wait_for_refresh(3, 10)
        up.stop()
    finally:
        server.stop()


def test_fleet_spend_is_the_server_figure_plus_local_spend_since_and_a_stale_answer_is_ignored(
    notices: list[notify.Notification],
) -> None:
    clock = [datetime(2026, 3, 10, 12, tzinfo=timezone.utc).timestamp()]
    tracker = B.BudgetTracker([B.Budget("fleet", 1.0, warn_at=(0.5,), action="block")], clock=lambda: clock[0])
    facts = calls.CallFacts(calls.CallScope("openai", "chat", "m", None), 0.1, 1, 1, 0, False)
    tracker.on_call(facts)
    ((_, start, local),) = tracker.local_snapshot()
    tracker.apply_fleet("fleet", start, 0.55, local)  # other processes spent 0.45
    assert [n.severity for n in notices] == ["warning"]  # the crossing came from the fleet
    tracker.on_call(facts)
    tracker.on_call(facts)
    assert tracker.statuses()[0].spent_usd == pytest.approx(0.75)
    tracker.apply_fleet("fleet", start, 0.95, local)  # a later answer, asked at the same local spend
    assert tracker.statuses()[0].spent_usd == pytest.approx(1.15) and [n.severity for n in notices][-1] == "critical"
    with pytest.raises(Exception, match="budget 'fleet' is exhausted"):
        tracker.gate(facts.scope)
    clock[0] += 86400  # a new day: the old period's answer does not count
    tracker.apply_fleet("fleet", start, 5.0, 0.0)
    assert tracker.statuses()[0].spent_usd == 0.0
    tracker.gate(facts.scope)
    assert len(notices) == 2
