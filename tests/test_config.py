"""Settings: every variable checked at start-up, errors that name the variable and the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from otel_ai import ConfigError
from otel_ai.sdk.settings import ContentMode, Settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_defaults_are_private_and_empty():
    settings = Settings.from_env({})
    assert settings.content is ContentMode.NO_CONTENT
    assert settings.pricing_file is None
    assert settings.provider_hosts == {}
    assert settings.content_max_length == 8192
    assert settings.gc_freeze is False


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("true", ContentMode.SPAN_AND_EVENT),
        ("False", ContentMode.NO_CONTENT),
        ("NO_CONTENT", ContentMode.NO_CONTENT),
        ("span_only", ContentMode.SPAN_ONLY),
        ("EVENT_ONLY", ContentMode.EVENT_ONLY),
        ("Span_And_Event", ContentMode.SPAN_AND_EVENT),
    ],
)
def test_content_capture_values(value, mode):
    assert Settings.from_env({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}).content is mode


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        ({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "yes please"},
         ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "yes please", "span_only"]),
        ({"OTEL_AI_CONTENT_MAX_LENGTH": "lots"}, ["OTEL_AI_CONTENT_MAX_LENGTH", "not an integer"]),
        ({"OTEL_AI_CONTENT_MAX_LENGTH": "0"}, ["OTEL_AI_CONTENT_MAX_LENGTH", "greater than 0"]),
        ({"OTEL_AI_GC_FREEZE": "sometimes"}, ["OTEL_AI_GC_FREEZE", "not a boolean"]),
        ({"OTEL_AI_PROVIDER_HOSTS": "api.example.com"}, ["OTEL_AI_PROVIDER_HOSTS", "entry 1", "host=provider"]),
        ({"OTEL_AI_PROVIDER_HOSTS": "a.com=openai,b.com=Bad Name"},
         ["OTEL_AI_PROVIDER_HOSTS", "entry 2", "invalid provider name"]),
    ],
)
def test_bad_values_name_the_variable_and_the_problem(env, fragments):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_provider_hosts_parse():
    settings = Settings.from_env({"OTEL_AI_PROVIDER_HOSTS": " LLM.internal = deepseek , *=my_gateway "})
    assert settings.provider_hosts == {"llm.internal": "deepseek", "*": "my_gateway"}


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    full_env.update(env)
    return subprocess.run(args, capture_output=True, text=True, env=full_env, timeout=60, cwd=ROOT)


def test_otel_ai_check_reports_a_bad_pricing_file(tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text('{"models": {"my-model": {"input_per_mtok": -1}}}')
    result = _run([str(BIN / "otel-ai"), "check"], OTEL_AI_PRICING_FILE=str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "my-model" in result.stderr
    assert "negative" in result.stderr


def test_otel_ai_check_accepts_good_settings():
    result = _run([str(BIN / "otel-ai"), "check"], OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="span_only")
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout


def test_opentelemetry_instrument_stops_at_start_up_on_a_bad_setting():
    result = _run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "-c", "print('app ran')"],
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="maybe",
        OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
    )
    assert result.returncode == 2
    assert "app ran" not in result.stdout
    assert "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT='maybe'" in result.stderr


def test_bad_otlp_protocol_is_reported():
    result = _run([str(BIN / "otel-ai"), "check"], OTEL_EXPORTER_OTLP_PROTOCOL="http/json-ish")
    assert result.returncode == 2
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in result.stderr


def test_configure_raises_config_error_in_process(monkeypatch):
    from otel_ai.sdk import configure as _configure
    from otel_ai.sdk import state as _state

    monkeypatch.setenv("OTEL_AI_CONTENT_MAX_LENGTH", "-5")
    monkeypatch.setattr(_configure, "_done", False)
    _state.reset()
    try:
        with pytest.raises(ConfigError, match="OTEL_AI_CONTENT_MAX_LENGTH"):
            _configure.configure()
    finally:
        _state.reset()
