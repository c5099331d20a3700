"""Fleet budgets on Prometheus: OTEL_AI_BUDGET_SERVER=prometheus+http://..., against Debian's real Prometheus.

* Two instrumented processes (tests/work/prom_fleet_app.py) expose the cost counter with the OpenTelemetry
  Prometheus exporter; Prometheus scrapes both every second; each reads the fleet's spend back with PromQL.
  The second is blocked once the two together reach the limit, which it alone would not; the first has exited
  by then (its stale series still counts). The lag from a call to the reading that includes it is measured.
* The spend query's three cases (a series older than the period, a new one, one that reset) are checked to
  the digit by promtool's PromQL engine, with label values that need escaping.
* Scopes the cost counter has no label for: one warning line naming the variable, local spend for them.
* Prometheus gone: one warning, the last reading kept (plus local spend since); a refused query is a
  PrometheusError with Prometheus' own words.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otel_ai.budgets as B
from otel_ai.budgets.config import parse_budget_config
from otel_ai.budgets.prometheus import PrometheusError, PrometheusRefresher, query_spend
from otel_ai.budgets.promql import COST_METRIC, Target, label_matchers, parse_target, quote, spend_query
from otel_ai.genai import hooks as calls
from otel_ai.notify import notification as notify
from tests.conftest import Telemetry
from tests.deploy import conftest as deploy_fixtures

prom_tools = deploy_fixtures.prom_tools  # Prometheus and promtool from Debian, installed when missing
pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).with_name("prom_fleet_app.py")
MESSAGES = [{"role": "user", "content": "fleet call"}]  # the same words as prom_fleet_app.py: the same cost
SCRAPE_S = 1.0
TTL_S = 0.2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Prometheus:
    url: str
    app_ports: dict[str, int]  # the two apps' exporter ports, scraped as job "fleet"

    @property
    def server(self) -> str:
        return self.url.replace("http://", "prometheus+http://")


@pytest.fixture(scope="module")
def prometheus(prom_tools: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    tmp = tmp_path_factory.mktemp("budget-prometheus")
    ports = {"a": _free_port(), "b": _free_port()}
    config = {
        "global": {"scrape_interval": f"{SCRAPE_S:g}s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "fleet", "static_configs": [
            {"targets": [f"127.0.0.1:{port}" for port in ports.values()]}]}],
    }
    (tmp / "prometheus.yml").write_text(json.dumps(config))
    port = _free_port()
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen([prom_tools["prometheus"], f"--config.file={tmp / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()[-2000:]
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    break
            assert time.monotonic() < deadline, "Prometheus not ready in 30 s"
            time.sleep(0.1)
        yield Prometheus(url, ports)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(tmp / "data", ignore_errors=True)


def _run_app(prometheus: Prometheus, env: dict[str, str], base_url: str, name: str, count: int,
             seen_usd: float, gap_s: float = 0.0) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(APP), base_url, str(count), repr(seen_usd), repr(gap_s)], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env={**env, "OTEL_SERVICE_NAME": f"fleet-{name}",
                          "OTEL_EXPORTER_PROMETHEUS_PORT": str(prometheus.app_ports[name])},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_two_processes_cross_one_fleet_budget_read_from_a_real_prometheus(
    prometheus: Prometheus, client: Any, sim: Any, telemetry: Telemetry, record_property: Any,
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    cost = float(telemetry.one_genai_span().attributes["otel_ai.cost.usd"])
    assert cost > 0
    limit = 4.5 * cost  # A's 3 calls alone: 67%; B's 2 alone: 44%; together: over the limit
    declared = json.dumps([{"name": "fleet", "scope": {"provider": "openai", "model": "gpt-4o-mini"},
                            "period": "day", "limit_usd": limit, "warn_at": [0.5], "action": "block"}])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update({
        "OTEL_AI_BUDGETS": declared,
        "OTEL_AI_BUDGET_SERVER": prometheus.server,
        "OTEL_AI_BUDGET_SERVER_TTL": f"{TTL_S:g}",
        "OTEL_METRICS_EXPORTER": "prometheus",
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "httpx,requests,urllib3,fastapi",
    })
    first = _run_app(prometheus, env, sim.base_url, "a", 3, 3 * cost)
    assert first["outcomes"] == ["sent"] * 3
    assert first["first_reading"] == 0.0  # nothing in Prometheus before A's calls
    assert first["reading"] == pytest.approx(3 * cost, rel=1e-9)  # A's own calls, read back from Prometheus
    assert [(n["severity"], n["threshold"]) for n in first["notices"]] == [("warning", 0.5)]
    assert first["local_usd"] == pytest.approx(3 * cost)
    assert f'last_over_time({COST_METRIC}{{gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o-mini"}}' in (
        first["query"])

    # A has exited: Prometheus marks its series stale; the spend it made this period still counts. B's calls
    # are further apart than the lag (scrape + refresh), so each is in Prometheus' figure before the next:
    # blocked exactly at the limit. (Calls closer together can overshoot by what B spends within one lag, as
    # with an otel-ai serve: docs/budgets.md.)
    second = _run_app(prometheus, env, sim.base_url, "b", 4, 5 * cost, gap_s=SCRAPE_S + TTL_S + 0.8)
    assert second["first_reading"] == pytest.approx(3 * cost, rel=1e-9)
    assert second["outcomes"] == ["sent", "sent", "blocked", "blocked"]
    assert second["local_usd"] == pytest.approx(2 * cost)  # alone it would be under the limit
    assert second["fleet"] is True and second["spent_usd"] == pytest.approx(5 * cost, rel=1e-9)
    assert second["reading"] == pytest.approx(5 * cost, rel=1e-9)  # A's 3 and B's 2, from Prometheus
    assert [(n["severity"], n["threshold"], n["service"]) for n in second["notices"]] == [
        ("warning", 0.5, "fleet-b"), ("critical", 1.0, "fleet-b")]
    # The lag from A's last call to the fleet reading that includes it: one scrape interval plus one refresh
    # interval, plus the query's time (measured and reported in docs/budgets.md, not asserted: a loaded
    # 2-core machine stretches it). The bound only says the reading came, and came from that scrape.
    print(f"\nlag from A's last call to the fleet reading with it: {first['lag_s']:.3f} s "
          f"(scrape {SCRAPE_S:g} s, refresh {TTL_S:g} s)")
    record_property("lag_s", round(first["lag_s"], 3))
    assert 0 < first["lag_s"] < SCRAPE_S + TTL_S + 10.0, first["lag_s"]


def _promtool_case(tmp_path: Path, promtool: str, series: list[tuple[str, str]], expr: str, eval_min: int,
                   expected: float) -> None:
    test = {"tests": [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series],
                       "promql_expr_test": [{"expr": expr, "eval_time": f"{eval_min}m",
                                             "exp_samples": [{"labels": "{}", "value": expected}]}]}]}
    path = tmp_path / "spend.test.yml"
    path.write_text(json.dumps(test))
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_the_spend_query_counts_old_new_and_reset_series_to_the_digit(
    tmp_path: Path, prom_tools: dict[str, str],
) -> None:
    model = 'gpt-4o "mini" \\ snapshot'  # a label value that needs escaping in PromQL
    matchers, why = label_matchers(B.Budget("x", 1.0, scope={"provider": "openai", "model": model}))
    assert matchers is not None and why == ""
    scope = f'gen_ai_provider_name="openai",gen_ai_request_model={quote(model)}'
    series = [
        # running before the period (which starts at 5m): 11 - 6 since
        (f"{COST_METRIC}{{{scope},instance=\"old\"}}", "1 2 3 4 5 6 7 8 9 10 11"),
        # started at 7m with calls before its first scrape (2), stopped after 9m: all 2.5 since
        (f"{COST_METRIC}{{{scope},instance=\"new\"}}", "_ _ _ _ _ _ _ 2 2.5 2.5 _"),
        # restarted at 8m under the same labels: 3 - 1 before, 1.5 after (increase(), here with a sample at
        # each end of the window, so without extrapolation)
        (f"{COST_METRIC}{{{scope},instance=\"restarted\"}}", "0 0.2 0.4 0.6 0.8 1 2 3 0.5 1 1.5"),
        # other scopes: not counted
        (f"{COST_METRIC}{{gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4o\"}}", "0+100x10"),
        (f"{COST_METRIC}{{gen_ai_provider_name=\"mistral_ai\",gen_ai_request_model={quote(model)}}}", "0+100x10"),
    ]
    _promtool_case(tmp_path, prom_tools["promtool"], series, spend_query(COST_METRIC, matchers, 300), 10,
                   5 + 2.5 + 3.5)
    # Nothing in the scope yet: an empty result (the refresh reads it as 0).
    assert "[0ms]" not in spend_query(COST_METRIC, [], 0.0) and "offset 1ms" in spend_query(COST_METRIC, [], 0.0)


def test_scopes_without_a_label_warn_once_and_count_locally(
    prometheus: Prometheus, capsys: pytest.CaptureFixture[str], notices: list[notify.Notification],
) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    budgets = [B.Budget("by-model", 100.0, scope={"provider": "openai", "model": "gpt-4o-mini"}),
               B.Budget("one-conversation", 1.0, scope={"conversation": "c-1"}),
               B.Budget("each-user", 1.0, scope={"user": "*"}),
               B.Budget("one-user", 1.0, scope={"user": "alice"}),
               B.Budget("by-service", 100.0, scope={"service": "fleet-a", "task_type": "summarize"})]
    tracker = B.BudgetTracker(budgets, service="svc")
    refresher = PrometheusRefresher(tracker, prometheus.server, ttl_s=TTL_S)
    lines = [line for line in capsys.readouterr().err.splitlines() if "OTEL_AI_BUDGET_SERVER" in line]
    assert len(lines) == 1, lines
    for name in ("one-conversation", "each-user", "one-user"):
        assert f"budget {name!r}" in lines[0]
    assert "by-model" not in lines[0] and "OTEL_AI_METRICS_USER" in lines[0]
    assert agent_warnings.counts() == {"budget.prometheus_scope": 1}
    assert refresher.refresh() is True
    fleet = {s.budget.name: s.fleet for s in tracker.statuses()}
    assert fleet == {"by-model": True, "one-conversation": False, "each-user": False, "one-user": False,
                     "by-service": True}
    assert 'job="fleet-a"' in refresher.queries["by-service"]
    assert 'otel_ai_task_type="summarize"' in refresher.queries["by-service"]


def test_a_user_scope_reads_the_user_label_when_the_counters_carry_it() -> None:
    matchers, _ = label_matchers(B.Budget("u", 1.0, scope={"user": "alice"}), user_on_metrics=True)
    assert matchers == ['user_id="alice"']


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_prometheus_gone_keeps_the_last_reading_and_a_refused_query_says_why(
    prometheus: Prometheus, capsys: pytest.CaptureFixture[str], notices: list[notify.Notification],
) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    tracker = B.BudgetTracker([B.Budget("all", 1000.0, action="block")], service="svc")
    refresher = PrometheusRefresher(tracker, prometheus.server, ttl_s=TTL_S)
    assert refresher.refresh() is True
    reading = refresher.readings["all"]
    refresher.target = Target(f"http://127.0.0.1:{_closed_port()}")
    facts = calls.CallFacts(calls.CallScope("openai", "chat", "m", None), 0.25, 1, 1, 0, False)
    tracker.on_call(facts)
    assert refresher.refresh() is False and refresher.refresh() is False
    lines = [line for line in capsys.readouterr().err.splitlines() if "did not answer" in line]
    assert len(lines) == 1 and "as read 0 s ago plus this process's spend since" in lines[0], lines
    assert agent_warnings.counts() == {"budget.server_unreachable": 1}
    (status,) = tracker.statuses()
    assert status.fleet is True and status.spent_usd == pytest.approx(reading + 0.25)  # stale, not dropped

    refresher.target = parse_target(prometheus.server)[0]  # type: ignore[assignment]
    assert refresher.refresh() is True and refresher.failing is False

    with pytest.raises(PrometheusError, match="bad_data"):
        query_spend(Target(prometheus.url), "sum(rate(", time.time())


def test_a_bad_spend_query_is_one_warning_of_its_own_kind(
    prometheus: Prometheus, capsys: pytest.CaptureFixture[str], notices: list[notify.Notification],
) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    # A metric name Prometheus accepts in the URL but a range it refuses: a window longer than it can hold.
    tracker = B.BudgetTracker([B.Budget("all", 1.0)], service="svc")
    refresher = PrometheusRefresher(tracker, prometheus.server, ttl_s=TTL_S)
    refresher.query_for = lambda budget, start, now: "sum(rate(x[1s]"  # type: ignore[method-assign]
    assert refresher.refresh() is False
    lines = [line for line in capsys.readouterr().err.splitlines() if "refused the spend query" in line]
    assert len(lines) == 1 and "bad_data" in lines[0] and "count this process's spend only" in lines[0]
    assert agent_warnings.counts() == {"budget.prometheus_query": 1}


@contextlib.contextmanager
def _answering(status: int, body: bytes, seen: list[tuple[str, Any]]) -> Iterator[int]:
    """A stand-in for what cannot run here (Mimir's tenant API, an auth gateway): answers every GET with
    `status` and `body`, records the path and the headers (case-insensitive, as HTTP's are); yields its port."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, self.headers))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def test_the_tenant_and_credentials_of_the_url_are_sent_as_headers_not_in_the_address() -> None:
    seen: list[tuple[str, Any]] = []
    answer = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.25"]}]}}'
    with _answering(200, answer, seen) as port:
        target, _ = parse_target(f"prometheus+http://tenant:s3cret@127.0.0.1:{port}/prometheus?org_id=team-a")
        assert target is not None
        assert query_spend(target, "sum(x)", 1700000000.0) == 0.25
    ((path, headers),) = seen
    assert path.startswith("/prometheus/api/v1/query?query=sum%28x%29&time=1700000000.000")
    assert headers["X-Scope-OrgID"] == "team-a"
    assert headers["Authorization"] == "Basic dGVuYW50OnMzY3JldA=="  # tenant:s3cret


def test_a_gateway_that_wants_credentials_is_one_warning_naming_the_variables(
    capsys: pytest.CaptureFixture[str], notices: list[notify.Notification],
) -> None:
    from otel_ai import agent_warnings

    agent_warnings.reset()
    seen: list[tuple[str, Any]] = []
    tracker = B.BudgetTracker([B.Budget("all", 1.0)], service="svc")
    with _answering(401, b'{"message": "unauthorized"}', seen) as port:
        refresher = PrometheusRefresher(tracker, f"prometheus+http://127.0.0.1:{port}", ttl_s=TTL_S, token="t0ken")
        assert refresher.refresh() is False
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "budget server" in line]
    assert "refused the token in OTEL_AI_BUDGET_SERVER_TOKEN (HTTP 401)" in line and "t0ken" not in line
    assert seen[0][1]["Authorization"] == "Bearer t0ken"
    assert agent_warnings.counts() == {"budget.server_auth": 1}


# --- the setting --------------------------------------------------------------------------------------------
def test_the_setting_takes_prometheus_urls_and_says_what_is_wrong() -> None:
    budgets = '[{"name": "b", "limit_usd": 1}]'
    config, problems = parse_budget_config({"OTEL_AI_BUDGETS": budgets,
                                            "OTEL_AI_BUDGET_SERVER": "prometheus+https://u:pw@mimir.example/prometheus/"})
    assert problems == [] and config.server == "prometheus+https://u:pw@mimir.example/prometheus/"
    target, _ = parse_target(config.server)
    assert target == Target("https://u:pw@mimir.example/prometheus")
    assert target.query_url == "https://u:pw@mimir.example/prometheus/api/v1/query"
    assert parse_target("prometheus+http://vm:8428?metric=otel_ai_client_cost_USD_total")[0] == Target(
        "http://vm:8428", "otel_ai_client_cost_USD_total")
    assert parse_target("prometheus+http://mimir:8080/prometheus?org_id=team-a")[0] == Target(
        "http://mimir:8080/prometheus", COST_METRIC, "team-a")
    for bad, words in (("prometheus+http://", "no host"), ("prometheus+http://h?org_id=a b", "tenant id"),
                        ("prometheus+http://h?metric=a-b", "metric name"),
                       ("prometheus+http://h?job=x", "unknown option"), ("prometheus+http://h:99999", "not a URL"),
                       ("prometheus+http://u:secret@", "no host")):
        config, problems = parse_budget_config({"OTEL_AI_BUDGETS": budgets, "OTEL_AI_BUDGET_SERVER": bad})
        assert config.server is None and len(problems) == 1, (bad, problems)
        assert words in problems[0] and problems[0].startswith("OTEL_AI_BUDGET_SERVER=") and "secret" not in problems[0]


@given(st.text(max_size=60))
def test_any_text_after_the_scheme_parses_or_is_refused_without_raising(rest: str) -> None:
    for scheme in ("prometheus+http://", "prometheus+https://", "PROMETHEUS+HTTP://"):
        target, problem = parse_target(scheme + rest)
        assert (target is None) == bool(problem)
        if target is not None:
            assert target.base.startswith(("http://", "https://")) and not target.base.endswith("/")
            assert target.query_url.endswith("/api/v1/query")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=30), window_s=st.floats(0, 40 * 86400))
def test_prometheus_accepts_the_query_for_any_scope_value_and_window(
    prometheus: Prometheus, value: str, window_s: float,
) -> None:
    """Any model name (quotes, backslashes, newlines, any script) and any period length: a query Prometheus
    parses and runs (no series has these names: 0)."""
    budget = B.Budget("b", 1.0, scope={"provider": "no-such-provider", "model": value or "-"})
    matchers, _ = label_matchers(budget)
    assert matchers is not None
    assert query_spend(Target(prometheus.url), spend_query(COST_METRIC, matchers, window_s), time.time()) == 0.0


@given(st.text(max_size=40))
def test_a_label_value_is_quoted_as_a_string_that_reads_back_the_same(value: str) -> None:
    literal = quote(value)
    assert literal.startswith('"') and json.loads(literal) == value and "\n" not in literal
