"""The proof of issue 3: a real Prometheus scrapes the example app under the agent, and every query of every
dashboard panel and every alert and recording rule parses and returns data, or is empty for a reason that is
itself checked here.

The stack (one per module; everything binds 127.0.0.1 on a free port and is stopped in teardown):

* the OpenAI-compatible simulator (otel_ai/testing/simulator.py), run by the test so that the workload can switch it
  to failing scenarios; the example app reaches it through OPENAI_API_KEY/OPENAI_BASE_URL (its "real API"
  code path, otherwise unchanged);
* two instances of examples/app.py --serve under opentelemetry-instrument, service `otel-ai-example`, one per
  direct-scrape path: `mounted` (OTEL_METRICS_EXPORTER=otel_ai_prometheus, metrics at /metrics/ of the app)
  and `exporter` (OTEL_METRICS_EXPORTER=prometheus, metrics on the exporter's own port). Host and process
  metrics come from the otel_ai_system instrumentor that opentelemetry-instrument loads, with the default set
  (OTEL_AI_SYSTEM_METRICS=basic: the dashboard's "Full set only" row stays empty, for that reason);
* Prometheus (Debian's 2.42) scraping both every second as job `otel-ai-example`, the job name docs/deploy.md
  tells direct-scrape users to use, and evaluating deploy/prometheus/rules every second.

The workload runs in rounds with a scrape of both instances after each: questions, a streamed question and an
embedding that succeed, questions that the simulator rate-limits (HTTP 429, still failing after the client's
two retries) and an embedding it rejects (HTTP 400). Every query is then evaluated at one instant, so the
results do not depend on how long the tests take.

Dashboard variables take Grafana's default view: "All" ('.*'), the dashboards' time range (now-6h, so
$__range = 21600s) and $__rate_interval = 4 x the datasource's timeInterval (60s), which is what Grafana
computes for that range.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_openai import OpenAISimulator

from .metric_names import PRODUCED
from .support import DASHBOARDS, DATASOURCES, PROMETHEUS_CONFIG, REPO, RULES_FILE, load_yaml
from .support import substitute_grafana_variables as _substitute

# The stack's own deadlines keep a broken run short; the mark only leaves room for apt-get in prom_tools.
pytestmark = pytest.mark.timeout(900)

SERVICE = "otel-ai-example"
BIN = Path(sys.executable).parent
API_KEY = "sk-test-live-prometheus-0000000000000000000000"
ROUNDS = 4
OK_PATHS = (
    "/ask?q=What+is+a+span",
    "/ask?q=How+do+I+read+a+trace",
    "/stream?q=Explain+time+to+first+token",
    "/embed?text=vector+search",
    "/speak?text=Hi",  # two characters: speech is priced per character, and the forecast rule must stay quiet
    # the providers of issue 18 through their simulators, which the app starts itself
    "/ask/ollama?q=Hi",
    "/ask/anthropic?q=Hi",
    "/ask/mistral?q=Hi",
)
# gen_ai.provider.name of each call above: every panel grouped by provider must show each of them
PROVIDERS = {"openai", "elevenlabs", "ollama", "anthropic", "mistral_ai"}
RATE_LIMITED_PATHS = ("/ask?q=Too+many+questions",) * 5 + ("/stream?q=Too+many+streams",)
REJECTED_PATHS = ("/embed?text=rejected",)


# --- what Grafana would send ------------------------------------------------------------------------------
def _seconds(duration: str) -> int:
    value, unit = re.fullmatch(r"(\d+)([smhd])", duration).groups()  # type: ignore[union-attr]
    return int(value) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


_TIME_INTERVAL = next(ds for ds in load_yaml(DATASOURCES)["datasources"] if ds["uid"] == "prometheus")["jsonData"][
    "timeInterval"
]


def _builtins(dashboard: dict) -> dict[str, str]:
    """Grafana's values for the dashboard's default time range: $__range is the range in seconds, $__interval
    about range/1000 (a full-width panel) but at least timeInterval, and $__rate_interval is
    max($__interval + timeInterval, 4 x timeInterval): 21600s, 21s and 60s for now-6h and timeInterval 15s."""
    assert dashboard["time"]["to"] == "now", dashboard["time"]
    range_s = _seconds(dashboard["time"]["from"].removeprefix("now-"))
    scrape_s = _seconds(_TIME_INTERVAL)
    interval_s = max(range_s // 1000, scrape_s)
    return {
        "__range": f"{range_s}s",
        "__rate_interval": f"{max(interval_s + scrape_s, 4 * scrape_s)}s",
        "__interval": f"{interval_s}s",
    }


# --- every expression ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    id: str
    expr: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _dashboard_queries() -> list[Query]:
    prometheus_uids = {ds["uid"] for ds in load_yaml(DATASOURCES)["datasources"] if ds["type"] == "prometheus"}
    out = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        panels = [p for top in dashboard["panels"] for p in (top, *top.get("panels", []))]
        for panel in panels:
            for target in panel.get("targets", []):
                if (target.get("datasource") or panel.get("datasource") or {}).get("uid") in prometheus_uids:
                    expr = _substitute(target["expr"], variables, _builtins(dashboard))
                    out.append(Query(f"{path.stem}/{_slug(panel['title'])}/{target['refId']}", expr))
    return out


def _template_variable_queries() -> list[Query]:
    """label_values(selector, label) of every dashboard variable, as `label|selector`."""
    out = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        variables = {v["name"] for v in dashboard["templating"]["list"]}
        for var in dashboard["templating"]["list"]:
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["query"]["query"])
            assert match, var["query"]
            selector = _substitute(match[1], variables)
            out.append(Query(f"{path.stem}/${var['name']}", f"{match[2]}|{selector}"))
    return out


RULE_GROUPS = load_yaml(RULES_FILE)["groups"]
RULES = {f"alert:{r['alert']}" if "alert" in r else f"record:{r['record']}": r for g in RULE_GROUPS for r in g["rules"]}
DASHBOARD_QUERIES = _dashboard_queries()
RULE_QUERIES = [Query(rule_id, str(rule["expr"]).strip()) for rule_id, rule in RULES.items()]
VARIABLE_QUERIES = _template_variable_queries()


# --- what may be empty, and why ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    """Why an expression is empty: `empty` selectors must return nothing (what is missing) and `data` ones must
    return something (so the emptiness is not a typo in a name, a wrong label or a dead scrape)."""

    why: str
    empty: tuple[str, ...] = ()
    data: tuple[str, ...] = ()


def _threshold_lhs(rule_id: str) -> str:
    """`LHS > 10` -> `LHS` (the comparison with a number at the end of the rule)."""
    match = re.fullmatch(r"(?s)(.*\S)\s*(?:>=|<=|==|!=|>|<)\s*-?[\d.]+", RULES[rule_id]["expr"].strip())
    assert match, rule_id
    return match[1]


def _binary_sides(rule_id: str, operator: str) -> tuple[str, str]:
    left, right = RULES[rule_id]["expr"].split(operator)
    return left.strip(), right.strip()


AUDIO = 'gen_ai_operation_name=~"text_to_speech|speech_to_text|sound_generation"'
NO_AUDIO_ERRORS = Reason(
    "every speech call of the workload succeeds (/speak is only in OK_PATHS): audio error series do not exist, "
    "while audio calls have data",
    empty=(f'otel_ai_client_requests_total{{{AUDIO}, otel_ai_outcome="error"}}',),
    data=(f"otel_ai_client_requests_total{{{AUDIO}}}", "otel_ai_client_characters_total"),
)

# Alerts the workload makes true (pending: every one has a `for` longer than this test).
_FAILED = len(RATE_LIMITED_PATHS) + len(REJECTED_PATHS)
FIRING = {
    "alert:OtelAIHighErrorRate": f"{_FAILED} of every {_FAILED + len(OK_PATHS)} calls fail, {ROUNDS} rounds: "
    "far above 5% and 10 calls in 5 min",
    "alert:OtelAIRateLimitStorm": f"{ROUNDS * len(RATE_LIMITED_PATHS)} rate-limited calls per instance, two "
    "instances, one job: more than 20 in 5 min even without the first scrape's",
}

# Alerts that must stay quiet here, each with its reason.
QUIET = {
    "alert:OtelAIHighLatencyP95": Reason(
        "the simulator answers in milliseconds; p95 is far below the 10 s threshold",
        data=(_threshold_lhs("alert:OtelAIHighLatencyP95"),),
    ),
    "alert:OtelAISlowTimeToFirstChunkP95": Reason(
        "the simulator streams its first chunk at once; p95 is far below the 2 s threshold",
        data=(_threshold_lhs("alert:OtelAISlowTimeToFirstChunkP95"),),
    ),
    "alert:OtelAIEvaluationScoreLow": Reason(
        "the workload calls no otel_ai.evaluate(): evaluation score series do not exist, while calls have data",
        empty=("otel_ai_evaluation_score_count",),
        data=("otel_ai_client_requests_total",),
    ),
    "alert:OtelAICostBurnRateHigh": Reason(
        "a few dozen gpt-4o-mini calls cost micro-dollars: far below 2 x the daily budget",
        data=(_threshold_lhs("alert:OtelAICostBurnRateHigh"),),
    ),
    "alert:OtelAIDailyCostBudgetExceeded": Reason(
        "the same spend is far below the daily budget",
        data=(_threshold_lhs("alert:OtelAIDailyCostBudgetExceeded"),),
    ),
    "alert:OtelAIMonthlyCostForecastOverBudget": Reason(
        "the 30-day forecast and the monthly budget both exist; the forecast is below the budget",
        data=_binary_sides("alert:OtelAIMonthlyCostForecastOverBudget", "> on()"),
    ),
    "alert:OtelAIUnpricedCalls": Reason(
        "every model the workload calls is priced: unpriced series do not exist, while the cost counter has data",
        empty=("otel_ai_client_unpriced_total",),
        data=("otel_ai_client_cost_total",),
    ),
    "alert:OtelAINoTelemetry": Reason(
        "absent() is empty because target_info exists",
        data=(RULES["alert:OtelAINoTelemetry"]["expr"].strip().removeprefix("absent(").removesuffix(")"),),
    ),
    "alert:OtelAIServiceStoppedReporting": Reason(
        "the job seen within the hour still reports now: both sides of `unless` have data",
        data=_binary_sides("alert:OtelAIServiceStoppedReporting", "unless"),
    ),
}

# Alerts on the host running the tests: their outcome depends on that machine (a busy CI runner may well be above
# 90% CPU). The threshold's left-hand side must have data, and any result must be among its series.
HOST_DEPENDENT = {
    rule_id: Reason("depends on the machine running the tests", data=(_threshold_lhs(rule_id),))
    for rule_id in (
        "alert:OtelAIHostHighCPU",
        "alert:OtelAIHostHighMemory",
        "alert:OtelAIHostDiskSlowIO",
        "alert:OtelAIHostDiskAlmostFull",
    )
}

# The apps run with the default OTEL_AI_SYSTEM_METRICS=basic: the panels of the Host and process dashboard's
# collapsed "Full set only" row have no data, while the basic metrics next to them do.
FULL_SET_ONLY = Reason(
    "OTEL_AI_SYSTEM_METRICS=basic (the default) does not collect these; they sit in the collapsed row that says so",
    empty=(
        "system_swap_utilization",
        "system_network_errors_total",
        "system_network_dropped_packets_total",
        "process_context_switches_total",
        "process_memory_virtual_bytes",
        "process_disk_io_bytes_total",
        "cpython_gc_collections_total",
    ),
    data=("system_memory_utilization", "system_network_io_bytes_total", "process_memory_usage_bytes"),
)


def _full_set_only_queries() -> set[str]:
    """Ids of the queries in rows titled for OTEL_AI_SYSTEM_METRICS=full."""
    out = set()
    for path in DASHBOARDS:
        for row in json.loads(path.read_text())["panels"]:
            if row["type"] == "row" and "OTEL_AI_SYSTEM_METRICS=full" in row["title"]:
                for panel in row["panels"]:
                    out |= {f"{path.stem}/{_slug(panel['title'])}/{t['refId']}" for t in panel["targets"]}
    return out


FULL_SET_ONLY_QUERIES = _full_set_only_queries()

# Grouping labels that no series carries yet (a panel grouped by one shows one series without that label).
LABELS_NOT_RECORDED = {
    "otel_ai_task_type": Reason(
        "the agent does not record otel_ai.task.type on any metric yet: 'Cost by task type' shows one series "
        "without the label",
        empty=('{otel_ai_task_type=~".+"}',),
        data=("otel_ai_client_cost_total",),
    ),
}


_AUDIO_FILTER = re.compile(r'gen_ai_operation_name=~?"[^"]*\b(text_to_speech|speech_to_text|sound_generation)\b')


def expected_empty(query: Query) -> Reason | None:
    if _AUDIO_FILTER.search(query.expr) and 'otel_ai_outcome="error"' in query.expr:  # audio error panels
        return NO_AUDIO_ERRORS
    if query.id in FULL_SET_ONLY_QUERIES:
        return FULL_SET_ONLY
    return QUIET.get(query.id)


# --- the stack ------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(url: str, data: dict[str, Any] | None = None, timeout: float = 10) -> tuple[int, bytes]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, data=body, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _wait(what: str, check: Callable[[], bool], timeout: float, procs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode} while waiting for {what}"
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def _rfc3339(text: str) -> float:
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", text).replace("Z", "+00:00")).timestamp()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class App:
    name: str
    port: int
    metrics_url: str
    log: Path
    exposition: str = ""

    @property
    def instance(self) -> str:
        return self.metrics_url.split("/")[2]

    def get(self, path: str) -> int:
        status, _ = _http(f"http://127.0.0.1:{self.port}{path}", timeout=30)
        return status


@dataclass
class Stack:
    url: str
    apps: list[App]
    at: float  # the instant every query is evaluated at
    logs: list[Path]

    def api(self, path: str, **params: Any) -> dict:
        """GET /api/v1/<path>; queries are POSTed, as Grafana's datasource does (httpMethod: POST)."""
        url = f"{self.url}/api/v1/{path}"
        if path == "query":
            status, body = _http(url, params)
        else:
            status, body = _http(f"{url}?{urllib.parse.urlencode(params)}" if params else url)
        answer = json.loads(body)
        assert answer["status"] == "success", f"HTTP {status}: {answer.get('errorType')}: {answer.get('error')}"
        return answer["data"]

    def query(self, expr: str) -> list[dict]:
        """Evaluate at the stack's instant. Prometheus answers 400 bad_data for an expression it cannot parse."""
        data = self.api("query", query=expr, time=f"{self.at:.3f}")
        assert data["resultType"] == "vector", data["resultType"]
        return data["result"]


