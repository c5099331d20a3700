"""Fixtures for the deploy tests: the Prometheus and Alertmanager binaries (installed from Debian when missing)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

# Debian's packages: `prometheus` ships prometheus and promtool, `prometheus-alertmanager` ships amtool and
# the server (named prometheus-alertmanager there, alertmanager elsewhere).
_TOOLS = {
    "promtool": ("promtool",),
    "prometheus": ("prometheus",),
    "amtool": ("amtool",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
}


def _find() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for tool, names in _TOOLS.items():
        found[tool] = next((path for name in names if (path := shutil.which(name))), None)
    return found


@pytest.fixture(scope="session")
def prom_tools() -> dict[str, str]:
    """Paths of promtool, prometheus, amtool and alertmanager. Installs them with apt-get when missing;
    fails (never skips) when that is impossible, so CI cannot go green without running them."""
    found = _find()
    if not all(found.values()):
        if os.geteuid() != 0:
            pytest.fail(
                f"missing {[t for t, p in found.items() if not p]} and not root: "
                "apt-get install -y prometheus prometheus-alertmanager"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "prometheus", "prometheus-alertmanager"]):
            result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
            if result.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        found = _find()
    missing = [tool for tool, path in found.items() if not path]
    if missing:
        pytest.fail(f"still missing after apt-get install: {missing}")
    return {tool: str(path) for tool, path in found.items()}
