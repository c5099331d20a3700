"""`--help` of `otel-ai` and of every subcommand, through the installed console script.

argparse formats help text only when `--help` is asked for, so a help string it cannot format (a bare
`%`, as in "0.2 or 20%") crashes only then. The subcommands are found in the help output itself, so a
subcommand added later is covered without touching this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The subcommand line of the "positional arguments:" section: "  {run,check,serve,report}".
_CHOICES = re.compile(r"^  \{([a-z][a-z0-9_-]*(?:,[a-z][a-z0-9_-]*)+)\}$", re.MULTILINE)


def _otel_ai() -> str:
    beside = Path(sys.executable).parent / "otel-ai"
    found = str(beside) if beside.exists() else shutil.which("otel-ai")
    if found is None:
        pytest.fail("the otel-ai console script is not installed (pip install -e .)")
    return found


def _help(words: list[str]) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "COLUMNS"))}
    done = subprocess.run([_otel_ai(), *words, "--help"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, f"otel-ai {' '.join(words)} --help exited {done.returncode}:\n{done.stderr}"
    assert done.stderr == "", done.stderr
    assert done.stdout.startswith("usage: otel-ai"), done.stdout[:200]
    return done.stdout


def _subcommands(help_text: str) -> list[str]:
    """The subcommands listed under "positional arguments:", if any (not an option's choices)."""
    section = help_text.partition("\npositional arguments:\n")[2]
    found = _CHOICES.findall(section)
    return found[0].split(",") if found else []


def _walk(words: list[str], seen: list[list[str]]) -> None:
    text = _help(words)
    seen.append(words)
    for name in _subcommands(text):
        _walk([*words, name], seen)


def test_every_help_formats() -> None:
    seen: list[list[str]] = []
    _walk([], seen)
    names = {" ".join(words) for words in seen}
    # The known tree is all there (and the walk found the subcommands, not nothing).
    assert {"", "run", "check", "serve", "report", "report summary", "report costs", "report errors",
            "report forecast"} <= names, sorted(names)


def test_serve_help_shows_the_percent_and_the_variables() -> None:
    text = " ".join(_help(["serve"]).split())
    assert "0.2 or 20%" in text
    assert "[OTEL_AI_SERVE_ALERT_ERROR_RATE]" in text
