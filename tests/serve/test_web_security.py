"""The dashboard under its Content-Security-Policy and its token, and a big trace paged, in a real browser.

Playwright drives Debian's Chromium as in tests/serve/test_web.py (skipped without it unless
OTEL_AI_REQUIRE_BROWSER=1). A listener for `securitypolicyviolation`, installed before any page
script, records every CSP violation; each page must render with none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from otel_ai.serve.access import COOKIE_NAME, Access
from otel_ai.serve.server import LocalServer, ServeConfig
from otel_ai.serve.store import open_store
from tests.serve.test_api import Dataset
from tests.serve.test_api_security import big_trace
from tests.serve.test_web import Tab, browser, dataset, tab  # noqa: F401  (fixtures)

TOKEN = "browser-t0ken-0123456789abcdef"
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def serve(db: Path, access: Access) -> Iterator[str]:
    server = LocalServer(ServeConfig(db=str(db), access=access, port=0, otlp_http_port=0, otlp_grpc_port=0,
                                     shutdown_grace_s=2)).start()
    try:
        yield server.urls()["api"]
    finally:
        server.stop()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server over a store holding the test_web data set and one trace of 2,345 spans."""
    db = tmp_path_factory.mktemp("web-security") / "otel.db"
    with open_store(str(db)) as store:
        trace_id = big_trace(store, 2345)
    for url in serve(db, Access.for_bind("127.0.0.1")):
        yield url, trace_id


@pytest.fixture(scope="module")
def full_site(dataset: Dataset) -> Iterator[str]:  # noqa: F811
    yield from serve(dataset.db_path, Access.for_bind("127.0.0.1"))


@pytest.fixture(scope="module")
def token_site(dataset: Dataset) -> Iterator[str]:  # noqa: F811
    yield from serve(dataset.db_path, Access.for_bind("127.0.0.1", token=TOKEN))


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__csp"))


def test_every_page_renders_with_no_csp_violation(tab: Tab, full_site: str, dataset: Dataset) -> None:  # noqa: F811
    tab.page.add_init_script(WATCH_CSP)
    for path in ("/", "/traces", f"/traces/{dataset.tree_trace_id}", "/costs", "/errors"):
        page = tab.open(full_site + path)
        if path == f"/traces/{dataset.tree_trace_id}":
            assert page.locator("#waterfall .wf-row.span").count() == 3
        assert violations(page) == [], path
        response = page.request.get(full_site + path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
    tab.assert_clean()  # no console error ("Refused to …" included), no failed request
    # the policy is in force: an inline script and an inline style attribute are refused
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.__ran = 1";
                            document.body.append(s);
                            document.body.insertAdjacentHTML("beforeend", '<p style="color:red">x</p>'); }""")
    for _ in range(100):  # the violation events come asynchronously
        if len(violations(page)) >= 2:
            break
        page.wait_for_timeout(20)
    assert page.evaluate("window.__ran") is None
    assert {v.split()[0] for v in violations(page)} <= {"script-src-elem", "style-src-attr"}


def test_the_dashboard_behind_a_token(tab: Tab, token_site: str) -> None:  # noqa: F811
    tab.page.add_init_script(WATCH_CSP)
    page = tab.page
    page.goto(token_site + "/costs?since=7d")
    assert page.locator("#login-form").count() == 1 and violations(page) == []
    page.fill("#token", "wrong")
    page.click("button[type=submit]")
    assert "not the one" in page.locator(".login-error").inner_text()
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    tab.wait()
    assert page.url == token_site + "/costs?since=7d"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read the token
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies[COOKIE_NAME]["httpOnly"] and cookies[COOKIE_NAME]["sameSite"] == "Strict"
    assert violations(page) == []
    # a fresh browser with the one-time URL: the token leaves the address bar
    page.context.clear_cookies()
    page.goto(f"{token_site}/traces?token={TOKEN}")
    tab.wait()
    assert page.url == token_site + "/traces" and TOKEN not in page.url
    tab.problems = [p for p in tab.problems if "401" not in p]  # the login pages above (401, as they should)
    tab.assert_clean()


def test_the_waterfall_loads_further_pages_on_demand(tab: Tab, big: tuple[str, str]) -> None:  # noqa: F811
    url, trace_id = big
    tab.page.add_init_script(WATCH_CSP)
    page = tab.open(f"{url}/traces/{trace_id}")
    rows = page.locator("#waterfall .wf-row.span")
    assert rows.count() == 1000
    assert tab.text("#spans-shown") == "1,000 of 2,345 spans shown"
    assert tab.text("#trace-spans") == "2,345"
    page.click("#more-spans")
    rows.nth(1999).wait_for()  # (wait_for_function would need eval, which the policy forbids)
    page.click("#more-spans")
    rows.nth(2344).wait_for()
    assert page.locator("#spans-more").is_hidden()
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.spanId)")
    assert len(set(ids)) == 2345
    tab.shot("big-trace")
    assert violations(page) == []
    tab.assert_clean()
