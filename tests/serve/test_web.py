"""The web dashboard (`otel_ai/serve/web`) in a real browser: Playwright driving Debian's Chromium.

`otel-ai serve` (LocalServer, every port free) runs over a store filled with the real agent's spans (the
data set of tests/serve/test_api.py), and a second one over an empty store. Each page must load with no
console error, no failed request and no error banner; the numbers shown must equal what the JSON API
answers; the trace view must show the span tree; the trace list's filters must select what the API
selects; an empty store must say so. Screenshots go under the test's tmp dir, and also to
$OTEL_AI_ARTIFACTS when set.

Chromium comes from Debian (`apt-get install -y chromium`; scripts/test.sh installs it); Playwright's own
browser download is not used. Without it (or without the playwright package) these tests are skipped,
unless OTEL_AI_REQUIRE_BROWSER=1 (then they fail).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from otel_ai.serve.server import LocalServer, ServeConfig
from tests.serve.test_api import Dataset, build_dataset_with_default_settings

CHROMIUM = os.environ.get("OTEL_AI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PAGES = ("/", "/traces", "/costs", "/errors", "/evaluations", "/conversations")


def _missing(message: str) -> None:
    if os.environ.get("OTEL_AI_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


# -- servers, browser, pages ------------------------------------------------------------------------------------


@dataclass
class Site:
    url: str

    def api(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1{path}" + (f"?{query}" if query else ""), timeout=10) as r:
            return json.loads(r.read())


def _serve(db: Path) -> Iterator[Site]:
    server = LocalServer(ServeConfig(db=str(db), port=0, otlp_http_port=0, otlp_grpc_port=0,
                                     shutdown_grace_s=2)).start()
    try:
        yield Site(server.urls()["api"])
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return build_dataset_with_default_settings(tmp_path_factory.mktemp("serve-web"))


@pytest.fixture(scope="module")
def site(dataset: Dataset) -> Iterator[Site]:
    yield from _serve(dataset.db_path)


@pytest.fixture(scope="module")
def empty_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from _serve(tmp_path_factory.mktemp("serve-web-empty") / "empty.db")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install 'otel-ai[test]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """A page with everything that went wrong in it recorded: console errors, uncaught exceptions, failed
    requests and HTTP errors."""

    page: Any
    shots: Path
    problems: list[str] = field(default_factory=list)

    def open(self, url: str, *, ready: str = "1") -> Any:
        self.page.goto(url)
        return self.wait(ready)

    def wait(self, ready: str = "1") -> Any:
        self.page.wait_for_selector(f"body[data-ready='{ready}']", timeout=10_000)
        return self.page

    def shot(self, name: str) -> None:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        artifacts = os.environ.get("OTEL_AI_ARTIFACTS")
        if artifacts:
            Path(artifacts).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(artifacts) / path.name)

    def text(self, selector: str) -> str:
        return str(self.page.locator(selector).inner_text()).strip()

    def value(self, selector: str) -> float:
        return float(self.page.locator(selector).get_attribute("data-value"))

    def assert_clean(self) -> None:
        assert self.problems == []
        assert self.page.locator(".error-banner").count() == 0


@pytest.fixture
def tab(browser: Any, tmp_path: Path) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    tab = Tab(page, shots)
    page.on("console", lambda m: tab.problems.append(f"console.{m.type}: {m.text} ({m.location.get('url')})")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.problems.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: tab.problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: tab.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    try:
        yield tab
    finally:
        context.close()


def shown_usd(text: str) -> float:
    assert text.startswith("$"), text
    return float(text[1:].replace(",", ""))


def assert_usd(tab: Tab, selector: str, expected: float, rel: float = 1e-12) -> None:
    """The element carries the API's number exactly (data-value) and shows it rounded to 4 significant digits."""
    assert tab.value(selector) == pytest.approx(expected, rel=rel, abs=1e-15)
    assert shown_usd(tab.text(selector)) == pytest.approx(expected, rel=1e-3, abs=5e-3 if expected >= 1 else 1e-12)


