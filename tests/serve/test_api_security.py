"""The API port as a network service: Host names, the token, browser headers, bounded answers (issue 15).

Everything runs against a real `otel-ai serve` (`LocalServer`, free ports on 127.0.0.1, a real
SQLite store) over real HTTP, except the fuzzing and the paging, which use the app in-process over
both stores (SQLite and a real PostgreSQL, tests/serve/conftest.py) to keep them fast.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

import httpx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_ai.serve.access import COOKIE_NAME, Access
from otel_ai.serve.api import MAX_TRACE_PAGE, TRACE_PAGE, create_app, csv_cell
from otel_ai.serve.guard import CSP
from otel_ai.serve.server import LocalServer, ServeConfig
from otel_ai.serve.store import Store, open_store
from tests.serve.test_store import call, synthetic_request

TOKEN = "t0ken-for-the-api-tests-0123456789"
NOW_NS = time.time_ns()
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def serve(db: Path, access: Access) -> Iterator[LocalServer]:
    server = LocalServer(ServeConfig(db=str(db), access=access, port=0, otlp_http_port=0, otlp_grpc_port=0,
                                     shutdown_grace_s=2)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    yield from serve(tmp_path_factory.mktemp("open") / "otel.db", Access.for_bind("127.0.0.1"))


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    yield from serve(tmp_path_factory.mktemp("token") / "otel.db",
                     Access.for_bind("127.0.0.1", extra_hosts=["dash.example"], token=TOKEN))


def client(server: LocalServer, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=server.urls()["api"], timeout=10, follow_redirects=False, **kwargs)


def assert_browser_headers(response: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name, response.headers)


# -- Host header (DNS rebinding) --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/traces", "/api/v1/summary", "/api/v1/health", "/static/style.css",
                                  "/openapi.json", "/no-such-page"])
def test_a_foreign_host_name_is_refused_everywhere(open_server: LocalServer, path: str) -> None:
    with client(open_server) as http:
        refused = http.get(path, headers={"Host": "rebind.attacker.example"})
        assert refused.status_code == 421
        assert "--allowed-host" in refused.json()["detail"]
        assert_browser_headers(refused)
        for host in ("127.0.0.1", f"localhost:{open_server.api.port}", "app.localhost"):  # type: ignore[union-attr]
            assert http.get(path, headers={"Host": host}).status_code != 421


def test_allowed_host_names_are_answered(token_server: LocalServer) -> None:
    with client(token_server, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        assert http.get("/api/v1/summary", headers={"Host": "dash.example:8200"}).status_code == 200
        assert http.get("/api/v1/summary", headers={"Host": "other.example"}).status_code == 421
        assert http.get("/api/v1/summary", headers={"Host": "bad host"}).status_code in (400, 421)


# -- the token ---------------------------------------------------------------------------------------------------

API_ROUTES = ["/api/v1/summary", "/api/v1/costs", "/api/v1/errors", "/api/v1/forecast", "/api/v1/traces",
              "/api/v1/traces/" + "ab" * 16, "/api/v1/export", "/api/v1/budgets", "/api/v1/budgets/spend?since=1d",
              "/openapi.json"]


@pytest.mark.parametrize("path", API_ROUTES)
def test_every_api_route_needs_the_token(token_server: LocalServer, path: str) -> None:
    with client(token_server) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                        {"Cookie": f"{COOKIE_NAME}=wrong"}):
            denied = http.get(path, headers=headers)
            assert denied.status_code == 401, (path, headers)
            assert denied.headers["content-type"] == "application/json"
            assert "token" in denied.json()["detail"] and TOKEN not in denied.text
            assert denied.headers["www-authenticate"].startswith("Bearer")
            assert_browser_headers(denied)
        expected = 404 if "/traces/" in path else 200
        assert http.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == expected
        assert http.get(path, headers={"Cookie": f"{COOKIE_NAME}={TOKEN}"}).status_code == expected
        assert http.get(path + ("&" if "?" in path else "?") + f"token={TOKEN}").status_code == 401  # not in URLs


def test_the_fleet_budget_route_takes_the_bearer_token(token_server: LocalServer) -> None:
    with client(token_server) as http:
        answer = http.get("/api/v1/budgets/spend", params={"since": "1d", "model": "gpt-4o"},
                          headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200 and answer.json()["calls"] == 0


def test_health_is_open_but_says_only_ok_without_the_token(token_server: LocalServer) -> None:
    with client(token_server) as http:
        brief = http.get("/api/v1/health")
        assert brief.status_code == 200 and brief.json() == {"status": "ok"}
        full = http.get("/api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert full["status"] == "ok" and full["version"] and full["receiver"] is not None


def test_the_one_time_url_sets_a_strict_http_only_cookie_and_drops_the_token(token_server: LocalServer) -> None:
    with client(token_server) as http:
        visit = http.get("/traces", params={"service": "api", "token": TOKEN})
        assert visit.status_code == 303
        assert visit.headers["location"] == "/traces?service=api"
        cookie = visit.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}={TOKEN};")
        assert {"httponly", "samesite=strict", "path=/"} <= {p.strip().lower() for p in cookie.split(";")}
        assert_browser_headers(visit)
        # the client now holds the cookie: pages and the API answer
        assert http.get("/traces").status_code == 200
        assert http.get("/api/v1/summary").status_code == 200
        assert http.get("/", params={"token": TOKEN}).headers["location"] == "/"


def test_without_the_cookie_a_page_is_a_login_form_without_script(token_server: LocalServer) -> None:
    with client(token_server) as http:
        for path in ("/", "/costs", "/traces/" + "ab" * 16, "/no-such-page"):
            page = http.get(path)
            assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
            assert '<form method="post" action="/login"' in page.text
            assert "<script" not in page.text.lower() and not re.search(r"\son[a-z]+\s*=", page.text, re.I)
            assert "style=" not in page.text
            assert_browser_headers(page)
        wrong = http.get("/", params={"token": "nope"})
        assert wrong.status_code == 401 and "not the one" in wrong.text and "set-cookie" not in wrong.headers
        assert http.get("/static/style.css").status_code == 200  # the login page's style sheet


def test_the_login_form_sets_the_cookie_and_redirects_on_this_server_only(token_server: LocalServer) -> None:
    with client(token_server) as http:
        ok = http.post("/login", data={"token": TOKEN, "next": "/costs?since=7d"})
        assert ok.status_code == 303 and ok.headers["location"] == "/costs?since=7d"
        assert ok.headers["set-cookie"].startswith(f"{COOKIE_NAME}={TOKEN};")
        for hostile in ("//attacker.example/", "https://attacker.example/", "/\\attacker.example", "javascript:x"):
            answer = http.post("/login", data={"token": TOKEN, "next": hostile})
            assert answer.headers["location"] == "/", hostile
        bad = http.post("/login", data={"token": "guess", "next": "/"})
        assert bad.status_code == 401 and "set-cookie" not in bad.headers
        assert http.post("/login", content=b"token=" + b"x" * 20_000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 413


def test_a_token_with_cookie_special_characters_round_trips(tmp_path: Path) -> None:
    token = 'we ird;to"ken,=\\'
    for server in serve(tmp_path / "otel.db", Access(token=token)):
        with client(server) as http:
            visit = http.post("/login", data={"token": token, "next": "/errors"})
            assert visit.status_code == 303
            assert http.get("/api/v1/summary").status_code == 200  # the cookie the browser got back works


# -- headers, no CDN page ----------------------------------------------------------------------------------------

def test_every_response_carries_the_browser_headers(open_server: LocalServer) -> None:
    with client(open_server) as http:
        responses = [
            http.get("/"), http.get("/traces"), http.get("/static/style.css"), http.get("/static/js/app.js"),
            http.get("/api/v1/summary"), http.get("/api/v1/costs", params={"since": "bad"}),
            http.get("/api/v1/traces/" + "0" * 32), http.get("/no-such-page"), http.get("/openapi.json"),
            http.get("/api/v1/export", params={"format": "csv"}), http.post("/api/v1/summary"),
            http.post("/login"),
        ]
        assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 422, 404, 404, 200, 200, 405, 303]
        for response in responses:
            assert_browser_headers(response)


def test_no_swagger_page_from_a_cdn_but_the_schema(open_server: LocalServer) -> None:
    with client(open_server) as http:
        assert http.get("/docs").status_code == 404 and http.get("/redoc").status_code == 404
        assert http.get("/openapi.json").json()["info"]["title"] == "otel-ai local API"
        shell = http.get("/").text
        assert "/docs" not in shell and 'href="/openapi.json"' in shell


def test_an_unexpected_failure_is_a_500_with_the_headers() -> None:
    class Broken:
        def summary(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the disk is on fire")

    app = create_app(Broken(), budgets=([], [], None))  # type: ignore[arg-type]
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as http:
        failed = http.get("/api/v1/summary")
        assert failed.status_code == 500 and "fire" not in failed.text
        for name, value in HEADERS.items():
            assert failed.headers[name] == value


# -- bad parameters: 4xx, never 500 ------------------------------------------------------------------------------

@pytest.fixture
def filled(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as store:
        hour = 3600 * 10**9
        store.ingest_traces(synthetic_request([
            call(model=m, start=NOW_NS - i * hour, task_type=t, category=c)
            for i, (m, t, c) in enumerate([("gpt-4o", "chat", None), ("gpt-4o-mini", None, "rate_limit"),
                                           ("deepseek-chat", "sum_up", None)])
        ]))
        yield store


@pytest.fixture
def in_process(filled: Store) -> Iterator[TestClient]:
    with TestClient(create_app(filled, budgets=([], [], None)), base_url="http://127.0.0.1",
                    raise_server_exceptions=False) as http:
        yield http


def test_the_reported_bad_values_answer_422(in_process: TestClient) -> None:
    """Before: offset 2^63 was an OverflowError on SQLite and a 100,000-character model filter a
    "LIKE pattern too complex" error (500)."""
    assert in_process.get("/api/v1/traces", params={"offset": 2**63}).status_code == 422
    assert in_process.get("/api/v1/traces", params={"offset": 2**63 - 1}).status_code == 422
    # 60,000 characters: past SQLite's 50,000-byte LIKE patterns, within the test client's URL limit
    assert in_process.get("/api/v1/budgets/spend", params={"since": "1d", "model": "m" * 60_000}).status_code == 422
    assert in_process.get("/api/v1/summary", params={"model": "%_" * 10_000}).status_code == 422
    assert in_process.get("/api/v1/traces/" + "ab" * 16, params={"offset": 2**63}).status_code == 422
    assert in_process.get("/api/v1/traces", params={"offset": 10**9}).json()["items"] == []


_TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.sampled_from(["", " ", "%", "_", "\\", "'", "\x00", "7d", "now", "9999-12-31T23:59:59-23:59",
                     "0001-01-01T00:00:00+23:59", "1e309d", "99999999999999999999w", "gpt-4o", "NaN", "-1",
                     "2026-02-30", "%%%%_%_%" * 200, "x" * 1025]),
)
_INT = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 1, 2**31, 2**63 - 1, 2**63, 2**64]))
_ANY = st.one_of(_TEXT, _INT.map(str), st.sampled_from(["1.5", "1e3", "true", "", "ok", "error", "csv", "json"]))
_TEXT_PARAMS = ("since", "until", "service", "provider", "operation", "model", "task_type")
ROUTES: dict[str, tuple[str, ...]] = {
    "/api/v1/summary": _TEXT_PARAMS,
    "/api/v1/costs": (*_TEXT_PARAMS, "group_by"),
    "/api/v1/errors": _TEXT_PARAMS,
    "/api/v1/forecast": _TEXT_PARAMS[2:],
    "/api/v1/traces": ("service", "model", "status", "since", "until", "limit", "offset"),
    "/api/v1/export": (*_TEXT_PARAMS, "format", "status", "error_category"),
    "/api/v1/budgets": (),
    "/api/v1/budgets/spend": ("since", "until", "service", "provider", "model", "task_type"),
    "/api/v1/traces/{id}": ("offset", "limit", "log_offset", "log_limit"),
}
_NUMERIC = {"limit", "offset", "log_offset", "log_limit"}
_CHOICES = {"group_by": ["model", "provider", "operation", "service", "task_type", "day"],
            "status": ["ok", "error"], "format": ["csv", "json"]}
_TIME = st.one_of(
    st.sampled_from(["7d", "1h", "30m", "2w", "1d12h", "now", "0s", "36600d", "36700d"]),
    st.datetimes(timezones=st.sampled_from([None, timezone.utc, timezone(timedelta(hours=-23, minutes=-59)),
                                            timezone(timedelta(hours=23, minutes=59))])).map(datetime.isoformat),
    st.integers(0, 10**6).map(lambda n: f"{n}h"),
)


def value_for(name: str) -> st.SearchStrategy[str]:
    """Mostly values of the parameter's own type (so that the other parameters do not hide a bad one
    behind a 422), sometimes anything."""
    if name in _NUMERIC:
        typed: st.SearchStrategy[str] = _INT.map(str)
    elif name in _CHOICES:
        typed = st.sampled_from(_CHOICES[name])
    elif name in ("since", "until"):
        typed = _TIME
    else:
        typed = _TEXT
    return st.one_of(typed, typed, typed, _ANY)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    route = draw(st.sampled_from(sorted(ROUTES)))
    names = draw(st.lists(st.sampled_from(ROUTES[route] or ("unknown",)), unique=True))
    params = {name: draw(value_for(name)) for name in names}
    if route.endswith("{id}"):
        route = route.replace("{id}", draw(st.one_of(
            st.sampled_from(["ab" * 16, "AB" * 16, "0" * 32, "g" * 32, "ab" * 17, "%2e%2e", "x"]),
            st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=40))))
    return route, params


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_no_parameter_makes_the_api_fail(in_process: TestClient, request: tuple[str, dict[str, str]]) -> None:
    """Every parameter of every route, fuzzed, over SQLite and PostgreSQL: 2xx or 4xx, never 5xx."""
    path, params = request
    answer = in_process.get(path, params=params)
    assert answer.status_code < 500, (path, params, answer.text[:500])


# -- the trace detail in pages ---------------------------------------------------------------------------------

def big_trace(store: Store, spans: int, *, seed: int = 3) -> str:
    """A trace of `spans` spans: a root, a few hundred branches, leaves with bulky attributes, some logs."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    rng = random.Random(seed)
    trace_id = rng.randbytes(16)
    ids = [rng.randbytes(8) for _ in range(spans)]
    payload = KeyValue(key="payload", value=AnyValue(string_value="x" * 300))
    batch: list[Span] = []
    for i, span_id in enumerate(ids):
        parent = b"" if i == 0 else ids[0] if i < 300 else ids[rng.randrange(1, 300)]
        batch.append(Span(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=f"step {i}",
                          start_time_unix_nano=NOW_NS + i * 1000, end_time_unix_nano=NOW_NS + i * 1000 + 500,
                          attributes=[payload]))
        if len(batch) == 5000 or i == spans - 1:
            store.ingest_traces(ExportTraceServiceRequest(resource_spans=[ResourceSpans(
                resource=Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="big"))]),
                scope_spans=[ScopeSpans(spans=batch)])]))
            batch = []
    return trace_id.hex()


