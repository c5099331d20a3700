"""The budget section of the dashboard's costs page, in a real browser (Playwright driving Debian's Chromium).

`otel-ai serve` runs over a store holding this month's calls, with three budgets in OTEL_AI_SERVE_BUDGETS: one
under its warnings, one past a warning, one over its limit. The page must load cleanly and show for each budget
the spend, limit and status that `/api/v1/budgets` answers; a server without budgets says how to declare them.
The fixtures follow tests/serve/test_web.py (same browser requirements: OTEL_AI_REQUIRE_BROWSER=1 makes a
missing browser a failure).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from tests.serve.test_web import Site, Tab, _serve, browser, tab  # noqa: F401  (fixtures)

BUDGETS = [
    {"name": "calm", "scope": {"provider": "openai"}, "period": "month", "limit_usd": 100.0,
     "timezone": "Europe/Paris"},
    {"name": "watch", "scope": {"model": "gpt-4o-mini"}, "period": "month", "limit_usd": 1.2, "warn_at": [0.5]},
    {"name": "over", "scope": {"service": "checkout"}, "period": "month", "limit_usd": 0.5, "action": "block"},
]


def _fill(db: Path) -> None:
    """Six calls this month (1 USD, gpt-4o-mini, service checkout) and two others (0.25 USD, gpt-4o, service api)."""
    from sqlalchemy import insert

    from otel_ai.serve.store import open_store, schema

    now = datetime.now(timezone.utc)
    moment = max(now - timedelta(minutes=30), now.replace(day=1, hour=0, minute=0, second=0, microsecond=0))
    rows = []
    calls = [("gpt-4o-mini", "checkout", 1 / 6)] * 6 + [("gpt-4o", "api", 0.125)] * 2
    for i, (model, service, cost) in enumerate(calls):
        rows.append({
            "trace_id": f"{i + 1:032x}", "span_id": f"{i + 1:016x}", "start_ns": int(moment.timestamp() * 1e9) + i,
            "duration_ns": 10**8, "duration_bucket": 0, "service": service, "provider": "openai", "operation": "chat",
            "model": model, "task_type": "", "input_tokens": 10, "output_tokens": 10, "characters": 0, "cost_usd": cost,
            "outcome": "ok", "error_category": "", "error_type": "",
        })
    with open_store(str(db)) as store:
        with store.engine.begin() as connection:
            connection.execute(insert(schema.genai_calls), rows)
        store.rebuild_aggregates()


@pytest.fixture
def budget_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("OTEL_AI_SERVE_BUDGETS", json.dumps([*BUDGETS, {"name": "broken", "limit_usd": -1}]))
    _fill(tmp_path / "budgets.db")
    yield from _serve(tmp_path / "budgets.db")


@pytest.fixture
def plain_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("OTEL_AI_SERVE_BUDGETS", raising=False)
    monkeypatch.delenv("OTEL_AI_BUDGETS", raising=False)
    _fill(tmp_path / "plain.db")
    yield from _serve(tmp_path / "plain.db")


def test_the_costs_page_shows_each_budgets_spend_limit_and_status(tab: Tab, budget_site: Site) -> None:  # noqa: F811
    report: dict[str, Any] = budget_site.api("/budgets")
    by_name = {b["name"]: b for b in report["budgets"]}
    assert {n: b["status"] for n, b in by_name.items()} == {"calm": "ok", "watch": "warning", "over": "exceeded"}
    assert by_name["calm"]["spent_usd"] in (pytest.approx(1.25), 0.0)  # 0: Paris's month may have begun already
    assert by_name["watch"]["spent_usd"] == pytest.approx(1.0) and by_name["over"]["spent_usd"] == pytest.approx(1.0)
    assert len(report["problems"]) == 1 and "OTEL_AI_SERVE_BUDGETS: entry 4 ('broken')" in report["problems"][0]

    page = tab.open(budget_site.url + "/costs")
    tab.shot("costs-budgets")
    tab.assert_clean()
    rows = page.locator("#budgets tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).get_attribute("data-budget") for i in range(3)] == ["calm", "watch", "over"]
    for name, budget in by_name.items():
        row = f"#budgets tr[data-budget='{name}']"
        assert tab.value(f"{row} .spent") == pytest.approx(budget["spent_usd"], rel=1e-12)
        assert tab.value(f"{row} .limit") == budget["limit_usd"]
        assert tab.text(f"{row} .status") == budget["status"]
        shown = tab.text(f"{row} .fraction")
        assert shown.endswith("%") and float(shown[:-1]) == pytest.approx(budget["fraction"] * 100, abs=0.051)
    assert "model=gpt-4o-mini" in tab.text("#budgets tr[data-budget='watch']")
    assert "Europe/Paris" in tab.text("#budgets tr[data-budget='calm']")
    assert "entry 4 ('broken')" in tab.text(".budget-problems")


def test_a_server_without_budgets_says_how_to_declare_them(tab: Tab, plain_site: Site) -> None:  # noqa: F811
    report = plain_site.api("/budgets")
    assert (report["budgets"], report["source"], report["problems"]) == ([], None, [])
    tab.open(plain_site.url + "/costs")
    tab.assert_clean()
    assert "OTEL_AI_SERVE_BUDGETS" in tab.text("#no-budgets")
