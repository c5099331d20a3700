"""The conversations view, the per-user budgets and the evaluations per conversation in a real browser.

An app under `opentelemetry-instrument` (the real openai client against the simulator) talks in 30
conversations with three users (one call failing, one outside any conversation) and evaluates two answers;
it exports over OTLP/HTTP to `otel-ai serve`, whose budgets include a per-user and a per-conversation one
(`"*"`). Playwright drives Debian's Chromium (tests/serve/test_web.py; skipped without it unless
OTEL_AI_REQUIRE_BROWSER=1): every page renders with no console error, failed request or CSP violation, shows
what the API answers, and the API answers the sums of the exported spans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from otel_ai.serve.access import Access
from otel_ai.serve.server import LocalServer, ServeConfig
from tests.serve.test_web import Tab, browser, tab  # noqa: F401  (fixtures)
from tests.serve.test_web_security import WATCH_CSP, violations
from tests.support.console_spans import exported_spans

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "conv-t0ken-0123456789abcdef0123"
BULK = 27  # conversations of carol, one call each: with conv-a, conv-b and conv-c, past one page of 25

APP = f"""
import openai, otel_ai
from otel_ai.testing.simulator import OpenAISimulator
with OpenAISimulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test-conv0123456789abcdef0123", max_retries=0)
    ask = lambda q, model="gpt-4o-mini", **kw: client.chat.completions.create(
        model=model, messages=[{{"role": "user", "content": q}}], **kw)
    for n in range({BULK}):
        with otel_ai.conversation(id=f"bulk-{{n:02d}}", user="carol"):
            ask("hello " * (n + 1))
    with otel_ai.conversation(id="conv-a", user="alice"):
        for q in ("one", "two two", "three three three"):
            ask(q, model="gpt-4o")
        otel_ai.evaluate("relevance", 0.9, "pass", "on topic")
    with otel_ai.conversation(id="conv-b", user="bob"):
        ask("hello")
        try:
            ask("again", extra_headers={{"x-simulator-scenario": "rate_limit"}})
        except openai.RateLimitError:
            pass
        otel_ai.evaluate("relevance", 0.3, "fail")
    with otel_ai.conversation(id="conv-c", user="alice"):
        ask("last words")
    ask("outside")