def test_a_trace_of_100k_spans_comes_in_bounded_pages(tmp_path: Path) -> None:
    """Before: one 49 MiB answer with every span. Now: pages of `limit` spans (1,000 by default, 5,000
    at most), each far under 5 MiB."""
    with open_store(str(tmp_path / "big.db")) as store:
        trace_id = big_trace(store, 100_000)
        with TestClient(create_app(store, budgets=([], [], None)), base_url="http://127.0.0.1") as http:
            first = http.get(f"/api/v1/traces/{trace_id}")
            assert first.status_code == 200
            body = first.json()
            assert (body["span_total"], body["offset"], body["limit"], body["next_offset"]) == (
                100_000, 0, TRACE_PAGE, TRACE_PAGE)
            assert len(body["spans"]) == TRACE_PAGE and len(first.content) < 1.5 * 2**20
            assert body["spans"][0]["depth"] == 0 and body["spans"][0]["child_count"] == 299
            assert body["root_count"] == 1 and body["roots"] == [body["spans"][0]["span_id"]]
            largest = http.get(f"/api/v1/traces/{trace_id}", params={"limit": MAX_TRACE_PAGE, "offset": 50_000})
            assert len(largest.json()["spans"]) == MAX_TRACE_PAGE and len(largest.content) < 5 * 2**20
            assert http.get(f"/api/v1/traces/{trace_id}", params={"limit": MAX_TRACE_PAGE + 1}).status_code == 422
            last = http.get(f"/api/v1/traces/{trace_id}", params={"offset": 99_500}).json()
            assert len(last["spans"]) == 500 and last["next_offset"] is None
            assert last["root_count"] == 1 and last["roots"] == []  # the root is on the first page


