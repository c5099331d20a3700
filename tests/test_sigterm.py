"""SIGTERM (and SIGHUP) no longer lose the last batch, and the app's exit is what it would have been.

Real processes under `opentelemetry-instrument`, exporting to a real OTLP receiver with a 30 s
batch delay (so only the exit flush can deliver): a uvicorn app stopped one second after a request,
gunicorn with a uvicorn worker, a plain script, a script with its own handler (one that exits with
its own status, one that re-raises the default), SIGHUP. Each is also run without the agent: the
exit status must be the same. An endpoint that never answers holds the exit no longer than the
deadline. In-process tests pin the wrapped `signal.signal` / `signal.getsignal`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_ai.runtime import exit as exit_
from tests.support.otlp_receiver import OTLPReceiver

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX signals")

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEADLINE_S = exit_.DEFAULT_DEADLINE_S

SPAN = """
from opentelemetry import trace
tracer = trace.get_tracer("sigterm-test")
"""

PLAIN = SPAN + """
import time
with tracer.start_as_current_span("last-batch"):
    pass
print("READY", flush=True)
time.sleep(60)
"""

OWN_HANDLER_EXITS = SPAN + """
import signal, sys, time
def handler(signum, frame):
    print("HANDLER", signum, flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, handler)
with tracer.start_as_current_span("last-batch"):
    pass
print("READY", flush=True)
time.sleep(60)
"""

OWN_HANDLER_RERAISES = SPAN + """
import os, signal, time
def handler(signum, frame):
    print("HANDLER", signum, flush=True)
    with tracer.start_as_current_span("in-handler"):
        pass
    signal.signal(signum, signal.SIG_DFL)  # clean up, then die of the signal, as uvicorn does
    os.kill(os.getpid(), signum)
    time.sleep(5)
previous = signal.signal(signal.SIGTERM, handler)
assert previous == signal.SIG_DFL and signal.getsignal(signal.SIGTERM) is handler, previous
with tracer.start_as_current_span("last-batch"):
    pass