# -- the pages --------------------------------------------------------------------------------------------------


def test_overview_shows_the_apis_numbers(tab: Tab, site: Site) -> None:
    summary = site.api("/summary")
    assert summary["calls"] > 0 and summary["errors"] > 0
    page = tab.open(site.url + "/")
    tab.shot("overview")
    tab.assert_clean()
    assert tab.text("#calls") == f"{summary['calls']:,}"
    assert tab.value("#calls") == summary["calls"]
    assert_usd(tab, "#cost-today", summary["cost_today"])
    assert_usd(tab, "#cost-month", summary["cost_this_month"])
    assert_usd(tab, "#cost-range", summary["cost_usd"])
    assert tab.text("#error-rate") == f"{summary['error_rate'] * 100:.1f}%"
    assert tab.value("#p50") == pytest.approx(summary["p50_duration_ms"])
    assert tab.value("#p95") == pytest.approx(summary["p95_duration_ms"])
    # the charts are drawn by Chart.js, served from this process
    drawn = page.evaluate("[...document.querySelectorAll('canvas')].map(c => !!Chart.getChart(c) && c.width > 0)")
    assert drawn == [True] * 4
    for group_by in ("model", "provider", "task_type"):
        costs = site.api("/costs", group_by=group_by)
        rows = page.locator(f"#by-{group_by} tbody tr")
        assert rows.count() == len(costs["groups"])
        for i, group in enumerate(costs["groups"]):
            row = rows.nth(i)
            assert row.get_attribute("data-key") == (group["key"] or "")  # null (not recorded): data-key ""
            assert row.locator(".calls").inner_text() == f"{group['calls']:,}"
            assert float(row.locator(".cost").get_attribute("data-value")) == pytest.approx(group["cost_usd"])
    errors = site.api("/errors")
    top = page.locator("#top-errors tbody tr")
    assert top.count() == min(5, len(errors["categories"]))
    assert top.first.get_attribute("data-category") == errors["categories"][0]["category"]
    assert top.first.locator(".count").inner_text() == str(errors["categories"][0]["count"])


def test_overview_range_follows_the_query_string(tab: Tab, site: Site, dataset: Dataset) -> None:
    today = site.api("/summary", since="1d")
    assert 0 < today["calls"] < site.api("/summary")["calls"]  # the data set's history is three days old
    tab.open(site.url + "/?since=1d")
    tab.assert_clean()
    assert tab.value("#calls") == today["calls"]
    assert_usd(tab, "#cost-range", today["cost_usd"])


def test_trace_list_filters_and_pages(tab: Tab, site: Site, dataset: Dataset) -> None:
    every = site.api("/traces", limit=1000)
    page = tab.open(site.url + "/traces")
    tab.shot("traces")
    rows = page.locator("#traces tbody tr")
    assert rows.count() == min(25, every["total"])
    assert [rows.nth(i).get_attribute("data-trace-id") for i in range(rows.count())] == [
        t["trace_id"] for t in every["items"][:25]]
    assert page.locator("#range").get_attribute("data-total") == str(every["total"])

    # status=error: exactly the API's failed traces
    page.select_option("#f-status", "error")
    tab.wait()
    failed = site.api("/traces", status="error", limit=25)
    assert failed["total"] > 0
    ids = [rows.nth(i).get_attribute("data-trace-id") for i in range(rows.count())]
    assert ids == [t["trace_id"] for t in failed["items"]]
    assert set(ids) <= dataset.error_traces
    assert "status=error" in page.url

    # and service=search on top of it
    page.select_option("#f-service", "search")
    tab.wait()
    both = site.api("/traces", status="error", service="search", limit=25)
    assert rows.count() == len(both["items"]) > 0
    assert {rows.nth(i).get_attribute("data-service") for i in range(rows.count())} == {"search"}
    tab.shot("traces-filtered")

    # paging: the second page of all traces
    page.select_option("#f-status", "")
    tab.wait()
    page.select_option("#f-service", "")
    tab.wait()
    if every["total"] > 25:
        page.click("#next")
        tab.wait()
        assert rows.first.get_attribute("data-trace-id") == every["items"][25]["trace_id"]
        assert "offset=25" in page.url
    # a filter read from the URL on load
    tab.open(site.url + "/traces?model=gpt-4o&status=ok")
    expected = site.api("/traces", model="gpt-4o", status="ok", limit=25)
    assert [rows.nth(i).get_attribute("data-trace-id") for i in range(rows.count())] == [
        t["trace_id"] for t in expected["items"]]
    assert page.locator("#f-model").input_value() == "gpt-4o"
    tab.assert_clean()