def test_the_pages_of_a_small_trace_are_the_whole_waterfall(filled: Store) -> None:
    """Page after page is the unpaged waterfall: each span once, parents before their children."""
    trace_id = big_trace(filled, 57, seed=11)
    whole = filled.trace(trace_id)
    assert whole is not None and whole["next_offset"] is None and len(whole["spans"]) == 57
    paged: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = filled.trace(trace_id, offset=offset, limit=10)
        assert page is not None and len(page["spans"]) <= 10
        paged.extend(page["spans"])
        offset = page["next_offset"]
    assert [s["span_id"] for s in paged] == [s["span_id"] for s in whole["spans"]]
    position = {span["span_id"]: i for i, span in enumerate(paged)}
    assert all(s["parent_span_id"] is None or position[s["parent_span_id"]] < i for i, s in enumerate(paged))
    assert [s["depth"] for s in paged] == [s["depth"] for s in whole["spans"]]
    assert filled.trace(trace_id, offset=1000)["spans"] == []  # type: ignore[index]


# -- CSV export: formula injection ------------------------------------------------------------------------------

HOSTILE = ["=HYPERLINK(\"http://attacker.example\",\"x\")", "+1+1", "-2+3", "@SUM(1)", "\t=1", "\r=1",
           "=cmd|' /C calc'!A0", "a,=1", "safe-model"]