def _app_env(sim: OpenAISimulator, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "EXAMPLE_"))}
    env.update(
        OTEL_SERVICE_NAME=SERVICE,
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=sim.base_url,
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def stack(prom_tools: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("live-prometheus")
    instrument = BIN / "opentelemetry-instrument"
    assert instrument.exists(), f"{instrument} missing: pip install -e '.[test]'"
    with contextlib.ExitStack() as cleanup:
        sim = cleanup.enter_context(OpenAISimulator())
        procs: dict[str, subprocess.Popen] = {}

        def start(name: str, cmd: list[str], env: dict[str, str] | None = None) -> Path:
            log = tmp / f"{name}.log"
            with log.open("wb") as out:
                procs[name] = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            cleanup.callback(_stop, procs[name])
            return log

        # Two instances of the example app, one per direct-scrape path.
        apps = []
        for name, extra in (
            ("mounted", {"OTEL_METRICS_EXPORTER": "otel_ai_prometheus"}),
            ("exporter", {"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1"}),
        ):
            port = _free_port()
            if name == "exporter":
                extra["OTEL_EXPORTER_PROMETHEUS_PORT"] = str(metrics_port := _free_port())
                metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            else:
                metrics_url = f"http://127.0.0.1:{port}/metrics/"  # the mount redirects /metrics to /metrics/
            cmd = [str(instrument), sys.executable, "examples/app.py", "--serve", "--host", "127.0.0.1"]
            log = start(name, [*cmd, "--port", str(port)], _app_env(sim, **extra))
            apps.append(App(name, port, metrics_url, log))

        # Prometheus: the rule files of deploy/prometheus/prometheus.yml, one job scraping both instances.
        rule_files = [str(PROMETHEUS_CONFIG.parent / pattern) for pattern in load_yaml(PROMETHEUS_CONFIG)["rule_files"]]
        targets = [
            {"targets": [app.instance], "labels": {"__metrics_path__": app.metrics_url.split(app.instance, 1)[1]}}
            for app in apps
        ]
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": rule_files,
            "scrape_configs": [{"job_name": SERVICE, "static_configs": targets}],
        }
        (tmp / "prometheus.yml").write_text(json.dumps(config, indent=2))
        prom_port = _free_port()
        cleanup.callback(shutil.rmtree, tmp / "data", ignore_errors=True)  # runs after Prometheus stopped
        prom_log = start(
            "prometheus",
            [
                prom_tools["prometheus"],
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
        )
        url = f"http://127.0.0.1:{prom_port}"
        stack = Stack(url, apps, at=0.0, logs=[prom_log, *(app.log for app in apps)])

        try:
            for app in apps:
                _wait(f"{app.name} at {app.metrics_url}", lambda app=app: _http(app.metrics_url)[0] == 200, 45, procs)
            _wait("Prometheus ready", lambda: _http(f"{url}/-/ready")[0] == 200, 30, procs)

            def scraped_after(t: float) -> bool:
                """Both instances scraped successfully since t (so the scrape saw what was sent before t)."""
                stamps = stack.api("query", query=f'timestamp(up{{job="{SERVICE}"}})')["result"]
                up = stack.api("query", query=f'up{{job="{SERVICE}"}}')["result"]
                return (
                    len(stamps) == len(up) == len(apps)
                    and all(float(s["value"][1]) > t for s in stamps)
                    and all(s["value"][1] == "1" for s in up)
                )

            _wait("both targets up", lambda: scraped_after(0), 30, procs)

            def send(scenario: str, paths: tuple[str, ...], status: int) -> None:
                sim.default_scenario = scenario
                with ThreadPoolExecutor(len(apps)) as pool:
                    for app, got in zip(apps, pool.map(lambda a: [a.get(p) for p in paths], apps), strict=True):
                        assert got == [status] * len(paths), f"{app.name} {scenario}: {got}"
                sim.default_scenario = "ok"

            for i in range(ROUNDS):
                send("ok", OK_PATHS, 200)
                send("rate_limit", RATE_LIMITED_PATHS, 500)  # the app has no error handler: 500
                send("bad_request", REJECTED_PATHS, 500)
                end = time.time()
                _wait(f"a scrape after round {i + 1}", lambda end=end: scraped_after(end), 15, procs)
                # and one more: the simulators answer in about a millisecond, and rounds one scrape
                # apart would make the spend rate (and so the 30-day forecast) steeper than the
                # budget the forecast rule is checked against (that the alert stays quiet)
                end = time.time()
                _wait(f"a second scrape after round {i + 1}", lambda end=end: scraped_after(end), 15, procs)
            last_scrape = time.time()

            def rules_evaluated() -> bool:
                groups = stack.api("rules")["groups"]
                return len(groups) == len(RULE_GROUPS) and all(
                    _rfc3339(g["lastEvaluation"]) > last_scrape for g in groups
                )

            _wait("a rule evaluation after the last scrape", rules_evaluated, 15, procs)
            stack.at = time.time()
            for app in apps:
                status, body = _http(app.metrics_url)
                assert status == 200
                app.exposition = body.decode()
        except BaseException:
            for log in stack.logs:
                sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}\n")
            raise
        yield stack


# --- the tests ----------------------------------------------------------------------------------------------------
def _labels(series: list[dict]) -> list[dict[str, str]]:
    return [s["metric"] for s in series]


def _check_reason(stack: Stack, reason: Reason) -> None:
    for expr in reason.empty:
        assert stack.query(expr) == [], f"{expr} has data, so this is no longer true: {reason.why}"
    for expr in reason.data:
        assert stack.query(expr), f"{expr} has no data: the emptiness is not explained by: {reason.why}"


def _grouping_labels(expr: str) -> set[str]:
    return {label.strip() for group in re.findall(r"\bby\s*\(([^)]*)\)", expr) for label in group.split(",")} - {
        "le",
        "",
    }


def _check_result(stack: Stack, query: Query, may_be_empty: bool = False) -> list[dict]:
    result = stack.query(query.expr)
    reason = expected_empty(query)
    if reason is not None:
        assert result == [], f"expected empty ({reason.why}), got {_labels(result)}"
        _check_reason(stack, reason)
        return result
    assert result or may_be_empty, f"no data for {query.expr}"
    # A panel or rule grouped `by (x)` must really get series with x: a misspelt label also "returns data".
    for label in _grouping_labels(query.expr) if result else ():
        present = any(s["metric"].get(label) for s in result)
        if label in LABELS_NOT_RECORDED:
            assert not present, f"{label} is recorded now: drop it from LABELS_NOT_RECORDED"
            _check_reason(stack, LABELS_NOT_RECORDED[label])
        else:
            assert present, f"no series has the grouping label {label}: {_labels(result)}"
    return result


def test_both_instances_are_scraped_on_their_own_path(stack: Stack):
    up = stack.query(f'up{{job="{SERVICE}"}}')
    assert {s["metric"]["instance"]: s["value"][1] for s in up} == {app.instance: "1" for app in stack.apps}
    scrapes = stack.query(f'count_over_time(up{{job="{SERVICE}"}}[1m])')
    assert all(float(s["value"][1]) >= ROUNDS + 1 for s in scrapes), scrapes
    for app in stack.apps:
        calls = stack.query(f'sum by (otel_ai_outcome) (otel_ai_client_requests_total{{instance="{app.instance}"}})')
        outcomes = {s["metric"]["otel_ai_outcome"]: float(s["value"][1]) for s in calls}
        ok, failed = len(OK_PATHS) * ROUNDS, (len(RATE_LIMITED_PATHS) + len(REJECTED_PATHS)) * ROUNDS
        assert outcomes == {"ok": ok, "error": failed}, app.name


def test_both_paths_expose_the_same_metric_names(stack: Stack):
    """otel_ai_prometheus + metrics_app() and the OpenTelemetry exporter's own server: same names."""
    names = []
    for app in stack.apps:
        found = {line.split("{")[0].split(" ")[0] for line in app.exposition.splitlines() if line[:1].isalpha()}
        names.append(found & PRODUCED)
    assert names[0] == names[1]
    assert "otel_ai_client_cost_total" in names[0] and "system_cpu_utilization" in names[0]
    # The example app's speech call feeds the audio dashboard on both paths.
    assert "otel_ai_client_characters_total" in names[0]
    assert "otel_ai_client_audio_real_time_factor_bucket" in names[0]


def test_every_rule_group_is_loaded_and_healthy(stack: Stack):
    groups = {g["name"]: g for g in stack.api("rules")["groups"]}  # Prometheus lists them by name
    assert sorted(groups) == sorted(g["name"] for g in RULE_GROUPS)
    for expected in RULE_GROUPS:
        group = groups[expected["name"]]
        assert Path(group["file"]).resolve() == RULES_FILE.resolve()
        assert [r["name"] for r in group["rules"]] == [r.get("alert") or r["record"] for r in expected["rules"]]
        for rule in group["rules"]:
            assert (rule["health"], rule.get("lastError", "")) == ("ok", ""), rule["name"]


@pytest.mark.parametrize("query", DASHBOARD_QUERIES, ids=lambda q: q.id)
def test_dashboard_query(stack: Stack, query: Query):
    result = _check_result(stack, query)
    # a panel that groups calls by provider shows each provider the app called (the audio dashboard's
    # panels are about speech calls only)
    if "gen_ai_provider_name" in _grouping_labels(query.expr) and not query.id.startswith("audio/"):
        assert {s["metric"]["gen_ai_provider_name"] for s in result} == PROVIDERS, query.expr


def test_the_provider_variable_lists_every_provider_called(stack: Stack):
    values = stack.api("label/gen_ai_provider_name/values", **{
        "match[]": f'otel_ai_client_requests_total{{job="{SERVICE}"}}', "start": stack.at - 3600, "end": stack.at})
    assert set(values) == PROVIDERS


@pytest.mark.parametrize("query", RULE_QUERIES, ids=lambda q: q.id)
def test_rule_query(stack: Stack, query: Query):
    host_dependent = HOST_DEPENDENT.get(query.id)
    result = _check_result(stack, query, may_be_empty=host_dependent is not None)
    if host_dependent is not None:
        _check_reason(stack, host_dependent)
        (lhs,) = host_dependent.data
        assert {json.dumps(m, sort_keys=True) for m in _labels(result)} <= {
            json.dumps(m, sort_keys=True) for m in _labels(stack.query(lhs))
        }
    if query.id in FIRING:
        assert result, FIRING[query.id]


@pytest.mark.parametrize("query", VARIABLE_QUERIES, ids=lambda q: q.id)
def test_dashboard_variable(stack: Stack, query: Query):
    label, selector = query.expr.split("|", 1)
    values = stack.api(f"label/{label}/values", **{"match[]": selector, "start": stack.at - 3600, "end": stack.at})
    reason = expected_empty(query)
    if reason is not None:
        assert values == [], reason.why
        _check_reason(stack, reason)
    elif label == "job":
        assert values == [SERVICE]
    elif label == "instance":
        assert sorted(values) == sorted(app.instance for app in stack.apps)
    else:
        assert values, f"label_values({selector}, {label}) is empty"


def test_expected_alerts_are_pending(stack: Stack):
    alerts = {a["labels"]["alertname"] for a in stack.api("alerts")["alerts"] if a["state"] in ("pending", "firing")}
    firing = {rule_id.removeprefix("alert:") for rule_id in FIRING}
    maybe = {rule_id.removeprefix("alert:") for rule_id in HOST_DEPENDENT}
    assert firing <= alerts <= firing | maybe


def test_the_outcome_tables_cover_every_alert_exactly_once():
    alerts = {rule_id for rule_id in RULES if rule_id.startswith("alert:")}
    tables = [set(FIRING), set(QUIET), set(HOST_DEPENDENT)]
    assert sum(len(t) for t in tables) == len(alerts)
    assert set().union(*tables) == alerts
    assert {q.id for q in DASHBOARD_QUERIES} | {q.id for q in RULE_QUERIES} >= set(QUIET)
    assert len({q.id for q in DASHBOARD_QUERIES}) == len(DASHBOARD_QUERIES), "ambiguous test ids"
