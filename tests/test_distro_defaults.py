"""Quiet, readable traces by default: a real FastAPI app under the agent, in a subprocess.

One `/speak` request (a streamed response, so several ASGI `send` messages) that makes a chat call
to the OpenAI simulator with a model the catalog has no price for. Checked on what the OTLP test
receiver got:

* no `http send` / `http receive` internal spans (OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS=send,receive by
  default), and a value the user set is kept;
* HTTP spans carry the stable HTTP names (`http.request.method`, `http.response.status_code`,
  `url.full`...; OTEL_SEMCONV_STABILITY_OPT_IN=http by default), and a value the user set is kept;
* the unpriced call: `otel_ai.pricing.source=unknown` on its span, one `no price` line on stderr for
  two calls, and `otel_ai.agent.warnings{otel_ai.warning.kind=pricing.unknown_model}` exported;
* with OTEL_LOGS_EXPORTER=none, `configure()` prints nothing about libraries the app does not use
  (the contrib loader's "... but no installed version was found").

Both set-up paths run: `otel_ai.configure()` in the app, and `opentelemetry-instrument` (the distro).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otel_ai.runtime import setup
from tests.support.fake_openai import FakeOpenAI
from tests.support.otlp_receiver import OTLPReceiver, attrs_to_dict

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL = "my-unpriced-model"

APP = """
import os, sys, threading, time
USE_CONFIGURE = os.environ.get("APP_CONFIGURE") == "1"
if USE_CONFIGURE:
    import otel_ai
    otel_ai.configure()

import httpx, openai, uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
client = openai.OpenAI(base_url=os.environ["SIM_URL"], api_key="sk-test-simulator-key", max_retries=0)

@app.get("/speak")
def speak():
    for _ in range(2):  # two unpriced calls: one stderr line
        client.chat.completions.create(model=os.environ["APP_MODEL"], messages=[{"role": "user", "content": "hi"}])
    return StreamingResponse(iter([b"a", b"b", b"c", b"d"]), media_type="text/plain")

port = int(os.environ["APP_PORT"])
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
thread = threading.Thread(target=server.run, daemon=True)
thread.start()
deadline = time.monotonic() + 20
while not server.started and time.monotonic() < deadline:
    time.sleep(0.02)
reply = httpx.get(f"http://127.0.0.1:{port}/speak", timeout=20)
assert reply.status_code == 200 and reply.text == "abcd", reply.text
server.should_exit = True
thread.join(10)
print("app done", file=sys.stderr)
"""


# Two instrumentors of libraries the app does not have in range: one missing, one too old (httpx 0.x
# is not < 0.1). Installed as a real distribution on PYTHONPATH, found by entry point like any other.
FAKE_INSTRUMENTORS = {
    "fake_missing_instrumentor.py": "missing-lib-for-otel-ai-tests >= 1.0",
    "fake_old_instrumentor.py": "httpx < 0.1",
}
INSTRUMENTOR = """
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

class Instrumentor(BaseInstrumentor):
    def instrumentation_dependencies(self):
        return ({requirement!r},)

    def _instrument(self, **kwargs):
        raise AssertionError("instrumented although its library is not there")

    def _uninstrument(self, **kwargs):
        pass