def test_csv_cells_that_start_like_a_formula_are_quoted(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "csv.db")) as store:
        store.ingest_traces(synthetic_request([
            call(model=name, task_type=name, service=name, start=NOW_NS - i * 10**9)
            for i, name in enumerate(HOSTILE)
        ]))
        with TestClient(create_app(store, budgets=([], [], None)), base_url="http://127.0.0.1") as http:
            text = http.get("/api/v1/export", params={"format": "csv"}).text
            raw = http.get("/api/v1/export", params={"format": "json"}).json()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(HOSTILE)
    for row in rows:
        for column in ("model", "task_type", "service"):
            cell = row[column]
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    expected = {csv_cell(name) for name in HOSTILE}
    assert {row["model"] for row in rows} == expected
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text and "safe-model" in text and "'safe-model" not in text
    assert {r["model"] for r in raw} == set(HOSTILE)  # the JSON export keeps the values as they are
    assert json.dumps(csv_cell(-1.5)) == "-1.5"  # numbers are numbers


@given(st.text(max_size=30))
def test_csv_cell_never_starts_like_a_formula(value: str) -> None:
    cell = csv_cell(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (value, "'" + value)


# -- a real `otel-ai serve` process ------------------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_real_otel_ai_serve_checks_the_host_and_the_token(tmp_path: Path) -> None:
    """`otel-ai serve --token … --allowed-host …` as a user starts it: the printed one-time URL signs
    a client in; a foreign Host is refused; the API wants the token."""
    import os
    import signal
    import subprocess
    import sys

    port = _free_port()
    argv = [sys.executable, "-c", "import sys; from otel_ai.cli import main; sys.exit(main())",
            "serve", "--db", str(tmp_path / "otel.db"), "--port", str(port),
            "--otlp-http-port", str(_free_port()), "--otlp-grpc-port", str(_free_port()), "--token", TOKEN,
            "--allowed-host", "dash.example", "--ingest-processes", "0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_AI_SERVE_")}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert process.stdout is not None
        login = ""
        deadline = time.monotonic() + 60
        while not login and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "otel-ai serve exited before printing its dashboard URL"
            if "?token=" in line:
                login = line.split()[-1]
        assert login == f"http://127.0.0.1:{port}/?token={TOKEN}"
        with httpx.Client(timeout=10, follow_redirects=False) as http:
            base = f"http://127.0.0.1:{port}"
            assert http.get(base + "/api/v1/summary", headers={"Host": "rebind.example"}).status_code == 421
            assert http.get(base + "/", headers={"Host": "rebind.example"}).status_code == 421
            assert http.get(base + "/api/v1/summary").status_code == 401
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            assert http.get(base + "/api/v1/summary", headers={**bearer, "Host": "dash.example"}).status_code == 200
            visit = http.get(login)
            assert visit.status_code == 303 and visit.headers["location"] == "/"
            assert http.get(base + "/").status_code == 200  # signed in by the cookie
            assert_browser_headers(visit)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
