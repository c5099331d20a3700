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
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scripts" / "demo.sh"
RUN_LIMIT_S = 240.0  # the demo takes about 25 s on the 2-core machine
CONVERSATION = "weather-demo-1"  # the conversation examples/app.py --agent holds with /agent


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
    _check_agent_output(output)


def _check_agent_output(output: str) -> None:
    """The LangGraph agent: its units on the console, two turns of one conversation, the first one evaluated,
    and the conversations and evaluations reports from serve's store."""
    turns = [json.loads(found) for found in re.findall(r"GET /agent\s+-> (.*)", output)]
    assert len(turns) == 2, output[-3000:]
    first, second = turns
    assert first["tools"] == ["get_weather"] and first["calls"] == 2 and "18 degrees and sunny" in first["answer"]
    assert first["evaluation"] == {"name": "grounded", "score": 1.0, "label": "pass"}
    assert second["tools"] == [] and second["calls"] == 1 and second["evaluation"] is None
    assert first["conversation"] == second["conversation"] == CONVERSATION
    agent = output.index("GET /agent")
    for line in ("[otel-ai] execute_tool get_weather", "[otel-ai] invoke_agent weather_agent  calls=2",
                 "[otel-ai] invoke_workflow weather_chat  calls=2"):
        assert line in output[output.index("GET /digest"):agent], line  # the first turn's units, before its answer
    conversations = re.search(rf"^{CONVERSATION}\s+alice\s+3\s+0\s", output, re.MULTILINE)
    assert conversations, output[-3000:]  # report conversations: the 3 calls of both turns, under alice
    assert conversations.start() > output.rindex("GET /agent")
    assert re.search(r"^grounded\s+gpt-4o-mini\s+\S+\s+1\s+1\s+1\s", output, re.MULTILINE), output[-3000:]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


def _check_agent_in_store(dashboard: str) -> None:
    """What reached otel-ai serve: each turn one trace (workflow > agent > graph nodes > the provider's chat
    spans and the tool), the conversation and user on every span of it, and the evaluation joined to the call
    that gave the evaluated answer."""
    api = dashboard + "/api/v1"
    [conversation] = [c for c in _get(api + "/conversations")["items"] if c["conversation_id"] == CONVERSATION]
    assert conversation["calls"] == 3 and conversation["user"] == "alice" and conversation["cost_usd"] > 0
    turns = _get(f"{api}/conversations/{CONVERSATION}")["turns"]
    traces = list(dict.fromkeys(turn["trace_id"] for turn in turns))
    assert len(traces) == 2 and [sum(t["trace_id"] == trace for t in turns) for trace in traces] == [2, 1]

    trace = _get(f"{api}/traces/{traces[0]}")
    spans = {span["span_id"]: span for span in trace["spans"]}
    assert trace["span_total"] == len(spans)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans.values():
        by_name.setdefault(span["name"], []).append(span)

    def parent(span: dict[str, Any]) -> str:
        return str(spans[span["parent_span_id"]]["name"])

    [workflow] = by_name["invoke_workflow weather_chat"]
    [agent] = by_name["invoke_agent weather_agent"]
    [tool] = by_name["execute_tool get_weather"]
    chats = by_name["chat gpt-4o-mini"]
    # one root: the workflow, or the app's HTTP server span above it where FastAPI is instrumented too
    assert trace["root_count"] == 1 and trace["roots"][0] in (workflow["span_id"], workflow["parent_span_id"])
    assert parent(agent) == "invoke_workflow weather_chat"
    assert parent(tool) == "task tools" and parent(spans[tool["parent_span_id"]]) == "invoke_agent weather_agent"
    assert len(chats) == 2 and all(parent(chat) == "task model" for chat in chats)  # one span per model call
    assert all(spans[chat["parent_span_id"]]["parent_span_id"] == agent["span_id"] for chat in chats)
    assert all(chat["scope"]["name"] != "otel_ai.work" for chat in chats)  # the OpenAI instrumentation's span
    assert tool["attributes"]["gen_ai.tool.call.id"]
    for span in (workflow, agent, tool, *chats):
        assert span["attributes"]["gen_ai.conversation.id"] == CONVERSATION, span["name"]
        assert span["attributes"]["user.id"] == "alice", span["name"]
    chat_cost = sum(float(chat["attributes"]["otel_ai.cost.usd"]) for chat in chats)
    for unit in (workflow, agent):  # the calls' cost rolled up
        assert unit["attributes"]["otel_ai.task.calls"] == 2
        assert float(unit["attributes"]["otel_ai.task.cost.usd"]) == pytest.approx(chat_cost)

    [evaluation] = _get(api + "/evaluations")["items"]
    final = max(chats, key=lambda chat: chat["start_ns"])  # the call that gave the answer evaluated
    assert (evaluation["name"], evaluation["score"], evaluation["label"]) == ("grounded", 1.0, "pass")
    assert (evaluation["trace_id"], evaluation["span_id"]) == (traces[0], final["span_id"])
    assert evaluation["response_id"] == final["attributes"]["gen_ai.response.id"]
    assert evaluation["cost_usd"] == pytest.approx(float(final["attributes"]["otel_ai.cost.usd"]))


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
        _check_agent_in_store(dashboard)

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
