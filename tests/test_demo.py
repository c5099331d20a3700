"""`scripts/demo.sh` as a newcomer runs it: from a terminal it keeps serving the dashboard it printed until
Ctrl-C; without one (CI, a pipe) it exits. Both runs are the real script, offline against the simulators,
with the test's own virtual env (`DEMO_SKIP_INSTALL=1`), bounded in time.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import termios
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scripts" / "demo.sh"
RUN_LIMIT_S = 240.0  # the demo takes about 20 s on the 2-core machine


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_", "DEMO_")) and k != "CI"}
    env.update(VENV=str(Path(sys.executable).parent.parent), DEMO_SKIP_INSTALL="1", TERM="dumb", **extra)
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(answer.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _dashboard(output: str) -> str:
    found = re.search(r"otel-ai serve: dashboard (http://127\.0\.0\.1:\d+)/", output)
    assert found, output[-3000:]
    return found.group(1)


def _check_demo_output(output: str) -> None:
    """What the demo shows on the way: every call, the budget crossing as it happens, whole answers."""
    assert "[otel-ai] chat gpt-4o-mini" in output
    assert "[otel-ai] invoke_workflow digest" in output
    # demo-daily (limit $0.001) is crossed by the speech call: the notice comes with the calls, not at the end.
    notice = output.index("[otel-ai] budget critical: budget 'demo-daily' reached its limit")
    assert notice < output.index("GET /digest")
    digest = re.search(r"GET /digest\s+-> (.*)", output)
    assert digest, output[-3000:]
    body = json.loads(digest.group(1).strip())  # a whole JSON object, not cut mid-string
    assert body["topic"] == "tracing" and body["calls"] == 4 and len(body["summaries"]) == 3


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def test_without_a_terminal_the_demo_exits_and_stops_the_server() -> None:
    proc = subprocess.Popen(["bash", str(DEMO)], cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=RUN_LIMIT_S)
    finally:
        _stop_group(proc)
    output = out.decode(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    _check_demo_output(output)
    assert "stopping otel-ai serve (no terminal or CI=true" in output
    assert not _answers(_dashboard(output) + "/api/v1/health")  # the server went with the demo


def _on_a_terminal(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int, list[bytes]]:
    """The demo with a pseudo-terminal as its controlling terminal (stdin, stdout and stderr), as in a shell."""
    master, slave = os.openpty()

    def controlling_terminal() -> None:  # runs in the child after setsid (start_new_session)
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(["bash", str(DEMO)], cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=controlling_terminal)
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO once the last process holding the terminal is gone
                return
            if not data:
                return
            chunks.append(data)

    threading.Thread(target=read, daemon=True).start()
    return proc, master, chunks


def _wait_for(chunks: list[bytes], text: str, proc: subprocess.Popen[bytes], limit_s: float) -> str:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        output = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
        if text in output:
            return output
        if proc.poll() is not None:
            time.sleep(0.5)  # the last output
            output = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
            pytest.fail(f"the demo exited ({proc.returncode}) before {text!r}:\n{output[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {text!r} within {limit_s:g} s:\n{b''.join(chunks).decode(errors='replace')[-3000:]}")


def test_from_a_terminal_the_demo_keeps_serving_until_ctrl_c() -> None:
    proc, master, chunks = _on_a_terminal(_env())
    try:
        output = _wait_for(chunks, "until you press Ctrl-C", proc, RUN_LIMIT_S)
        _check_demo_output(output)
        dashboard = _dashboard(output)
        time.sleep(1.0)
        assert proc.poll() is None, "the demo exited instead of serving"
        assert _answers(dashboard + "/"), "the dashboard URL the demo printed does not answer"
        assert _answers(dashboard + "/api/v1/summary")

        os.write(master, b"\x03")  # Ctrl-C: the terminal sends SIGINT to the foreground process group
        assert proc.wait(timeout=30) == 130
        assert not _answers(dashboard + "/api/v1/health")  # otel-ai serve stopped with it
        assert "stopping otel-ai serve" in _wait_for(chunks, "stopping otel-ai serve", proc, 5)
    finally:
        _stop_group(proc)
        os.close(master)


def test_ci_true_exits_even_on_a_terminal() -> None:
    proc, master, chunks = _on_a_terminal(_env(CI="true"))
    try:
        assert proc.wait(timeout=RUN_LIMIT_S) == 0
        time.sleep(0.3)
        output = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
        assert "stopping otel-ai serve (no terminal or CI=true" in output
        assert not _answers(_dashboard(output) + "/api/v1/health")
    finally:
        _stop_group(proc)
        os.close(master)