"""
LIMIT = 0.0001  # USD a day per user, and per conversation: alice and conv-a go over it
BUDGETS = [
    {"name": "per-user", "scope": {"user": "*"}, "limit_usd": LIMIT, "period": "day", "action": "alert"},
    {"name": "per-conversation", "scope": {"conversation": "*"}, "limit_usd": LIMIT, "period": "day",
     "action": "alert"},
]
CALLS = BULK + 3 + 2 + 1 + 1


def _serve(db: Path, access: Access) -> LocalServer:
    return LocalServer(ServeConfig(db=str(db), access=access, port=0, otlp_http_port=0, otlp_grpc_port=0,
                                   shutdown_grace_s=2)).start()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[dict[str, Any]]]]:
    tmp = tmp_path_factory.mktemp("web-conv")
    db = tmp / "conv.db"
    (tmp / "app.py").write_text(APP)
    with pytest.MonkeyPatch.context() as patch:  # the server reads its budgets from the environment
        patch.setenv("OTEL_AI_SERVE_BUDGETS", json.dumps(BUDGETS))
        server = _serve(db, Access.for_bind("127.0.0.1"))
    try:
        urls = server.urls()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
        env.update(OTEL_SERVICE_NAME="conv-web-app", OTEL_EXPORTER_OTLP_ENDPOINT=urls["otlp_http"],
                   OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_TRACES_EXPORTER="otlp,console",
                   OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="otlp", OTEL_BSP_SCHEDULE_DELAY="100")
        result = subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, str(tmp / "app.py")],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stderr[-3000:]
        spans = [s for s in exported_spans(result.stdout) if "gen_ai.operation.name" in s["attributes"]]
        assert len(spans) == CALLS
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if (_api(urls["api"], "summary")["calls"] == CALLS
                    and _api(urls["api"], "evaluations")["total"] == 2):
                break
            time.sleep(0.1)
        yield urls["api"], db, spans
    finally:
        server.stop()


def _api(url: str, path: str, **params: Any) -> Any:
    response = requests.get(f"{url}/api/v1/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _sums(spans: list[dict[str, Any]], key: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"cost": 0.0, "calls": 0, "errors": 0})
    for span in spans:
        a = span["attributes"]
        if a.get(key):
            out[a[key]]["cost"] += a.get("otel_ai.cost.usd", 0.0)
            out[a[key]]["calls"] += 1
            out[a[key]]["errors"] += span["status"]["status_code"] == "ERROR"
    return out


def _open(tab: Tab, url: str) -> Any:  # noqa: F811
    if not getattr(tab, "_csp", False):
        tab.page.add_init_script(WATCH_CSP)
        tab._csp = True  # type: ignore[attr-defined]
    page = tab.open(url)
    assert violations(page) == [], url
    return page


def _rows(page: Any, selector: str, attribute: str) -> list[str]:
    rows = page.locator(selector)
    return [rows.nth(i).get_attribute(attribute) for i in range(rows.count())]


# -- the API against the exported spans --------------------------------------------------------------------------


def test_the_api_sorts_and_pages_conversations_and_users(served: Any) -> None:
    api, _, spans = served
    sums = _sums(spans, "gen_ai.conversation.id")
    assert len(sums) == BULK + 3
    by_cost = _api(api, "conversations", sort="cost", limit=1000)["items"]
    assert [c["conversation_id"] for c in by_cost] == sorted(sums, key=lambda c: (-sums[c]["cost"], c))
    for item in by_cost:
        assert item["cost_usd"] == pytest.approx(sums[item["conversation_id"]]["cost"])
    assert _api(api, "conversations", sort="errors", limit=1)["items"][0]["conversation_id"] == "conv-b"
    assert _api(api, "conversations", sort="calls", limit=1)["items"][0]["conversation_id"] == "conv-a"
    pages = [_api(api, "conversations", limit=25, offset=o) for o in (0, 25)]
    assert (pages[0]["total"], pages[0]["has_more"]) == (30, True)
    assert (len(pages[1]["items"]), pages[1]["has_more"]) == (5, False)
    users = _sums(spans, "user.id")
    assert [u["user"] for u in _api(api, "users", sort="calls")["items"]] == ["carol", "alice", "bob"]
    assert {u["user"]: u["cost_usd"] for u in _api(api, "users")["items"]} == pytest.approx(
        {u: s["cost"] for u, s in users.items()})
    bad = requests.get(f"{api}/api/v1/conversations", params={"sort": "nope"}, timeout=10)
    assert bad.status_code == 422


def test_per_value_budgets_show_the_top_spenders(served: Any) -> None:
    api, _, spans = served
    answer = _api(api, "budgets", top=3)
    states = {b["name"]: b for b in answer["budgets"]}
    for name, key in (("per-user", "user.id"), ("per-conversation", "gen_ai.conversation.id")):
        sums = _sums(spans, key)
        ranked = sorted(sums, key=lambda v: (-sums[v]["cost"], v))
        per_value = states[name]["per_value"]
        short = "user" if key == "user.id" else "conversation"
        assert [v["values"] for v in per_value["top"]] == [{short: v} for v in ranked[:3]]
        for value in per_value["top"]:
            spent = sums[value["values"][short]]["cost"]
            assert value["spent_usd"] == pytest.approx(spent) and value["fraction"] == pytest.approx(spent / LIMIT)
            warn = min(states[name]["warn_at"]) * LIMIT
            assert value["status"] == ("exceeded" if spent >= LIMIT else "warning" if spent >= warn else "ok")
        assert per_value["values"] == len(sums)
        assert per_value["exceeded"] == sum(s["cost"] >= LIMIT for s in sums.values()) >= 1
        assert per_value["top"][0]["status"] == states[name]["status"] == "exceeded"
        assert states[name]["spent_usd"] == pytest.approx(sums[ranked[0]]["cost"])  # the top spender's
    assert len(_api(api, "budgets")["budgets"][0]["per_value"]["top"]) == 3  # all three users (default top 10)


# -- the dashboard ------------------------------------------------------------------------------------------------


def test_the_conversation_list_sorts_and_pages(tab: Tab, served: Any) -> None:  # noqa: F811
    api, _, spans = served
    page = _open(tab, api + "/conversations")
    tab.shot("conversations")
    expected = _api(api, "conversations", limit=25)
    assert _rows(page, "#conversations tbody tr", "data-conversation") == [
        c["conversation_id"] for c in expected["items"]]
    assert tab.text("#range") == "1\u201325 of 30"
    sums = _sums(spans, "gen_ai.conversation.id")
    row = page.locator("#conversations tr[data-conversation='conv-b']")
    assert row.locator(".calls").inner_text() == "2" and row.locator(".errors").inner_text() == "1"
    assert float(row.locator(".cost").get_attribute("data-value")) == pytest.approx(sums["conv-b"]["cost"])
    assert row.locator(".user").inner_text() == "bob"
    # sorted by a column header: the API's order, in the address for a reload
    page.click("th button[data-sort='cost']")
    tab.wait()
    by_cost = _api(api, "conversations", sort="cost", limit=25)["items"]
    assert _rows(page, "#conversations tbody tr", "data-conversation") == [c["conversation_id"] for c in by_cost]
    assert "sort=cost" in page.url
    assert page.locator("th[aria-sort='descending'] button").get_attribute("data-sort") == "cost"
    page.click("th button[data-sort='errors']")
    tab.wait()
    assert _rows(page, "#conversations tbody tr", "data-conversation")[0] == "conv-b"
    # the next page
    page.click("#next")
    tab.wait()
    second = _api(api, "conversations", sort="errors", limit=25, offset=25)["items"]
    assert _rows(page, "#conversations tbody tr", "data-conversation") == [c["conversation_id"] for c in second]
    assert tab.text("#range") == "26\u201330 of 30" and page.locator("#next").is_disabled()
    page.reload()  # the state is in the address
    tab.wait()
    assert _rows(page, "#conversations tbody tr", "data-conversation") == [c["conversation_id"] for c in second]
    tab.assert_clean()


def test_per_user_and_one_users_conversations(tab: Tab, served: Any) -> None:  # noqa: F811
    api, _, _ = served
    page = _open(tab, api + "/conversations?view=users")
    tab.shot("conversation-users")
    assert _rows(page, "#users tbody tr", "data-user") == [u["user"] for u in _api(api, "users")["items"]]
    alice = page.locator("#users tr[data-user='alice']")
    assert alice.locator(".conversations").inner_text() == "2" and alice.locator(".calls").inner_text() == "4"
    page.click("#users tr[data-user='alice'] a")
    tab.wait()
    assert _rows(page, "#conversations tbody tr", "data-conversation") == ["conv-c", "conv-a"]
    assert "alice" in tab.text("#user-filter")
    tab.assert_clean()


def test_one_conversation_is_its_turns_in_order_with_their_traces(tab: Tab, served: Any) -> None:  # noqa: F811
    api, _, _ = served
    detail = _api(api, "conversations/conv-b")
    page = _open(tab, api + "/conversations/conv-b")
    tab.shot("conversation")
    assert tab.text("#conversation-id") == "conv-b"
    assert tab.value("#turns-total") == 2 and tab.value("#conversation-errors") == 1
    assert tab.value("#conversation-cost") == pytest.approx(detail["cost_usd"])
    rows = page.locator("#turns tbody tr")
    assert rows.count() == 2
    for i, turn in enumerate(detail["turns"]):
        row = rows.nth(i)
        assert row.get_attribute("data-span-id") == turn["span_id"]
        assert row.get_attribute("data-outcome") == turn["outcome"]
        assert float(row.locator(".latency").get_attribute("data-value")) == pytest.approx(turn["latency_ms"])
        assert int(row.locator(".tokens").get_attribute("data-value")) == turn["input_tokens"] + turn["output_tokens"]
        assert row.locator(".model").inner_text().startswith("gpt-4o-mini")
    assert rows.nth(1).locator(".outcome").inner_text() == "rate_limit"
    assert page.locator("#conversation-evaluations tbody tr").count() == 1
    # the turn's trace opens its trace view
    page.click("#turns tbody tr:nth-child(2) .trace-link")
    tab.wait()
    assert page.url.endswith("/traces/" + detail["turns"][1]["trace_id"])
    assert page.locator("#waterfall .wf-row.span").count() >= 1
    _open(tab, api + "/conversations/no-such-conversation")
    assert "No call of this conversation" in tab.text(".empty strong")
    tab.problems = [p for p in tab.problems if "/api/v1/conversations/no-such-conversation" not in p]
    tab.assert_clean()


def test_the_budgets_panel_lists_each_users_spend(tab: Tab, served: Any) -> None:  # noqa: F811
    api, _, _ = served
    page = _open(tab, api + "/costs")
    tab.shot("costs-per-value-budgets")
    answer = {b["name"]: b for b in _api(api, "budgets")["budgets"]}
    for name in ("per-user", "per-conversation"):
        per_value = answer[name]["per_value"]
        rows = page.locator(f"tr[data-per-value='{name}'] .budget-values tr")
        assert rows.count() == len(per_value["top"])
        for i, value in enumerate(per_value["top"]):
            row = rows.nth(i)
            assert row.get_attribute("data-value") == next(iter(value["values"].values()))
            assert row.get_attribute("data-status") == value["status"]
            assert float(row.locator(".spent").get_attribute("data-value")) == pytest.approx(value["spent_usd"])
        note = tab.text(f"tr[data-per-value='{name}'] .per-value-note")
        assert f"{per_value['values']} this period, {per_value['exceeded']} at or over it" in note
    page.click("tr[data-per-value='per-user'] .budget-values tr[data-value='bob'] a")
    tab.wait()
    assert _rows(page, "#conversations tbody tr", "data-conversation") == ["conv-b"]
    tab.assert_clean()


def test_evaluations_per_conversation(tab: Tab, served: Any) -> None:  # noqa: F811
    api, _, _ = served
    page = _open(tab, api + "/evaluations")
    tab.shot("evaluations-per-conversation")
    summary = _api(api, "evaluations/summary", group_by="conversation")
    assert _rows(page, "#evaluation-conversations tbody tr", "data-conversation") == [
        g["conversation_id"] for g in summary["groups"]] == ["conv-a", "conv-b"]
    per_good = page.locator("#evaluation-conversations tr[data-conversation='conv-a'] .per-good")
    conv_a = _api(api, "evaluations", conversation="conv-a")["items"]
    assert [e["name"] for e in conv_a] == ["relevance"]
    assert float(per_good.get_attribute("data-value")) == pytest.approx(conv_a[0]["cost_usd"])
    assert page.locator("#evaluation-conversations tr[data-conversation='conv-b'] .per-good").inner_text() == "\u2013"
    page.click("#evaluation-conversations tr[data-conversation='conv-b'] a")
    tab.wait()
    assert "conversation=conv-b" in page.url
    assert _rows(page, "#recent-evaluations tbody tr", "data-name") == ["relevance"]
    assert tab.value("#evaluations-total") == 1
    tab.assert_clean()


def test_report_evals_per_conversation(served: Any) -> None:
    _, db, _ = served
    run = [str(BIN / "otel-ai"), "report", "evals", "--db", str(db)]
    rows = subprocess.run([*run, "--format", "csv", "--group-by", "conversation"], capture_output=True, text=True,
                          timeout=60, check=True).stdout.splitlines()
    assert rows[0].startswith("evaluation,conversation,evaluations,mean_score,good,")
    assert [r.split(",")[:5] for r in rows[1:]] == [["relevance", "conv-a", "1", "0.9", "1"],
                                                   ["relevance", "conv-b", "1", "0.3", "0"]]
    only = json.loads(subprocess.run([*run, "--format", "json", "--conversation", "conv-b"], capture_output=True,
                                     text=True, timeout=60, check=True).stdout)
    assert [(g["model"], g["good"]) for g in only["groups"]] == [("gpt-4o-mini", 0)]
    table = subprocess.run([*run, "--group-by", "model", "--group-by", "conversation"], capture_output=True,
                           text=True, timeout=60, check=True).stdout
    assert "conv-a" in table and "gpt-4o " in table


def test_the_conversations_view_behind_a_token(tab: Tab, served: Any) -> None:  # noqa: F811
    _, db, _ = served
    server = _serve(db, Access.for_bind("127.0.0.1", token=TOKEN))
    try:
        url = server.urls()["api"]
        assert requests.get(f"{url}/api/v1/conversations", timeout=10).status_code == 401
        page = tab.page
        page.goto(url + "/conversations/conv-a")
        assert page.locator("#login-form").count() == 1
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        tab.wait()
        assert page.url == url + "/conversations/conv-a" and tab.value("#turns-total") == 3
        tab.problems = [p for p in tab.problems if "401" not in p]
        tab.assert_clean()
    finally:
        server.stop()
