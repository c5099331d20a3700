"""Python logging under the agent: OTLP log records with the active span's ids, once; JSON lines; settings.

The end-to-end tests run a small app under `opentelemetry-instrument` in a subprocess, exporting
OTLP/HTTP to the test receiver (real protobuf, decoded): a record logged inside a span carries that
span's trace and span ids, each record arrives once whichever OpenTelemetry logging handler the user
also switched on, otel-ai's and the SDK's own loggers are not exported, a key in a message is
redacted, and the JSON lines on stdout and in the rotating file carry the same ids, the service name
and the same redaction. The unit tests cover parsing (property-based), the formatter and install().
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_ai.runtime import logs as agent_logs
from otel_ai.runtime.logs import (
    LOG_FILE_BACKUPS_VAR,
    LOG_FILE_MAX_BYTES_VAR,
    LOG_FILE_VAR,
    LOG_FORMAT_VAR,
    LOG_LEVEL_VAR,
    JsonLogFormatter,
    LogSettings,
    parse_log_settings,
)
from tests.support.otlp_receiver import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "sk-proj-LogsSecretKeyThatMustNeverLeave0123456789abcdef"
SERVICE = "logs-app"

APP = f"""
import logging, os, sys
from opentelemetry import trace

if os.environ.get("APP_BASIC_CONFIG", "1") == "1":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
log = logging.getLogger("app")
tracer = trace.get_tracer("app")
log.info("before any span")
with tracer.start_as_current_span("work"):
    log.info("inside the span")
    log.warning("the key is %s", {SECRET!r})
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("it failed")
logging.getLogger("otel_ai").warning("agent internal message")
logging.getLogger("opentelemetry.sdk.test").warning("sdk internal message")
log.debug("debug is below the level")
print("app done", file=sys.stderr)
"""


def _run(receiver: OTLPReceiver, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    app = tmp_path / "logs_app.py"
    app.write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_"))}
    env.update({
        "OTEL_SERVICE_NAME": SERVICE,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_METRICS_EXPORTER": "none",
        **extra,
    })
    return subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, str(app)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _bodies(receiver: OTLPReceiver) -> list[Any]:
    return [entry.body for entry in receiver.log_entries()]


def _work_span(receiver: OTLPReceiver) -> Any:
    [span] = receiver.spans("work")
    return span


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OTLPReceiver, subprocess.CompletedProcess[str],
                                                                     Path]]:
    tmp_path = tmp_path_factory.mktemp("logs")
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path, **{LOG_FORMAT_VAR: "json", LOG_FILE_VAR: str(tmp_path / "app.log")})
        assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.wait_for(lambda: any(e.body == "it failed" for e in receiver.log_entries()), 10)
        yield receiver, result, tmp_path


def test_records_inside_a_span_carry_its_ids(run):
    receiver, _, _ = run
    span = _work_span(receiver)
    inside = [e for e in receiver.log_entries() if e.body in ("inside the span", "it failed")]
    assert len(inside) == 2
    for entry in inside:
        assert entry.log.trace_id == span.trace_id and entry.log.span_id == span.span_id
    [before] = [e for e in receiver.log_entries() if e.body == "before any span"]
    assert not any(before.log.trace_id) and not any(before.log.span_id)
    assert all(e.resource["service.name"] == SERVICE for e in receiver.log_entries())


def test_each_record_once_and_not_our_own_or_the_sdks(run):
    receiver, result, _ = run
    bodies = _bodies(receiver)
    assert bodies.count("inside the span") == 1 and bodies.count("before any span") == 1
    assert "agent internal message" not in bodies and "sdk internal message" not in bodies
    assert "debug is below the level" not in bodies  # OTEL_AI_LOG_LEVEL defaults to info
    [failed] = [e for e in receiver.log_entries() if e.body == "it failed"]
    assert failed.attributes["exception.type"] == "ZeroDivisionError"
    assert "app done" in result.stderr and "INFO app: inside the span" in result.stderr  # the app's basicConfig works


def test_a_key_in_a_message_is_redacted_everywhere(run):
    receiver, result, tmp_path = run
    everything = b"".join(receiver.raw_bodies)
    assert SECRET.encode() not in everything and SECRET[:20].encode() not in everything
    [warning] = [e for e in receiver.log_entries() if str(e.body).startswith("the key is ")]
    assert "[REDACTED" in warning.body
    assert SECRET not in result.stdout
    assert SECRET not in (tmp_path / "app.log").read_text()


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_lines_on_stdout_and_in_the_file_carry_the_same_ids(run):
    receiver, result, tmp_path = run
    span = _work_span(receiver)
    for lines in (_json_lines(result.stdout), _json_lines((tmp_path / "app.log").read_text())):
        by_message = {line["message"]: line for line in lines}
        inside = by_message["inside the span"]
        assert inside["trace_id"] == span.trace_id.hex() and inside["span_id"] == span.span_id.hex()
        assert inside["service.name"] == SERVICE and inside["level"] == "INFO" and inside["logger"] == "app"
        assert inside["time"].endswith("Z")
        assert by_message["before any span"]["trace_id"] is None
        assert "ZeroDivisionError" in by_message["it failed"]["exception"]
        [key_line] = [line for line in lines if line["message"].startswith("the key is ")]
        assert "[REDACTED" in key_line["message"]
        # JSON lines are not the OTLP export: the agent's own warnings may go there (no feedback loop)
        assert "debug is below the level" not in by_message


@pytest.mark.parametrize(
    "extra",
    [
        {"OTEL_PYTHON_LOG_AUTO_INSTRUMENTATION": "true"},  # the contrib handler forced on
        {"OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true"},  # the SDK's deprecated handler
        # our distro (which turns the contrib handler off) with opentelemetry-distro's configurator
        {"OTEL_PYTHON_DISTRO": "otel_ai", "OTEL_PYTHON_CONFIGURATOR": "configurator"},
    ],
    ids=["contrib-handler-on", "sdk-handler-on", "our-distro-their-configurator"],
)
def test_once_whatever_other_handler_the_user_enabled(tmp_path, extra):
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path, **extra)
        assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.wait_for(lambda: "it failed" in _bodies(receiver), 10)
        bodies = _bodies(receiver)
        span = _work_span(receiver)
    assert bodies.count("inside the span") == 1 and bodies.count("it failed") == 1
    assert "agent internal message" not in bodies
    [inside] = [e for e in receiver.log_entries() if e.body == "inside the span"]
    assert inside.log.span_id == span.span_id


def test_level_off_exports_no_records_and_a_bad_setting_prints_one_line(tmp_path):
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path, **{LOG_LEVEL_VAR: "off"})
        assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.wait_for(lambda: bool(receiver.spans("work")), 10)
        assert "inside the span" not in _bodies(receiver)
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path, **{LOG_LEVEL_VAR: "loud", LOG_FILE_BACKUPS_VAR: "-1"})
        assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.wait_for(lambda: "inside the span" in _bodies(receiver), 10)  # fell back to info
    lines = [line for line in result.stderr.splitlines() if line.startswith("otel-ai: ")]
    assert lines == [
        f"otel-ai: {LOG_LEVEL_VAR}='loud' is not one of: debug, info, warning, error, critical, off; using info",
        f"otel-ai: {LOG_FILE_BACKUPS_VAR}='-1' must be at least 0; using 5",
    ]


def test_the_level_set_lowers_the_root_logger_and_the_apps_own_config_wins(tmp_path):
    """Without the app configuring logging, the root logger stays at WARNING unless OTEL_AI_LOG_LEVEL is set."""
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path, APP_BASIC_CONFIG="0")
        assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.wait_for(lambda: "it failed" in _bodies(receiver), 10)
        assert "inside the span" not in _bodies(receiver)  # INFO, under the root logger's WARNING
    with OTLPReceiver() as receiver:
        result = _run(receiver, tmp_path, APP_BASIC_CONFIG="0", **{LOG_LEVEL_VAR: "debug"})
        assert result.returncode == 0, result.stderr[-3000:]
        assert receiver.wait_for(lambda: "debug is below the level" in _bodies(receiver), 10)
        assert "inside the span" in _bodies(receiver)
    with OTLPReceiver() as receiver:  # the app's basicConfig(level=INFO) runs after the agent: it wins
        result = _run(receiver, tmp_path, **{LOG_LEVEL_VAR: "debug"})
        assert receiver.wait_for(lambda: "it failed" in _bodies(receiver), 10)
        assert "debug is below the level" not in _bodies(receiver)


# --- settings -------------------------------------------------------------------------------------------------


def test_defaults():
    settings, problems = parse_log_settings({})
    assert (settings, problems) == (LogSettings(), [])
    assert settings.level == logging.INFO and settings.export and not settings.json_stdout and settings.file is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({LOG_LEVEL_VAR: " Warning "}, LogSettings(level=logging.WARNING, level_set=True)),
        ({LOG_LEVEL_VAR: "warn"}, LogSettings(level=logging.WARNING, level_set=True)),
        ({LOG_LEVEL_VAR: "OFF"}, LogSettings(export=False, level_set=True)),
        ({LOG_FORMAT_VAR: "JSON"}, LogSettings(json_stdout=True)),
        ({LOG_FORMAT_VAR: "none"}, LogSettings()),
        ({LOG_FILE_VAR: " /tmp/a.log ", LOG_FILE_MAX_BYTES_VAR: "1_000", LOG_FILE_BACKUPS_VAR: "0"},
         LogSettings(file="/tmp/a.log", max_bytes=1000, backups=0)),
    ],
)
def test_good_values(env, expected):
    assert parse_log_settings(env) == (expected, [])


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({LOG_LEVEL_VAR: "verbose"}, f"{LOG_LEVEL_VAR}='verbose' is not one of"),
        ({LOG_FORMAT_VAR: "xml"}, f"{LOG_FORMAT_VAR}='xml' is not one of: json, none; no log lines on stdout"),
        ({LOG_FILE_MAX_BYTES_VAR: "ten"}, f"{LOG_FILE_MAX_BYTES_VAR}='ten' is not an integer; using 10485760"),
        ({LOG_FILE_MAX_BYTES_VAR: "0"}, f"{LOG_FILE_MAX_BYTES_VAR}='0' must be at least 1; using 10485760"),
    ],
)
def test_a_bad_value_is_one_line_and_the_default(env, problem):
    settings, problems = parse_log_settings(env)
    assert settings == LogSettings()
    assert len(problems) == 1 and problems[0].startswith(problem)


_VARS = (LOG_LEVEL_VAR, LOG_FORMAT_VAR, LOG_FILE_VAR, LOG_FILE_MAX_BYTES_VAR, LOG_FILE_BACKUPS_VAR)


@given(st.dictionaries(st.sampled_from(_VARS), st.text(max_size=30)))
def test_any_environment_parses_with_one_line_per_bad_variable(env):
    settings, problems = parse_log_settings(env)
    assert isinstance(settings, LogSettings)
    assert len(problems) <= len(env)
    for line in problems:
        assert any(line.startswith(f"{name}=") for name in env)
    assert settings.max_bytes >= 1 and settings.backups >= 0
    assert settings.level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)


def test_settings_from_env_lists_the_log_problems():
    from otel_ai.runtime.settings import Settings

    problems = Settings.from_env({LOG_LEVEL_VAR: "chatty"}).problems
    assert [p for p in problems if p.startswith(LOG_LEVEL_VAR)] == [
        f"{LOG_LEVEL_VAR}='chatty' is not one of: debug, info, warning, error, critical, off; using info"]


# --- the formatter and install() in-process -------------------------------------------------------------------


def _record(message: str, *args: Any, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("app.module", logging.ERROR, __file__, 1, message, args, exc_info)


def test_formatter_fields_outside_a_span():
    line = json.loads(JsonLogFormatter(service_name="svc", redact=str.upper).format(_record("hello %s", "you")))
    assert line["message"] == "HELLO YOU" and line["logger"] == "app.module" and line["level"] == "ERROR"
    assert (line["trace_id"], line["span_id"], line["service.name"]) == (None, None, "svc")


def test_formatter_inside_a_span_and_with_an_exception():
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("t")
    try:
        raise ValueError("bad " + SECRET)
    except ValueError:
        exc_info = sys.exc_info()
    with tracer.start_as_current_span("s") as span:
        line = json.loads(JsonLogFormatter(service_name="svc").format(_record("key %s", SECRET, exc_info=exc_info)))
    context = span.get_span_context()
    assert (line["trace_id"], line["span_id"]) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert SECRET not in json.dumps(line) and "ValueError" in line["exception"]


def test_a_redactor_that_fails_withholds_the_text():
    def broken(text: str) -> str:
        raise RuntimeError("no")

    line = json.loads(JsonLogFormatter(service_name="svc", redact=broken).format(_record("key %s", SECRET)))
    assert line["message"] == "[REDACTED]"


def test_a_record_that_cannot_be_formatted_is_one_line_not_an_error():
    line = json.loads(JsonLogFormatter(service_name="svc").format(_record("%d", "not a number")))
    assert line["message"] == "[otel-ai: this log record could not be formatted]"


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    agent_logs.uninstall()
    try:
        yield root
    finally:
        agent_logs.uninstall()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_install_in_process_exports_once_and_survives_basic_config(clean_root, tmp_path, monkeypatch):
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.trace import TracerProvider

    monkeypatch.delenv("OTEL_LOGS_EXPORTER", raising=False)
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    foreign = LoggingHandler(logger_provider=provider)
    clean_root.addHandler(foreign)  # as if another component had added its own
    settings = LogSettings(file=str(tmp_path / "x.log"))
    installed = agent_logs.install(settings, logger_provider=provider)
    assert len(installed) == 2 and foreign not in clean_root.handlers
    assert agent_logs.install(settings, logger_provider=provider) == installed  # once
    logging.basicConfig(level=logging.INFO, force=True)  # the app configures logging afterwards
    assert all(h in clean_root.handlers for h in installed)
    assert any(type(h) is logging.StreamHandler for h in clean_root.handlers)  # basicConfig did its part
    clean_root.addHandler(foreign)  # added later: removed at the next record
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("s") as span:
        logging.getLogger("app").warning("hello")
    logging.getLogger("otel_ai.runtime").warning("ours")
    records = [data.log_record for data in exporter.get_finished_logs()]
    assert [r.body for r in records] == ["hello"]
    assert records[0].span_id == span.get_span_context().span_id
    assert foreign not in clean_root.handlers
    assert json.loads((tmp_path / "x.log").read_text().splitlines()[0])["message"] == "hello"


def test_an_unwritable_log_file_is_one_line_and_no_handler(clean_root, tmp_path, capsys):
    path = tmp_path / "missing-dir" / "x.log"
    assert agent_logs.install(LogSettings(export=False, file=str(path))) == []
    assert capsys.readouterr().err.startswith(f"otel-ai: {LOG_FILE_VAR}={str(path)!r} cannot be opened (")
