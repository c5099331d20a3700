"""Whatever the collector does, the app exits on time and hears about it once.

A one-call script runs under `opentelemetry-instrument` with the OTLP endpoint refused, black-holed
(a socket that listens but never answers) or answering 500, and once plainly: its exit (from its
last statement to the process ending) may be at most 2 s later instrumented, one warning line on
stderr names the endpoint and what to do, and none of the SDK's per-batch lines get through. With
a healthy receiver the spans ended just before exit still arrive. Unit tests cover the pieces.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_ai.runtime import exit as exit_
from otel_ai.runtime import health
from tests.support.otlp_receiver import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# the exit deadline (1.5 s) plus the teardown of a process that imported more, on a loaded 2-core machine;
# a stall would take the exporter's own timeout (10 s) and fail this by far
MAX_EXIT_OVERHEAD_S = exit_.DEFAULT_DEADLINE_S + 1.0

SCRIPT = """
import os, sys, time
import openai
from otel_ai.testing.simulator import OpenAISimulator

calls = int(os.environ.get("CALLS", "1"))
with OpenAISimulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test-exit0123456789abcdef0123", max_retries=0)
    started = time.perf_counter()
    for _ in range(calls):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    sys.stderr.write(f"LOOP {time.perf_counter() - started:.4f}\\n")
sys.stderr.write(f"END {time.time():.4f}\\n")
sys.stderr.flush()
"""


class Run:
    def __init__(self, stderr: str, exited_at: float, returncode: int) -> None:
        self.stderr = stderr
        self.returncode = returncode
        end = re.search(r"^END (\S+)$", stderr, re.M)
        loop = re.search(r"^LOOP (\S+)$", stderr, re.M)
        assert end and loop, stderr[-3000:]
        self.exit_s = exited_at - float(end[1])  # last statement -> process gone
        self.loop_s = float(loop[1])

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("otel-ai:")]


def _run(script: Path, endpoint: str | None, calls: int = 1) -> Run:
    """The script instrumented against `endpoint`, or plain when it is None."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env["CALLS"] = str(calls)
    if endpoint is None:
        command = [sys.executable, str(script)]
    else:
        env.update({
            "OTEL_SERVICE_NAME": "otel-ai-exit-test",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        })
        command = [str(BIN / "opentelemetry-instrument"), sys.executable, str(script)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    exited_at = time.time()
    return Run(stderr, exited_at, process.returncode)


def _assert_exit_on_time(script: Path, endpoint: str, calls: int = 1) -> Run:
    plain = _run(script, None, calls)
    instrumented = _run(script, endpoint, calls)
    assert plain.returncode == 0 and instrumented.returncode == 0, instrumented.stderr[-3000:]
    overhead = instrumented.exit_s - plain.exit_s
    assert overhead < MAX_EXIT_OVERHEAD_S, (overhead, instrumented.stderr[-3000:])
    # the calls themselves are not slowed by an endpoint that fails (generous: these machines are noisy)
    assert instrumented.loop_s < plain.loop_s * 2 + 0.5, (instrumented.loop_s, plain.loop_s)
    return instrumented


def _assert_one_warning(run: Run, endpoint: str, reason: str) -> None:
    warnings = run.warnings()
    assert len(warnings) == 1, run.stderr[-3000:]
    [line] = warnings
    assert endpoint in line and reason in line, line
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in line and "OTEL_TRACES_EXPORTER" in line and "--console" in line
    for noise in ("Transient error", "Failed to export", "Traceback"):
        assert noise not in run.stderr, run.stderr[-3000:]


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exit") / "one_call.py"
    path.write_text(SCRIPT)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def black_hole() -> Iterator[str]:
    """Listens (so connecting is not refused) but never accepts, reads or answers."""
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(0)
        yield f"http://127.0.0.1:{hole.getsockname()[1]}"


# --------------------------------------------------------------------------------------------
# Subprocess: the app's exit
# --------------------------------------------------------------------------------------------


def test_refused_endpoint_exits_on_time_and_warns_once(script):
    endpoint = f"http://127.0.0.1:{_free_port()}"
    run = _assert_exit_on_time(script, endpoint, calls=5)
    _assert_one_warning(run, endpoint, "connection refused")


def test_black_hole_endpoint_exits_on_time_and_warns_once(script, black_hole):
    run = _assert_exit_on_time(script, black_hole, calls=5)
    _assert_one_warning(run, black_hole, "no answer")


def test_endpoint_answering_500_exits_on_time_and_warns_once(script):
    with OTLPReceiver() as receiver:
        receiver.fail_next(10_000, status=500)
        run = _assert_exit_on_time(script, receiver.endpoint)
        _assert_one_warning(run, receiver.endpoint, "HTTP 500")


def test_healthy_receiver_gets_the_final_spans_at_exit(script):
    with OTLPReceiver() as receiver:
        run = _assert_exit_on_time(script, receiver.endpoint)
        # the batch delay (5 s) never came during the run: the spans were sent by the exit shutdown
        assert receiver.spans("chat gpt-4o-mini"), run.stderr[-3000:]
        assert "gen_ai.client.operation.duration" in receiver.metric_names()
    assert run.warnings() == [], run.stderr[-3000:]


# --------------------------------------------------------------------------------------------
# Unit: reasons, the filter, the watcher, the parallel shutdown
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "Transient error HTTPConnectionPool(host='127.0.0.1', port=4318): Max retries exceeded with url: "
            "/v1/traces (Caused by NewConnectionError(\"...: [Errno 111] Connection refused\")) encountered "
            "while exporting spans batch, retrying in 1.00s.",
            "connection refused",
        ),
        ("Failed to export spans batch code: 500, reason: Internal Server Error", "HTTP 500 Internal Server Error"),
        ("Failed to export spans batch due to timeout, max retries or shutdown.", None),
        ("Transient error Read timed out. (read timeout=10) encountered while exporting logs batch", "timed out"),
        ("Failed to export traces to localhost:4317, error code: StatusCode.UNAVAILABLE", "gRPC UNAVAILABLE"),
        ("Failed to export traces to localhost:4317, error code: StatusCode.DEADLINE_EXCEEDED", "timed out"),
        ("Transient error [Errno -2] Name or service not known encountered", "host not found"),
    ],
)
def test_reasons_from_the_sdk_messages(message, reason):
    assert health.classify(message) == reason


