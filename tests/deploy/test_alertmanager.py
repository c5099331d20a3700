"""Alertmanager config: amtool validation, routing by severity, no committed secrets, a real Alertmanager run."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .support import ALERTMANAGER_CONFIG, COMPOSE, DEPLOY, REPO, load_yaml, run_tool

pytestmark = pytest.mark.timeout(900)  # the first test may install Alertmanager with apt-get

CONFIG = load_yaml(ALERTMANAGER_CONFIG)
SECRETS_DIR = "/etc/alertmanager/secrets/"


def test_amtool_check_config(prom_tools):
    result = run_tool(prom_tools["amtool"], "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=OtelAIDailyCostBudgetExceeded"], "critical"),
        (["severity=warning", "alertname=OtelAIHighErrorRate"], "warning"),
        (["severity=info", "alertname=Anything"], "webhook"),
        (["alertname=NoSeverity"], "webhook"),
    ],
)
def test_routes_by_severity(prom_tools, labels, receiver):
    result = run_tool(prom_tools["amtool"], "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_receivers_notify_webhook_slack_and_email_by_severity():
    receivers = {r["name"]: {k for k in r if k.endswith("_configs")} for r in CONFIG["receivers"]}
    assert receivers == {
        "webhook": {"webhook_configs"},
        "warning": {"webhook_configs", "slack_configs"},
        "critical": {"webhook_configs", "slack_configs", "email_configs"},
    }


def _walk(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
            yield f"{path}.{key}", key, value
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def test_no_secret_is_committed_and_every_secret_comes_from_a_mounted_file():
    inline = {
        "api_url",
        "slack_api_url",
        "auth_password",
        "smtp_auth_password",
        "password",
        "credentials",
        "bearer_token",
        "api_key",
        "auth_secret",
        "routing_key",
        "service_key",
        "url_file_contents",
    }
    found = [(path, key) for path, key, _ in _walk(CONFIG) if key in inline]
    assert found == []
    files = {key: value for _, key, value in _walk(CONFIG) if key.endswith("_file")}
    assert set(files) >= {"slack_api_url_file", "smtp_auth_password_file", "credentials_file"}
    assert all(value.startswith(SECRETS_DIR) for value in files.values()), files
    # The compose stack mounts the (git-ignored) secrets directory there.
    volumes = load_yaml(COMPOSE)["services"]["alertmanager"]["volumes"]
    assert f"./alertmanager/secrets:{SECRETS_DIR.rstrip('/')}:ro" in volumes
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/alertmanager/secrets"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(tracked) <= {"deploy/alertmanager/secrets/.gitignore", "deploy/alertmanager/secrets/README.md"}
    ignored = (DEPLOY / "alertmanager" / "secrets" / ".gitignore").read_text().splitlines()
    assert "*" in ignored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(url: str, body: object | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def test_real_alertmanager_routes_a_critical_alert(prom_tools, tmp_path: Path):
    """Start the packaged Alertmanager on 127.0.0.1 with the committed config, post alerts of each
    severity and check which receiver each group went to."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            prom_tools["alertmanager"],
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"--storage.path={tmp_path}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v2"
        deadline = time.monotonic() + 30
        while True:
            try:
                status = _request(f"{base}/status")
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else "alertmanager exited"
                assert time.monotonic() < deadline, "alertmanager did not answer"
                time.sleep(0.3)
        assert "receiver: critical" in status["config"]["original"]
        alerts = [
            {"labels": {"alertname": name, "severity": severity, "job": "chatbot"}, "annotations": {"summary": "test"}}
            for name, severity in [
                ("OtelAIDailyCostBudgetExceeded", "critical"),
                ("OtelAIHighErrorRate", "warning"),
                ("SomethingInformational", "info"),
            ]
        ]
        _request(f"{base}/alerts", alerts)
        groups: list = []
        deadline = time.monotonic() + 15
        while len(groups) < 3 and time.monotonic() < deadline:
            groups = _request(f"{base}/alerts/groups")
            time.sleep(0.3)
        routed = {g["alerts"][0]["labels"]["alertname"]: g["receiver"]["name"] for g in groups}
        # The critical alert inhibits the warning of the same job: it is still grouped, but marked inhibited.
        assert routed == {
            "OtelAIDailyCostBudgetExceeded": "critical",
            "OtelAIHighErrorRate": "warning",
            "SomethingInformational": "webhook",
        }
        states = {a["labels"]["alertname"]: a["status"]["state"] for g in groups for a in g["alerts"]}
        assert states["OtelAIHighErrorRate"] == "suppressed"
        assert states["OtelAIDailyCostBudgetExceeded"] == "active"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
