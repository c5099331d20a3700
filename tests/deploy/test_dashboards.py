"""Grafana dashboards and provisioning: PromQL parses (promtool), only produced metric names, datasource uids."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from .metric_names import AGENT_LABELS, BASIC_SYSTEM_METRICS, FILESYSTEM_LABELS, PREVIOUS_NAMES, PRODUCED
from .support import (
    DASHBOARD_PROVIDERS,
    DASHBOARDS,
    DATASOURCES,
    RULES_FILE,
    load_yaml,
    promql_names,
    run_tool,
    substitute_grafana_variables,
)

pytestmark = pytest.mark.timeout(900)  # the first test may install promtool with apt-get

EXPECTED = {"genai-overview.json", "audio.json", "host-process.json"}
PROVISIONED = {ds["uid"]: ds["type"] for ds in load_yaml(DATASOURCES)["datasources"]}
RECORDED = {r["record"] for g in load_yaml(RULES_FILE)["groups"] for r in g["rules"] if "record" in r}
HOST_LABELS = {"state", "cpu", "device", "direction", "type", "generation"} | FILESYSTEM_LABELS
KNOWN_LABELS = AGENT_LABELS | HOST_LABELS | {"job", "instance", "le"}
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # panels of collapsed rows
    return out


def _variables(dashboard: dict) -> set[str]:
    return {v["name"] for v in dashboard.get("templating", {}).get("list", [])}


def _prometheus_exprs() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expression with variables substituted) for every Prometheus query."""
    out = []
    for path in DASHBOARDS:
        dashboard = _load(path)
        variables = _variables(dashboard)
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid")
                if PROVISIONED.get(uid) == "prometheus":
                    out.append((path.name, panel["title"], substitute_grafana_variables(target["expr"], variables)))
    return out


def test_the_three_dashboards_exist_with_unique_uids():
    assert {p.name for p in DASHBOARDS} == EXPECTED
    uids = [_load(p)["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)


def test_dashboard_provider_loads_the_dashboards_directory():
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert provider["type"] == "file"
    compose = (DATASOURCES.parents[3] / "docker-compose.yaml").read_text()
    assert f"./grafana/dashboards:{provider['options']['path']}:ro" in compose


def test_datasources_are_prometheus_jaeger_elasticsearch():
    assert set(PROVISIONED.values()) == {"prometheus", "jaeger", "elasticsearch"}
    for ds in load_yaml(DATASOURCES)["datasources"]:
        for key, value in (ds.get("jsonData") or {}).items():
            if isinstance(value, dict) and "datasourceUid" in value:
                assert value["datasourceUid"] in PROVISIONED, f"{ds['name']}.{key}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_datasource_reference_is_provisioned(path):
    dashboard = _load(path)
    refs = [v["datasource"] for v in dashboard["templating"]["list"]]
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        refs.append(panel["datasource"])
        refs.extend(t["datasource"] for t in panel.get("targets", []))
        assert panel.get("targets"), f"{panel['title']} has no query"
    for ref in refs:
        assert PROVISIONED.get(ref["uid"]) == ref["type"], ref


def test_every_panel_query_parses(prom_tools, tmp_path):
    """promtool cannot parse a bare expression offline, so every query becomes a recording rule."""
    exprs = _prometheus_exprs()
    assert len(exprs) >= 40, len(exprs)
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [{"record": f"dashboard_query_{i}", "expr": expr} for i, (_, _, expr) in enumerate(exprs)],
            }
        ]
    }
    rule_file = tmp_path / "dashboards.rules.yml"
    rule_file.write_text(yaml.safe_dump(rules))
    result = run_tool(prom_tools["promtool"], "check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


def test_promtool_rejects_a_broken_query(prom_tools, tmp_path):
    """The check above is only worth something if promtool really parses the expressions."""
    rule_file = tmp_path / "broken.rules.yml"
    rule_file.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "x",
                        "rules": [
                            {"record": "broken", "expr": "sum by (job (rate(otel_ai_client_requests_total[5m]))"}
                        ],
                    }
                ]
            }
        )
    )
    assert run_tool(prom_tools["promtool"], "check", "rules", str(rule_file)).returncode != 0


def test_queries_use_only_metrics_and_labels_the_agent_produces():
    for dashboard, title, expr in _prometheus_exprs():
        metrics, labels = promql_names(expr)
        assert metrics, f"{dashboard} / {title}: no metric found"
        assert metrics - PRODUCED - RECORDED == set(), f"{dashboard} / {title}"
        assert labels - KNOWN_LABELS == set(), f"{dashboard} / {title}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_template_variables_query_produced_metrics(path):
    dashboard = _load(path)
    variables = _variables(dashboard)
    assert "job" in variables
    for var in dashboard["templating"]["list"]:
        match = _LABEL_VALUES.match(var["query"]["query"])
        assert match, var["query"]
        assert match["label"] in KNOWN_LABELS
        metrics, labels = promql_names(substitute_grafana_variables(match["selector"], variables))
        assert metrics and metrics <= PRODUCED, var["name"]
        assert labels <= KNOWN_LABELS, var["name"]


def test_genai_overview_covers_the_issue():
    titles = " | ".join(p["title"].lower() for p in _panels(_load(DASHBOARDS[0].parent / "genai-overview.json")))
    for words in (
        "requests",
        "errors by category",
        "tokens",
        "cost per hour by provider",
        "cost per hour by model",
        "cost by task type",
        "p50 / p95 / p99",
        "time to first chunk",
    ):
        assert words in titles, words


def _queries(panel: dict) -> list[set[str]]:
    return [promql_names(substitute_grafana_variables(t["expr"], {"job", "instance"}))[0] for t in panel["targets"]]


def test_host_dashboard_shows_disk_space_and_keeps_full_only_panels_in_a_collapsed_row():
    """With the default OTEL_AI_SYSTEM_METRICS=basic every visible panel has data; what needs `full` waits in
    a collapsed row that says so."""
    dashboard = _load(DASHBOARDS[0].parent / "host-process.json")
    rows = [p for p in dashboard["panels"] if p["type"] == "row"]
    (full_row,) = [r for r in rows if "OTEL_AI_SYSTEM_METRICS=full" in r["title"]]
    assert full_row["collapsed"] is True and full_row["panels"]
    assert dashboard["panels"][-1] is full_row  # last, so collapsing it moves nothing
    visible = [p for p in dashboard["panels"] if p["type"] != "row"]
    for panel in visible:
        for metrics in _queries(panel):
            current = metrics - PREVIOUS_NAMES
            missing = current - BASIC_SYSTEM_METRICS
            assert current and not missing, f"{panel['title']} needs {missing}"
    for panel in full_row["panels"]:
        for metrics in _queries(panel):
            assert metrics - BASIC_SYSTEM_METRICS, f"{panel['title']} has data with basic: show it"
    (disk,) = [p for p in visible if p["title"] == "Filesystem used"]
    assert disk["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert [s["value"] for s in disk["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 0.9]
    assert "system_filesystem_usage_bytes" in disk["targets"][0]["expr"]
    assert 'system_filesystem_state="free"' in disk["targets"][0]["expr"]