def test_trace_view_is_the_tree_with_attributes_and_logs(tab: Tab, site: Site, dataset: Dataset) -> None:
    trace = site.api(f"/traces/{dataset.tree_trace_id}")
    page = tab.open(f"{site.url}/traces/{dataset.tree_trace_id}")
    rows = page.locator("#waterfall .wf-row.span")
    assert rows.count() == len(trace["spans"]) == 3
    shown = [(rows.nth(i).get_attribute("data-span-id"), rows.nth(i).get_attribute("data-parent-id"),
              rows.nth(i).get_attribute("data-depth"), rows.nth(i).locator(".span-name").inner_text())
             for i in range(rows.count())]
    assert shown == [(s["span_id"], s["parent_span_id"] or "", str(s["depth"]), s["name"]) for s in trace["spans"]]
    # FastAPI server span → chat span → its HTTP span: each the parent of the next, indented deeper
    assert [d for _, _, d, _ in shown] == ["0", "1", "2"]
    assert shown[1][1] == shown[0][0] and shown[2][1] == shown[1][0]
    assert shown[0][3] == "POST /chat" and shown[1][3].startswith("chat ")
    indents = [rows.nth(i).locator(".wf-name").evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)")
               for i in range(3)]
    assert indents[0] < indents[1] < indents[2]
    # bars placed by start and duration: a child starts no earlier and ends no later than its parent
    boxes = [rows.nth(i).locator(".wf-bar").bounding_box() for i in range(3)]
    for parent, child in itertools.pairwise(boxes):
        assert child["x"] >= parent["x"] - 1
        assert child["x"] + child["width"] <= parent["x"] + parent["width"] + 1
    assert boxes[0]["width"] > boxes[2]["width"]

    # a click shows the chat span's attributes
    rows.nth(1).click()
    detail = page.locator("#span-detail")
    assert detail.get_attribute("data-span-id") == shown[1][0]
    chat = trace["spans"][1]
    attributes = page.locator("#span-attributes tr")
    assert attributes.count() == len(chat["attributes"])
    assert page.locator("#span-attributes tr[data-key='gen_ai.request.model'] td").nth(1).inner_text() == "gpt-4o-mini"
    assert_usd(tab, "#trace-cost", trace["cost_usd"])
    # the trace's logs
    bodies = [page.locator("#logs tr.log .body").nth(i).inner_text()
              for i in range(page.locator("#logs tr.log").count())]
    assert bodies == dataset.log_bodies[dataset.tree_trace_id] == ["answering a chat request", "slow answer"]
    tab.shot("trace")
    tab.assert_clean()


def test_a_failed_span_shows_its_exception_event(tab: Tab, site: Site) -> None:
    failed = site.api("/traces", status="error", service="chatbot", limit=1)["items"][0]
    trace = site.api(f"/traces/{failed['trace_id']}")
    page = tab.open(f"{site.url}/traces/{failed['trace_id']}")
    index = next(i for i, s in enumerate(trace["spans"]) if s["status_code"] == "ERROR" and s["events"])
    row = page.locator("#waterfall .wf-row.span").nth(index)
    assert row.locator(".wf-bar.error").count() == 1
    row.click()
    events = page.locator("#span-events")
    assert trace["spans"][index]["events"][0]["name"] in events.inner_text()
    tab.shot("trace-error")
    tab.assert_clean()