print("READY", flush=True)
time.sleep(60)
"""

ASGI_APP = SPAN + """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    with tracer.start_as_current_span("handled"):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update({
        "OTEL_SERVICE_NAME": "otel-ai-sigterm-test",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "30000",  # only the flush at exit can deliver the spans
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_AI_SYSTEM_METRICS": "false",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    return env


class Stopped:
    def __init__(self, returncode: int, stop_s: float, stdout: str, stderr: str) -> None:
        self.returncode = returncode
        self.stop_s = stop_s  # signal sent -> process gone
        self.stdout = stdout
        self.stderr = stderr


def _start(command: list[str], cwd: Path, endpoint: str, instrumented: bool) -> subprocess.Popen[str]:
    if instrumented:
        command = [str(BIN / "opentelemetry-instrument"), *command]
    return subprocess.Popen(command, cwd=cwd, env=_env(endpoint), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _stop(process: subprocess.Popen[str], signum: int, *, again_after_s: float | None = None) -> Stopped:
    sent = time.monotonic()
    process.send_signal(signum)
    if again_after_s is not None:
        time.sleep(again_after_s)
        process.send_signal(signum)
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return Stopped(process.returncode, time.monotonic() - sent, stdout, stderr)


def _wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "READY", (line, process.stderr.read() if process.poll() is not None else "")


def _script(tmp_path: Path, text: str, signum: int, endpoint: str, instrumented: bool) -> Stopped:
    path = tmp_path / "app_script.py"
    path.write_text(text)
    process = _start([sys.executable, str(path)], tmp_path, endpoint, instrumented)
    _wait_ready(process)
    return _stop(process, signum)


def _serve_and_stop(process: subprocess.Popen[str], port: int) -> Stopped:
    """Wait for the server, make one request, send SIGTERM one second later."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                assert response.read() == b"ok"
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=5)
                pytest.fail(f"the server did not start: {err[-3000:]}")
            time.sleep(0.2)
    time.sleep(1.0)
    return _stop(process, signal.SIGTERM)


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as r:
        yield r


def _arrived(receiver: OTLPReceiver, *names: str) -> None:
    assert receiver.wait_for(lambda: all(receiver.spans(n) for n in names), timeout=10), [
        s.name for s in receiver.spans()]


# -- real processes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "signum", "status", "spans"), [
    (PLAIN, signal.SIGTERM, -signal.SIGTERM, ("last-batch",)),
    (PLAIN, signal.SIGHUP, -signal.SIGHUP, ("last-batch",)),
    (OWN_HANDLER_EXITS, signal.SIGTERM, 3, ("last-batch",)),
    (OWN_HANDLER_RERAISES, signal.SIGTERM, -signal.SIGTERM, ("last-batch", "in-handler")),
], ids=["plain-sigterm", "plain-sighup", "own-handler-exits-3", "own-handler-reraises"])
def test_a_script_stopped_by_a_signal_exports_its_last_batch_and_exits_as_without_the_agent(
    tmp_path: Path, receiver: OTLPReceiver, text: str, signum: int, status: int, spans: tuple[str, ...],
) -> None:
    plain = _script(tmp_path, text, signum, receiver.endpoint, instrumented=False)
    assert plain.returncode == status, plain.stderr[-3000:]
    run = _script(tmp_path, text, signum, receiver.endpoint, instrumented=True)
    assert run.returncode == status, run.stderr[-3000:]
    assert ("HANDLER" in run.stdout) == ("HANDLER" in plain.stdout)
    _arrived(receiver, *spans)
    assert run.stop_s < DEADLINE_S + 1.0, run.stop_s
    assert "Traceback" not in run.stderr, run.stderr[-3000:]


def test_uvicorn_stopped_one_second_after_a_request_exports_it_and_exits_minus_15(
    tmp_path: Path, receiver: OTLPReceiver,
) -> None:
    pytest.importorskip("uvicorn")
    (tmp_path / "sigterm_app.py").write_text(ASGI_APP)
    results = []
    for instrumented in (False, True):
        port = _free_port()
        command = [sys.executable, "-m", "uvicorn", "sigterm_app:app", "--host", "127.0.0.1", "--port", str(port),
                   "--lifespan", "off", "--log-level", "warning"]
        results.append(_serve_and_stop(_start(command, tmp_path, receiver.endpoint, instrumented), port))
    plain, run = results
    assert plain.returncode == -signal.SIGTERM and run.returncode == -signal.SIGTERM, run.stderr[-3000:]
    _arrived(receiver, "handled")
    assert run.stop_s < DEADLINE_S + 2.0, run.stop_s


def _uvicorn_worker() -> str:
    for module in ("uvicorn_worker", "uvicorn.workers"):  # the package, else uvicorn's deprecated module
        name = f"{module}.UvicornWorker"
        try:
            __import__(module)
            return name
        except ImportError:
            continue
    pytest.skip("no uvicorn worker class for gunicorn")


def test_gunicorn_with_a_uvicorn_worker_exports_the_workers_last_batch_and_exits_as_without_the_agent(
    tmp_path: Path, receiver: OTLPReceiver,
) -> None:
    pytest.importorskip("gunicorn")
    pytest.importorskip("uvicorn")
    worker = _uvicorn_worker()
    (tmp_path / "sigterm_app.py").write_text(ASGI_APP)
    results = []
    for instrumented in (False, True):
        port = _free_port()
        command = [str(BIN / "gunicorn"), "-k", worker, "-w", "1", "-b", f"127.0.0.1:{port}",
                   "--graceful-timeout", "10", "sigterm_app:app"]
        results.append(_serve_and_stop(_start(command, tmp_path, receiver.endpoint, instrumented), port))
    plain, run = results
    assert run.returncode == plain.returncode == 0, run.stderr[-3000:]
    _arrived(receiver, "handled")


@pytest.fixture
def black_hole() -> Iterator[str]:
    """Listens (so connecting is not refused) but never accepts, reads or answers."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(0)
        yield f"http://127.0.0.1:{hole.getsockname()[1]}"


def test_an_endpoint_that_never_answers_holds_the_signal_exit_no_longer_than_the_deadline(
    tmp_path: Path, black_hole: str,
) -> None:
    run = _script(tmp_path, PLAIN, signal.SIGTERM, black_hole, instrumented=True)
    assert run.returncode == -signal.SIGTERM, run.stderr[-3000:]
    assert run.stop_s < DEADLINE_S + 1.0, run.stop_s


def test_a_second_sigterm_while_flushing_ends_the_process_at_once(tmp_path: Path, black_hole: str) -> None:
    path = tmp_path / "app_script.py"
    path.write_text(PLAIN)
    process = _start([sys.executable, str(path)], tmp_path, black_hole, instrumented=True)
    _wait_ready(process)
    run = _stop(process, signal.SIGTERM, again_after_s=0.3)
    assert run.returncode == -signal.SIGTERM
    assert run.stop_s < DEADLINE_S - 0.3, run.stop_s


# -- in process: the wrapped signal functions -----------------------------------------------------------


@pytest.fixture
def stand_in() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in exit_.SIGNALS}
    for s in exit_.SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    exit_.uninstall_signal_handlers()
    assert exit_.install_signal_handlers()
    yield
    exit_.uninstall_signal_handlers()
    for s, handler in saved.items():
        if handler is not None:
            signal.signal(s, handler)


def _real(signum: int) -> object:
    return exit_._real_getsignal(signum)


def test_the_stand_in_looks_like_the_default_to_the_app(stand_in: None) -> None:
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL and _real(signal.SIGTERM) is exit_._on_signal

    def mine(signum: int, frame: object) -> None:
        pass

    assert signal.signal(signal.SIGTERM, mine) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is mine and _real(signal.SIGTERM) is mine  # the app's, untouched
    assert signal.signal(signal.SIGTERM, signal.SIG_DFL) is mine  # restoring the default ...
    assert _real(signal.SIGTERM) is exit_._on_signal  # ... puts the stand-in back
    assert signal.signal(signal.SIGTERM, signal.SIG_IGN) == signal.SIG_DFL
    assert _real(signal.SIGTERM) == signal.SIG_IGN  # ignoring is the app's choice
    assert signal.signal(signal.SIGTERM, 0) == signal.SIG_IGN and _real(signal.SIGTERM) is exit_._on_signal
    before = signal.getsignal(signal.SIGINT)
    assert signal.signal(signal.SIGINT, signal.SIG_DFL) == before and _real(signal.SIGINT) == signal.SIG_DFL
    signal.signal(signal.SIGINT, before)  # SIGINT is never taken over


def test_errors_of_signal_signal_are_the_apps_and_other_threads_install_nothing(stand_in: None) -> None:
    with pytest.raises(ValueError):
        signal.signal(-5, signal.SIG_DFL)
    with pytest.raises(TypeError):
        signal.signal(signal.SIGTERM, "not a handler")  # type: ignore[arg-type]
    import threading

    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(exit_.install_signal_handlers()))
    thread.start()
    thread.join()
    assert outcome == [False]


def test_an_app_handler_installed_before_the_agent_is_left_alone() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    saved = signal.signal(signal.SIGTERM, mine)
    try:
        exit_.uninstall_signal_handlers()
        assert exit_.install_signal_handlers()
        assert _real(signal.SIGTERM) is mine
    finally:
        exit_.uninstall_signal_handlers()
        signal.signal(signal.SIGTERM, saved if saved is not None else signal.SIG_DFL)
