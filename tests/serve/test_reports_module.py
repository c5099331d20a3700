"""`otel_ai.serve.reports` (what `otel-ai report` builds its reports with) loads no web framework.

Checked in a fresh interpreter, since this test process has imported FastAPI long before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WEB: tuple[str, ...] = ("fastapi", "starlette")


def _loaded_after(code: str) -> dict[str, bool]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {WEB!r}}}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    loaded: dict[str, bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_reports_loads_no_web_framework() -> None:
    assert _loaded_after("import otel_ai.serve.reports") == dict.fromkeys(WEB, False)


def test_a_report_from_the_cli_loads_no_web_framework(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    db = tmp_path / "none.db"  # not there: the report is the empty one, made in a scratch directory
    code = ("import contextlib, io\nfrom otel_ai.cli.report import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            f"    assert main(['summary', '--db', {str(db)!r}, '--format', 'json']) == 0\n")
    assert _loaded_after(code) == dict.fromkeys(WEB, False)