class _Failing(SpanExporter):
    """Fails like the SDK's OTLP exporter: logs per batch on its logger, returns FAILURE."""

    _endpoint = "http://collector.invalid:4318/v1/traces"

    def __init__(self, message: str) -> None:
        self.message = message
        self.calls = 0

    def export(self, spans: object) -> SpanExportResult:
        self.calls += 1
        logging.getLogger(health.EXPORTER_LOGGERS[0]).error(self.message)
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass


@pytest.fixture
def fresh_health(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "_warned", False)
    health.install_log_filters()


def test_many_failed_batches_print_one_line_with_the_reason(fresh_health, capsys, caplog):
    inner = _Failing("Failed to export spans batch code: 503, reason: Service Unavailable")
    watched = health.WatchedSpanExporter(inner)
    with caplog.at_level(logging.DEBUG, logger="opentelemetry"):
        for _ in range(5):
            assert watched.export([]) is SpanExportResult.FAILURE
    assert inner.calls == 5
    lines = capsys.readouterr().err.splitlines()
    assert lines == [line for line in lines if line.startswith("otel-ai:")] and len(lines) == 1
    assert "http://collector.invalid:4318/v1/traces (HTTP 503 Service Unavailable)" in lines[0]
    assert not [r for r in caplog.records if "Failed to export" in r.getMessage()]  # the SDK line is filtered


def test_an_exporter_that_raises_is_a_failure_not_an_exception(fresh_health, capsys):
    class Raising(_Failing):
        def export(self, spans: object) -> SpanExportResult:
            raise ConnectionRefusedError(111, "Connection refused")

    assert health.WatchedSpanExporter(Raising("")).export([]) is SpanExportResult.FAILURE
    assert "(connection refused)" in capsys.readouterr().err


def test_vague_failures_are_told_apart_by_one_connection(black_hole):
    assert health.probe(f"http://127.0.0.1:{_free_port()}/v1/traces") == "connection refused"
    assert health.probe("OTLPSpanExporter") is None  # not an address: nothing is looked up
    with OTLPReceiver() as receiver:
        assert health.probe(receiver.endpoint + "/v1/traces") is None


class _Provider:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.done = threading.Event()

    def shutdown(self) -> None:
        time.sleep(self.seconds)
        self.done.set()


def test_providers_shut_down_in_parallel_within_one_deadline():
    quick, slow, stuck = _Provider(0.2), _Provider(0.3), _Provider(30)
    started = time.monotonic()
    still_running = exit_.shutdown_all([quick, slow, stuck], deadline_s=0.6)
    elapsed = time.monotonic() - started
    assert quick.done.is_set() and slow.done.is_set() and not stuck.done.is_set()
    assert still_running == ["_Provider"]
    assert 0.5 < elapsed < 1.0  # one deadline, not one per provider


def test_a_healthy_shutdown_returns_as_soon_as_done():
    started = time.monotonic()
    assert exit_.shutdown_all([_Provider(0.05), _Provider(0.05), _Provider(0.05)], deadline_s=5) == []
    assert time.monotonic() - started < 1.0


def test_a_provider_the_app_shut_down_itself_is_not_shut_down_again(caplog):
    from opentelemetry.sdk.metrics import MeterProvider

    provider = MeterProvider(shutdown_on_exit=False)
    provider.shutdown()
    with caplog.at_level(logging.WARNING):
        assert exit_.shutdown_all([provider], deadline_s=1) == []
    assert not [r for r in caplog.records if "only be called once" in r.getMessage()]