"""


def _fake_instrumentors(where: Path) -> Path:
    """One distribution per instrumentor (the dependency check reads the distribution's requirements)."""
    where.mkdir(parents=True, exist_ok=True)
    for module, requirement in FAKE_INSTRUMENTORS.items():
        name = module[:-3]
        (where / module).write_text(INSTRUMENTOR.format(requirement=requirement))
        info = where / f"{name}-1.0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nProvides-Extra: instruments\n"
            f'Requires-Dist: {requirement.replace(" ", "")} ; extra == "instruments"\n'
        )
        (info / "entry_points.txt").write_text(f"[opentelemetry_instrumentor]\n{name} = {name}:Instrumentor\n")
    return where


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(tmp_path: Path, receiver: OTLPReceiver, sim: FakeOpenAI, *, configure: bool,
         **extra: str) -> subprocess.CompletedProcess[str]:
    app = tmp_path / "speak_app.py"
    app.write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_"))}
    env.update({
        "OTEL_SERVICE_NAME": "speak-app",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_METRIC_EXPORT_INTERVAL": "60000",  # metrics once, at exit
        "SIM_URL": sim.base_url,
        "APP_PORT": str(_free_port()),
        "APP_MODEL": MODEL,
        "APP_CONFIGURE": "1" if configure else "0",
        "PYTHONPATH": str(_fake_instrumentors(tmp_path / "fake_instrumentors")),
        **extra,
    })
    command = [sys.executable, str(app)] if configure else [str(BIN / "opentelemetry-instrument"), sys.executable,
                                                             str(app)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "app done" in result.stderr, result.stderr[-4000:]
    assert receiver.wait_for(lambda: any(s.name.startswith("chat ") for s in receiver.spans()), 10)
    return result


def _server_spans(receiver: OTLPReceiver) -> list[Any]:
    return [s for s in receiver.spans() if "/speak" in s.name]


@pytest.fixture(scope="module")
def sim() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory, sim: FakeOpenAI) -> Iterator[
        tuple[OTLPReceiver, subprocess.CompletedProcess[str]]]:
    """configure() in the app, every default in force, OTLP logs off."""
    with OTLPReceiver() as receiver:
        result = _run(tmp_path_factory.mktemp("speak"), receiver, sim, configure=True, OTEL_LOGS_EXPORTER="none")
        assert receiver.wait_for(lambda: bool(receiver.metrics("otel_ai.agent.warnings")), 10), result.stderr[-3000:]
        yield receiver, result


def test_the_defaults_are_in_the_table_every_set_up_path_applies() -> None:
    env: dict[str, str] = {}
    setup.apply_env_defaults(env)
    assert env["OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS"] == "send,receive"
    assert env["OTEL_SEMCONV_STABILITY_OPT_IN"] == "http"
    mine = {"OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS": "", "OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup"}
    env = dict(mine)
    setup.apply_env_defaults(env)
    assert {k: env[k] for k in mine} == mine  # the user's values stay, an empty one included
    assert setup.instrumentor_kwargs("fastapi", {"OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS": " Send , bogus"}) == {
        "exclude_spans": ["send"]}
    assert setup.instrumentor_kwargs("fastapi", {"OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS": ""}) == {"exclude_spans": []}
    assert setup.instrumentor_kwargs("fastapi", {}) == {}
    assert setup.instrumentor_kwargs("httpx", {"OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS": "send"}) == {}


def test_a_stability_opt_in_without_an_http_mode_gets_ours_added() -> None:
    """The values combine: the user's GenAI (or database) opt-in keeps the stable HTTP names of our dashboards."""
    cases = {
        "gen_ai_latest_experimental": "gen_ai_latest_experimental,http",
        " database , gen_ai_latest_experimental": "database,gen_ai_latest_experimental,http",
        "http/dup,gen_ai_latest_experimental": "http/dup,gen_ai_latest_experimental",
        "gen_ai_latest_experimental,http": "gen_ai_latest_experimental,http",
        "": "",  # empty: every signal's old names, HTTP's included, as the user asked
    }
    for mine, expected in cases.items():
        env = {"OTEL_SEMCONV_STABILITY_OPT_IN": mine}
        setup.apply_env_defaults(env)
        assert env["OTEL_SEMCONV_STABILITY_OPT_IN"] == expected, mine


def test_no_send_or_receive_spans_by_default(default_run: tuple[OTLPReceiver, Any]) -> None:
    receiver, _ = default_run
    names = [s.name for s in _server_spans(receiver)]
    assert names == ["GET /speak"], names  # before: GET /speak http receive, GET /speak http send x5


