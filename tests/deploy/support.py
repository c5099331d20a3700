"""Helpers shared by the deploy tests: paths, YAML loading, collector env defaults, PromQL scanning."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COLLECTOR_CONFIG = REPO / "collector-config.yaml"
COMPOSE = DEPLOY / "docker-compose.yaml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES_DIR = DEPLOY / "prometheus" / "rules"
RULES_FILE = RULES_DIR / "otel-ai.rules.yml"
RULE_TESTS = sorted((RULES_DIR / "tests").glob("*.test.yml"))
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
DASHBOARD_PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yaml"
DOCS = REPO / "docs" / "deploy.md"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def run_tool(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command and keep its output for assertion messages."""
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)


# ${env:NAME:-default} as the collector's confmap resolves it when NAME is unset.
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def resolve_env_defaults(value: str) -> str:
    """Replace every ${env:NAME:-default} by its default; a reference without a default is an error."""

    def _default(match: re.Match[str]) -> str:
        if match.group(2) is None:
            raise ValueError(f"{match.group(0)} has no default: the compose stack would not start")
        return match.group(2)

    return _ENV_REF.sub(_default, value)


def port_of(endpoint: str) -> int:
    """Port of 'host:port' or 'scheme://host:port/path'."""
    hostport = endpoint.split("://", 1)[-1].split("/", 1)[0]
    return int(hostport.rsplit(":", 1)[1])


def host_of(endpoint: str) -> str:
    hostport = endpoint.split("://", 1)[-1].split("/", 1)[0]
    return hostport.rsplit(":", 1)[0]


# --- PromQL scanning ----------------------------------------------------------------------------
# promtool checks the syntax; this finds which metric and label names an expression uses, so they can
# be compared with what the agent produces. It understands the subset of PromQL the repo uses.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_MATCHERS = re.compile(r"\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
_RANGES = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
        "atan2",
    }
)


def promql_names(expr: str) -> tuple[set[str], set[str]]:
    """(metric names, label names) used by a PromQL expression."""
    text = _STRINGS.sub('""', expr)
    labels: set[str] = set()
    for match in _GROUPING.finditer(text):
        labels |= {name.strip() for name in match.group(2).split(",") if name.strip()}
    text = _GROUPING.sub(" ", text)
    for match in _MATCHERS.finditer(text):
        labels |= set(_MATCHER_LABEL.findall(match.group(1)))
    text = _RANGES.sub(" ", _MATCHERS.sub(" ", text))
    metrics: set[str] = set()
    for match in _IDENT.finditer(text):
        name = match.group(0)
        before = text[match.start() - 1] if match.start() else " "
        if before.isdigit() or before == ".":  # 5m in "offset 5m", e in 1e3
            continue
        if text[match.end() :].lstrip().startswith("("):  # function or aggregation
            continue
        if name.lower() in _KEYWORDS:
            continue
        metrics.add(name)
    return metrics, labels


# Grafana's built-in interval variables, replaced by a representative value so promtool can parse.
GRAFANA_BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
_GRAFANA_VAR = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")


def substitute_grafana_variables(expr: str, variables: set[str], builtins: dict[str, str] | None = None) -> str:
    """Replace $__rate_interval & co. by durations (GRAFANA_BUILTINS unless `builtins` is given) and dashboard
    variables by '.*' (their 'All' value)."""
    durations = GRAFANA_BUILTINS if builtins is None else builtins

    def _value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in durations:
            return durations[name]
        if name in variables:
            return ".*"
        raise ValueError(f"undefined dashboard variable ${name} in {expr!r}")

    return _GRAFANA_VAR.sub(_value, expr)
