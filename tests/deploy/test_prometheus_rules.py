"""Alert and recording rules: promtool checks and unit tests, coverage of every alert, a real Prometheus run."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .metric_names import AGENT_LABELS, BASIC_SYSTEM_METRICS, FILESYSTEM_LABELS, PRODUCED
from .support import (
    DOCS,
    PROMETHEUS_CONFIG,
    REPO,
    RULE_TESTS,
    RULES_FILE,
    load_yaml,
    promql_names,
    run_tool,
)

pytestmark = pytest.mark.timeout(900)  # the first test may install Prometheus with apt-get

RULES = [rule for group in load_yaml(RULES_FILE)["groups"] for rule in group["rules"]]
ALERTS = [rule for rule in RULES if "alert" in rule]
RECORDED = {rule["record"] for rule in RULES if "record" in rule}

# Labels the rules may group or filter by: the agent's metric attributes, the system-metrics attributes,
# and what Prometheus itself adds.
HOST_LABELS = {"state", "cpu", "device", "direction", "type", "generation"} | FILESYSTEM_LABELS
KNOWN_LABELS = AGENT_LABELS | HOST_LABELS | {"job", "instance", "le"}


def test_promtool_check_rules(prom_tools):
    result = run_tool(prom_tools["promtool"], "check", "rules", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout


def test_promtool_unit_tests_pass(prom_tools):
    assert len(RULE_TESTS) >= 4, RULE_TESTS
    result = run_tool(prom_tools["promtool"], "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS), result.stdout


def test_promtool_check_config(prom_tools):
    # Rule file paths in prometheus.yml are relative to it, so the check also loads the rules.
    result = run_tool(prom_tools["promtool"], "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in ALERTS}
    assert names - firing == set(), "alerts without a firing test"
    assert names - quiet == set(), "alerts without a not-firing test"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_alert_has_severity_summary_description_runbook(alert):
    assert alert["labels"]["severity"] in {"critical", "warning", "info"}
    for key in ("summary", "description", "runbook"):
        assert len(alert["annotations"].get(key, "").strip()) > 20, key


def test_rules_use_only_metrics_and_labels_the_agent_produces():
    for rule in RULES:
        metrics, labels = promql_names(str(rule["expr"]))
        name = rule.get("alert") or rule.get("record")
        if "vector(" not in str(rule["expr"]):
            assert metrics, f"{name}: no metric found, the scanner is broken"
        assert metrics - PRODUCED - RECORDED == set(), name
        assert labels - KNOWN_LABELS == set(), name


def test_host_alerts_need_only_the_default_system_metrics():
    """OTEL_AI_SYSTEM_METRICS=basic is the default: a host alert on a full-only metric would never fire."""
    (group,) = [g for g in load_yaml(RULES_FILE)["groups"] if g["name"] == "otel-ai-host"]
    for rule in group["rules"]:
        metrics, _ = promql_names(str(rule["expr"]))
        assert metrics <= BASIC_SYSTEM_METRICS, rule["alert"]
    assert "OtelAIHostDiskAlmostFull" in {rule["alert"] for rule in group["rules"]}


def test_thresholds_table_documents_every_alert_and_budget():
    docs = DOCS.read_text()
    table = [line for line in docs.splitlines() if line.startswith("|")]
    for name in [alert["alert"] for alert in ALERTS] + ["otel_ai:budget_usd_per_day", "otel_ai:budget_usd_per_month"]:
        assert any(f"`{name}`" in line for line in table), f"{name} missing from the thresholds table"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_real_prometheus_loads_and_evaluates_every_rule(prom_tools, tmp_path: Path):
    """Start the packaged Prometheus on 127.0.0.1 with deploy/prometheus/prometheus.yml (rules evaluated
    every second instead of 15s) and check every rule evaluates without error in a real server."""
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / pattern) for pattern in config["rule_files"]]
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))
    port = _free_port()
    proc = subprocess.Popen(
        [
            prom_tools["prometheus"],
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        rules: list[dict] = []
        while time.monotonic() < deadline:
            try:
                groups = _get_json(f"{base}/api/v1/rules")["data"]["groups"]
                rules = [rule for group in groups for rule in group["rules"]]
                if len(rules) == len(RULES) and all(rule["health"] != "unknown" for rule in rules):
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "prometheus exited"
            time.sleep(0.5)
        assert len(rules) == len(RULES), rules
        bad = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] != "ok"}
        assert bad == {}
        # An empty Prometheus has no target_info, so "no telemetry" must be on its way to firing.
        alerts = _get_json(f"{base}/api/v1/alerts")["data"]["alerts"]
        assert {a["labels"]["alertname"]: a["state"] for a in alerts} == {"OtelAINoTelemetry": "pending"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(tmp_path / "data", ignore_errors=True)