def test_costs_page_shows_the_forecast_and_groups(tab: Tab, site: Site) -> None:
    forecast = site.api("/forecast")
    page = tab.open(site.url + "/costs")
    tab.shot("costs")
    tab.assert_clean()
    assert tab.text("#forecast-method .method") == forecast["method"]
    assert_usd(tab, "#month-to-date", forecast["month_to_date"])
    # (the run rate moves with the clock between the two requests)
    assert_usd(tab, "#forecast-month-end", forecast["forecast_month_end"], rel=1e-4)
    assert page.evaluate("!!Chart.getChart(document.getElementById('chart-forecast'))")
    costs = site.api("/costs", group_by="model")
    rows = page.locator("#cost-groups tbody tr")
    assert [rows.nth(i).get_attribute("data-key") for i in range(rows.count())] == [g["key"] for g in costs["groups"]]
    assert page.locator("#cost-total .calls").inner_text() == f"{costs['total']['calls']:,}"
    assert_usd(tab, "#cost-total .cost", costs["total"]["cost_usd"])

    page.select_option("#f-group_by", "day")
    tab.wait()
    by_day = site.api("/costs", group_by="day")
    assert [rows.nth(i).get_attribute("data-key") for i in range(rows.count())] == [g["key"] for g in by_day["groups"]]
    assert "group_by=day" in page.url
    tab.assert_clean()


def test_errors_page_shows_the_categories_codes_and_actions(tab: Tab, site: Site) -> None:
    errors = site.api("/errors")
    page = tab.open(site.url + "/errors")
    tab.shot("errors")
    tab.assert_clean()
    assert tab.value("#errors-total") == errors["total"]
    rows = page.locator("#error-categories tbody tr")
    assert rows.count() == len(errors["categories"])
    for i, category in enumerate(errors["categories"]):
        row = rows.nth(i)
        assert row.get_attribute("data-category") == category["category"]
        assert row.locator(".count").inner_text() == str(category["count"])
        assert row.locator(".category-action").inner_text() == category["action"]
        codes = row.locator(".codes .code")
        assert [codes.nth(j).get_attribute("data-code") for j in range(codes.count())] == [
            c["code"] or "" for c in category["codes"]]
        advised = row.locator(".code-action")
        assert [advised.nth(j).inner_text() for j in range(advised.count())] == [
            f"{c['code']}: {c['action']}" for c in category["codes"] if c["code"] and c["action"]]


def test_an_unknown_trace_says_so(tab: Tab, site: Site) -> None:
    page = tab.open(f"{site.url}/traces/{'0' * 32}")
    assert "No such trace" in tab.text("#empty")
    # the 404 of the API is the expected answer here, nothing else went wrong
    assert [p for p in tab.problems if "/api/v1/traces/" + "0" * 32 not in p] == []
    assert page.locator(".error-banner").count() == 0


@pytest.mark.parametrize("path", PAGES)
def test_an_empty_store_says_so_on_every_page(tab: Tab, empty_site: Site, path: str) -> None:
    page = tab.open(empty_site.url + path)
    tab.shot("empty-" + (path.strip("/") or "overview"))
    tab.assert_clean()
    assert page.locator("#empty").count() == 1
    assert "No " in tab.text("#empty strong")
    assert page.locator("table, canvas").count() == 0


def test_the_assets_are_served_by_the_process(site: Site) -> None:
    """No CDN: the pages load only from this server (the charting library is vendored)."""
    with urllib.request.urlopen(site.url + "/", timeout=10) as r:
        html = r.read().decode()
        assert r.headers["Content-Type"].startswith("text/html")
    assert "http://" not in html and "https://" not in html
    with urllib.request.urlopen(site.url + "/static/vendor/chart.umd.js", timeout=10) as r:
        assert b"Chart.js v4" in r.read(300)
    for path in ("/traces", "/costs", "/errors", "/traces/" + "a" * 32):
        with urllib.request.urlopen(site.url + path, timeout=10) as r:
            assert r.read().decode() == html