def test_http_spans_carry_the_stable_names(default_run: tuple[OTLPReceiver, Any]) -> None:
    receiver, _ = default_run
    [server] = _server_spans(receiver)
    attrs = attrs_to_dict(server.attributes)
    assert attrs["http.request.method"] == "GET" and attrs["http.response.status_code"] == 200
    assert attrs["url.path"] == "/speak" and attrs["http.route"] == "/speak"
    assert not {"http.method", "http.status_code", "http.flavor", "http.target", "net.peer.ip"} & set(attrs)
    clients = [attrs_to_dict(s.attributes) for s in receiver.spans() if s.name == "POST"]
    assert clients, [s.name for s in receiver.spans()]
    for client in clients:  # openai's httpx calls to the simulator
        assert client["http.request.method"] == "POST" and client["url.full"].endswith("/chat/completions")
        assert not {"http.method", "http.url", "http.status_code"} & set(client)
    names = receiver.metric_names()
    assert "http.server.request.duration" in names and "http.server.duration" not in names


def test_an_unpriced_call_is_marked_said_once_and_counted(default_run: tuple[OTLPReceiver, Any]) -> None:
    receiver, result = default_run
    calls = [attrs_to_dict(s.attributes) for s in receiver.spans() if s.name == f"chat {MODEL}"]
    assert len(calls) == 2
    assert all(c["otel_ai.pricing.source"] == "unknown" and "otel_ai.cost.usd" not in c for c in calls)
    lines = [line for line in result.stderr.splitlines() if "no price" in line]
    assert lines == [f"otel-ai: no price for model {MODEL!r}; its calls carry otel_ai.pricing.source=unknown and "
                     "no cost. Add it with OTEL_AI_PRICING_FILE."]
    points = receiver.metric_points("otel_ai.agent.warnings")
    unpriced = {"otel_ai.warning.kind": "pricing.unknown_model"}
    assert [point.as_int for attrs, point in points if attrs == unpriced] == [1]


def test_configure_is_quiet_about_libraries_the_app_does_not_use(default_run: tuple[OTLPReceiver, Any]) -> None:
    """A missing library: nothing (before: the contrib's "... but no installed version was found").

    An installed version out of range is a real problem: one agent warning line, counted.
    """
    receiver, result = default_run
    assert "missing-lib-for-otel-ai-tests" not in result.stderr
    assert "no installed version was found" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert [line for line in lines if "fake_old_instrumentor" in line] == [
        f"otel-ai: fake_old_instrumentor not instrumented: it instruments httpx <0.1, httpx {_httpx_version()} is "
        "installed"]
    assert len(lines) == 3, result.stderr[-3000:]  # that line, the "no price" line and "app done"
    kinds = {attrs["otel_ai.warning.kind"] for attrs, _ in receiver.metric_points("otel_ai.agent.warnings")}
    assert kinds == {"pricing.unknown_model", "instrumentation.version_conflict"}


def _httpx_version() -> str:
    from importlib.metadata import version

    return version("httpx")


def test_the_users_own_values_are_kept_under_the_distro(tmp_path: Path, sim: FakeOpenAI) -> None:
    with OTLPReceiver() as receiver:
        _run(tmp_path, receiver, sim, configure=False, OTEL_PYTHON_FASTAPI_EXCLUDE_SPANS="receive",
             OTEL_SEMCONV_STABILITY_OPT_IN="http/dup")
        assert receiver.wait_for(lambda: len(_server_spans(receiver)) >= 2, 10)
        names = sorted(s.name for s in _server_spans(receiver))
        assert "GET /speak" in names and "GET /speak http send" in names and "GET /speak http receive" not in names
        [server] = [s for s in _server_spans(receiver) if s.name == "GET /speak"]
        attrs = attrs_to_dict(server.attributes)
        assert attrs["http.request.method"] == "GET" and attrs["http.method"] == "GET"  # dup: both


def test_under_the_distro_the_defaults_apply_too(tmp_path: Path, sim: FakeOpenAI) -> None:
    with OTLPReceiver() as receiver:
        _run(tmp_path, receiver, sim, configure=False)
        assert receiver.wait_for(lambda: bool(_server_spans(receiver)), 10)
        [server] = _server_spans(receiver)
        assert server.name == "GET /speak"
        assert "http.request.method" in attrs_to_dict(server.attributes)
