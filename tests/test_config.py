"""Settings: a bad value never stops the app; it prints one line naming the variable and falls back.

`otel-ai check` and `OTEL_AI_STRICT=true` are the strict gates (exit 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from otel_ai import ConfigError
from otel_ai.genai.model import ContentMode
from otel_ai.runtime.settings import Settings
from tests.support.otlp_receiver import OTLPReceiver

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CAPTURE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# One real call through the simulator, printed by the console exporter: proves the agent ran
# (span, cost from the pricing catalog in use) and the app's own output.
APP = """
import openai
from otel_ai.testing.simulator import OpenAISimulator
with OpenAISimulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test-config-0123456789abcdef")
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
print("app ran")
"""


def test_defaults_are_private_and_empty():
    settings = Settings.from_env({})
    assert settings.content is ContentMode.NO_CONTENT
    assert settings.pricing_file is None
    assert settings.provider_hosts == {}
    assert settings.content_max_length == 8192
    assert settings.gc_freeze is False
    assert settings.strict is False
    assert settings.problems == ()


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("true", ContentMode.SPAN_AND_EVENT),
        ("False", ContentMode.NO_CONTENT),
        ("NO_CONTENT", ContentMode.NO_CONTENT),
        ("span_only", ContentMode.SPAN_ONLY),
        ("EVENT_ONLY", ContentMode.EVENT_ONLY),
        ("Span_And_Event", ContentMode.SPAN_AND_EVENT),
        ("1", ContentMode.SPAN_AND_EVENT),
        ("yes", ContentMode.SPAN_AND_EVENT),
        ("ON", ContentMode.SPAN_AND_EVENT),
        ("0", ContentMode.NO_CONTENT),
        ("no", ContentMode.NO_CONTENT),
        ("off", ContentMode.NO_CONTENT),
    ],
)
def test_content_capture_values(value, mode):
    settings = Settings.from_env({CAPTURE: value})
    assert settings.content is mode
    assert settings.problems == ()


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("On", True), ("0", False), ("no", False)])
def test_booleans_accept_the_common_spellings(value, expected):
    settings = Settings.from_env({"OTEL_AI_GC_FREEZE": value, "OTEL_AI_STRICT": value})
    assert (settings.gc_freeze, settings.strict, settings.problems) == (expected, expected, ())


@pytest.mark.parametrize(
    ("env", "fragments", "fallback"),
    [
        ({CAPTURE: "yes please"}, [CAPTURE, "yes please", "span_only", "content capture is off"],
         ("content", ContentMode.NO_CONTENT)),
        ({"OTEL_AI_CONTENT_MAX_LENGTH": "lots"}, ["OTEL_AI_CONTENT_MAX_LENGTH", "not an integer", "using 8192"],
         ("content_max_length", 8192)),
        ({"OTEL_AI_CONTENT_MAX_LENGTH": "0"}, ["OTEL_AI_CONTENT_MAX_LENGTH", "greater than 0"],
         ("content_max_length", 8192)),
        ({"OTEL_AI_GC_FREEZE": "sometimes"}, ["OTEL_AI_GC_FREEZE", "not a boolean", "using false"],
         ("gc_freeze", False)),
        ({"OTEL_AI_PROVIDER_HOSTS": "api.example.com"},
         ["OTEL_AI_PROVIDER_HOSTS", "entry 1", "host=provider", "skipped"], ("provider_hosts", {})),
        ({"OTEL_AI_PROVIDER_HOSTS": "a.com=openai,b.com=Bad Name"},
         ["OTEL_AI_PROVIDER_HOSTS", "entry 2", "invalid provider name"], ("provider_hosts", {"a.com": "openai"})),
        ({"OTEL_AI_PROVIDER_HOSTS": "*foo.com=gw,*.bar.com=gw2"},
         ["OTEL_AI_PROVIDER_HOSTS", "entry 1", "'*.example.com'"], ("provider_hosts", {"*.bar.com": "gw2"})),
        ({"OTEL_AI_STREAM_USAGE": "inject,estimat"}, ["OTEL_AI_STREAM_USAGE", "inject,estimat", "using off"],
         ("stream_usage", frozenset())),
        ({"OTEL_AI_STREAM_USAGE": "off,inject"}, ["OTEL_AI_STREAM_USAGE", "using off"], ("stream_usage", frozenset())),
        ({CAPTURE: "true", "OTEL_AI_REDACT_PATTERNS": "ok-\\d+;;(?<=x)y"},
         ["OTEL_AI_REDACT_PATTERNS", "entry 2", "RE2", "content capture is off"], ("content", ContentMode.NO_CONTENT)),
        ({CAPTURE: "true", "OTEL_AI_REDACT_PATTERNS": "[unclosed"},
         ["OTEL_AI_REDACT_PATTERNS", "entry 1", "not a valid regular expression"], ("content", ContentMode.NO_CONTENT)),
    ],
)
def test_bad_values_fall_back_with_one_line_naming_the_variable(env, fragments, fallback):
    settings = Settings.from_env(env)
    assert len(settings.problems) == 1, settings.problems
    for fragment in fragments:
        assert fragment in settings.problems[0]
    field, value = fallback
    assert getattr(settings, field) == value
    with pytest.raises(ConfigError, match=fragments[0]):
        Settings.from_env({**env, "OTEL_AI_STRICT": "true"}).raise_if_strict()


def test_good_patterns_stay_when_another_entry_is_bad():
    settings = Settings.from_env({"OTEL_AI_REDACT_PATTERNS": "order-\\d{6};;(a)\\1"})
    assert len(settings.patterns) == 1
    assert settings.patterns[0].search("order-123456") is not None


def test_a_backtracking_pattern_runs_in_linear_time():
    """(a+)+$ on "a"*40+"b" takes minutes with Python's engine; on RE2 it is instant."""
    from otel_ai.privacy.redactor import Redactor

    settings = Settings.from_env({"OTEL_AI_REDACT_PATTERNS": "(a+)+$"})
    assert settings.problems == ()
    redactor = Redactor(settings.patterns)
    text = "a" * 40 + "b"
    started = time.perf_counter()
    assert redactor.redact(text) == (text, None)
    assert redactor.redact("x " + "a" * 40)[0] == "x [REDACTED:custom]"
    assert time.perf_counter() - started < 1.0


def test_provider_hosts_parse():
    settings = Settings.from_env({"OTEL_AI_PROVIDER_HOSTS": " LLM.internal = deepseek , *=my_gateway, *.corp.io=corp"})
    assert settings.provider_hosts == {"llm.internal": "deepseek", "*": "my_gateway", "*.corp.io": "corp"}


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    full_env.update(env)
    return subprocess.run(args, capture_output=True, text=True, env=full_env, timeout=60, cwd=ROOT)


def _instrumented(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    quiet = {"OTEL_TRACES_EXPORTER": "otel_ai_console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    return _run([str(BIN / "opentelemetry-instrument"), sys.executable, "-c", script], **{**quiet, **env})


def _deep_pricing_file(tmp_path: Path) -> str:
    path = tmp_path / "deep.json"
    path.write_text('{"models": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return str(path)


@pytest.mark.parametrize(
    ("name", "env", "fragment"),
    [
        ("pricing file missing", {"OTEL_AI_PRICING_FILE": "/nonexistent/prices.json"},
         "OTEL_AI_PRICING_FILE: pricing file /nonexistent/prices.json: file not found"),
        ("pricing file nested 100,000 deep", {"OTEL_AI_PRICING_FILE": "<deep>"}, "nested too deeply"),
        ("content mode", {CAPTURE: "maybe"}, f"{CAPTURE}='maybe' is not one of"),
        ("redaction pattern", {CAPTURE: "true", "OTEL_AI_REDACT_PATTERNS": "(?<=a)b"},
         "OTEL_AI_REDACT_PATTERNS: entry 1"),
        ("provider hosts", {"OTEL_AI_PROVIDER_HOSTS": "*foo.com=gw"}, "OTEL_AI_PROVIDER_HOSTS: entry 1"),
        ("system metrics", {"OTEL_AI_SYSTEM_METRICS": "most"}, "OTEL_AI_SYSTEM_METRICS='most' is not one of"),
        ("otlp protocol", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json-ish"},
         "OTEL_EXPORTER_OTLP_PROTOCOL='http/json-ish'"),
    ],
)
def test_a_bad_setting_never_stops_the_app(tmp_path, name, env, fragment):
    env = {k: (_deep_pricing_file(tmp_path) if v == "<deep>" else v) for k, v in env.items()}
    result = _instrumented(APP, **env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "app ran" in result.stdout
    problem_lines = [line for line in result.stderr.splitlines() if line.startswith("otel-ai: ")]
    assert len(problem_lines) == 1, result.stderr[-2000:]
    assert fragment in problem_lines[0]
    # Telemetry still works, on the fallback: the call is there, priced from the built-in catalog.
    calls = [line for line in result.stdout.splitlines() if line.startswith("[otel-ai] chat gpt-4o-mini")]
    assert len(calls) == 1, result.stdout
    assert "cost=$" in calls[0]


def test_a_bad_pattern_turns_content_capture_off_in_the_running_agent():
    script = APP.replace('print("app ran")', (
        "from otel_ai.runtime import state\n"
        "print('content', state.settings().content.value, len(state.redactor()._custom))"
    ))
    result = _instrumented(script, **{CAPTURE: "span_only", "OTEL_AI_REDACT_PATTERNS": "good-\\d+;;(?<=a)b"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "content no_content 1" in result.stdout


def test_strict_mode_stops_at_start_up_on_a_bad_setting():
    result = _instrumented(APP, OTEL_AI_STRICT="true", **{CAPTURE: "maybe"})
    assert result.returncode == 2
    assert "app ran" not in result.stdout
    assert f"{CAPTURE}='maybe'" in result.stderr
    assert "OTEL_AI_STRICT" in result.stderr


def test_service_name_is_the_script_name_when_unset(tmp_path):
    script = tmp_path / "billing_worker.py"
    script.write_text(
        "from opentelemetry import trace\nprint(trace.get_tracer_provider().resource.attributes['service.name'])\n"
    )
    env = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    result = _run([str(BIN / "opentelemetry-instrument"), sys.executable, str(script)], **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "billing_worker"
    named = _run([str(BIN / "opentelemetry-instrument"), sys.executable, str(script)], OTEL_SERVICE_NAME="api", **env)
    assert named.stdout.strip() == "api"


def test_script_name_rules():
    from otel_ai.runtime.distro import _script_name

    assert _script_name(["python", "app.py"], ["/srv/app.py"]) == "app"
    assert _script_name(["python", "-m", "pkg.worker", "--x"], ["-m", "--x"]) == "pkg.worker"
    assert _script_name(["python", "-c", "pass"], ["-c"]) is None


def test_otel_ai_check_reports_a_bad_pricing_file(tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text('{"models": {"my-model": {"input_per_mtok": -1}}}')
    result = _run([str(BIN / "otel-ai"), "check", "--no-probe"], OTEL_AI_PRICING_FILE=str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "my-model" in result.stderr
    assert "negative" in result.stderr


def test_otel_ai_check_prints_the_settings_in_effect_and_probes_the_endpoint(tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"my-model": {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}}))
    with OTLPReceiver() as receiver:
        endpoint = receiver.endpoint
        result = _run(
            [str(BIN / "otel-ai"), "check"],
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_METRICS_EXPORTER="none",
            OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="grpc", OTEL_AI_PRICING_FILE=str(prices),
            OTEL_AI_REDACT_PATTERNS="a-\\d+;;b-\\d+", **{CAPTURE: "span_only"},
        )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"http/protobuf to {endpoint}/v1/traces" in out
    assert "metrics              exporter none" in out
    assert f"logs                 exporter otlp, grpc to {endpoint}\n" in out  # the base endpoint, as the SDK does
    assert "span_only (max 8192 characters)" in out
    assert "built-in catalog dated 20" in out and "prices 1 model(s)" in out
    assert "2 custom pattern(s)" in out
    assert f"{endpoint} (traces): answers (HTTP 200)" in out
    assert "configuration ok" in out


def test_otel_ai_check_says_when_the_endpoint_does_not_answer():
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _run([str(BIN / "otel-ai"), "check"], OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr  # an absent collector is not a settings problem
    assert "does not answer (connection refused)" in result.stdout
    assert "otel-ai run --console" in result.stdout


def test_bad_otlp_protocol_is_reported_by_check():
    result = _run([str(BIN / "otel-ai"), "check", "--no-probe"], OTEL_EXPORTER_OTLP_PROTOCOL="http/json-ish")
    assert result.returncode == 2
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in result.stderr


def test_stream_usage_values():
    assert Settings.from_env({}).stream_usage == frozenset()
    assert Settings.from_env({"OTEL_AI_STREAM_USAGE": "off"}).stream_usage == frozenset()
    assert Settings.from_env({"OTEL_AI_STREAM_USAGE": " Inject "}).stream_usage == {"inject"}
    both = Settings.from_env({"OTEL_AI_STREAM_USAGE": "estimate, inject"})
    assert both.stream_usage == {"inject", "estimate"} and both.problems == ()


def test_bad_stream_usage_is_reported_by_check():
    result = _run([str(BIN / "otel-ai"), "check", "--no-probe"], OTEL_AI_STREAM_USAGE="always")
    assert result.returncode == 2
    assert "OTEL_AI_STREAM_USAGE='always'" in result.stderr
    good = _run([str(BIN / "otel-ai"), "check", "--no-probe"], OTEL_AI_STREAM_USAGE="inject,estimate")
    assert "stream usage" in good.stdout and "estimate ready" in good.stdout, good.stdout


def test_version():
    from otel_ai.version import __version__

    result = _run([str(BIN / "otel-ai"), "--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"otel-ai {__version__}"


def test_configure_falls_back_in_process_and_raises_only_when_strict(monkeypatch, capsys):
    from otel_ai.runtime import configure as _configure
    from otel_ai.runtime import setup as _setup
    from otel_ai.runtime import state as _state

    monkeypatch.setenv("OTEL_AI_CONTENT_MAX_LENGTH", "-5")
    _state.reset()
    try:
        _setup.validate()
        assert "OTEL_AI_CONTENT_MAX_LENGTH='-5' must be greater than 0; using 8192" in capsys.readouterr().err
        assert _state.settings().content_max_length == 8192
        monkeypatch.setenv("OTEL_AI_STRICT", "1")
        monkeypatch.setattr(_configure, "_done", False)
        _state.reset()
        with pytest.raises(ConfigError, match="OTEL_AI_CONTENT_MAX_LENGTH"):
            _configure.configure()
    finally:
        _state.reset()


def test_otel_ai_check_lists_budgets_and_notifiers_without_their_secrets():
    budgets = json.dumps([
        {"name": "daily", "period": "day", "limit_usd": 20, "action": "block"},
        {"name": "monthly", "scope": {"provider": "openai"}, "period": "month", "limit_usd": 500},
    ])
    token = "T000/B000/XXXXsecretXXXXtoken"
    result = _run([str(BIN / "otel-ai"), "check", "--no-probe"], OTEL_AI_BUDGETS=budgets,
                  OTEL_AI_ALERT_SLACK_WEBHOOK_URL=f"https://hooks.slack.com/services/{token}")
    assert result.returncode == 0, result.stderr
    assert "budgets              2 (1 blocking): daily 20 USD/day, monthly 500 USD/month" in result.stdout
    assert "notifiers            Slack to hooks.slack.com\n" in result.stdout
    assert token not in result.stdout + result.stderr
    quiet = _run([str(BIN / "otel-ai"), "check", "--no-probe"])
    assert "budgets" not in quiet.stdout and "notifiers            none (budget crossings are not sent" in quiet.stdout
    fleet = _run([str(BIN / "otel-ai"), "check", "--no-probe"], OTEL_AI_BUDGETS=budgets,
                 OTEL_AI_BUDGET_SERVER="http://127.0.0.1:9", OTEL_AI_BUDGET_SERVER_TOKEN="fleet-token-0123456789abcdef")
    assert "fleet spend from http://127.0.0.1:9 (with OTEL_AI_BUDGET_SERVER_TOKEN)" in fleet.stdout
    assert "fleet-token-0123456789abcdef" not in fleet.stdout + fleet.stderr
    console = _run([str(BIN / "otel-ai"), "check", "--no-probe"], OTEL_TRACES_EXPORTER="otel_ai_console")
    assert "notifiers            none set; budget crossings are printed on the console" in console.stdout


# --- the settings table (otel_ai/variables.py) ------------------------------------------------------------


def test_readme_configuration_table_is_the_generated_one():
    """README's table is `python -m otel_ai.variables --markdown`: edit the rows there, then regenerate."""
    from otel_ai import variables

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- generated from otel_ai/variables.py")
    start = readme.index("\n", start) + 1
    end = readme.index("<!-- end of the generated table -->", start)
    assert readme[start:end] == variables.markdown(), (
        "README.md's configuration table differs from otel_ai/variables.py: run "
        "`python -m otel_ai.variables --markdown` and paste its output between the two comments")


def test_every_variable_the_code_names_is_in_the_table():
    import re

    from otel_ai import variables

    prefixes = ("OTEL_AI_SERVE_", "OTEL_AI_ALERT_", "OTEL_AI_ALERT_SMTP_", "OTEL_AI_LOG_")  # families, in prose
    known = set(variables.BY_NAME)
    named = {name for path in (ROOT / "otel_ai").rglob("*.py")
             for name in re.findall(r"OTEL_AI_[A-Z0-9_]*[A-Z0-9]_?", path.read_text(encoding="utf-8"))}
    missing = sorted(n for n in named if n not in known and n not in prefixes and not n.startswith("OTEL_AI_SERVE_"))
    assert not missing, f"not in otel_ai/variables.py: {missing}"
    assert len([v for v in variables.VARIABLES if v.name.startswith("OTEL_AI_")]) >= 29


@pytest.mark.parametrize("value, ok", [
    ("1_024", True), ("+1024", True), (" 1024 ", True),
    ("_1024", False), ("1024_", False), ("1__024", False), ("1,024", False), ("0x400", False), ("١٠٢٤", False),
])
def test_one_integer_rule_for_every_integer_variable(value, ok):
    """Integers read by the settings, the log settings and the notifiers follow one rule (Python's literal)."""
    from otel_ai.notify import parse_notifiers
    from otel_ai.runtime.logs import parse_log_settings

    settings = Settings.from_env({"OTEL_AI_CONTENT_MAX_LENGTH": value})
    assert (settings.content_max_length == 1024) is ok
    logs, problems = parse_log_settings({"OTEL_AI_LOG_FILE_MAX_BYTES": value})
    assert (logs.max_bytes == 1024) is ok and (not problems) is ok
    smtp_env = {"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com", "OTEL_AI_ALERT_SMTP_PORT": value,
                "OTEL_AI_ALERT_SMTP_FROM": "a@example.com", "OTEL_AI_ALERT_SMTP_TO": "b@example.com"}
    config, problems = parse_notifiers(smtp_env)
    assert (config.smtp is not None and config.smtp.port == 1024) is ok and (not problems) is ok


@pytest.mark.parametrize("value, expected", [("YES", True), ("on", True), ("1", True), ("Off", False),
                                             ("no", False), ("0", False), ("maybe", None)])
def test_one_boolean_rule_for_every_boolean_variable(value, expected):
    from otel_ai.notify import parse_notifiers

    settings = Settings.from_env({"OTEL_AI_GC_FREEZE": value, "OTEL_AI_STRICT": value})
    assert settings.gc_freeze is (expected or False) and settings.strict is (expected or False)
    config, problems = parse_notifiers({"OTEL_AI_ALERT_SMTP_HOST": "smtp.example.com",
                                        "OTEL_AI_ALERT_SMTP_FROM": "a@example.com",
                                        "OTEL_AI_ALERT_SMTP_TO": "b@example.com", "OTEL_AI_ALERT_SMTP_STARTTLS": value})
    if expected is None:
        assert config.smtp is None and any("is not a boolean" in p for p in problems)
    else:
        assert config.smtp is not None and config.smtp.starttls is expected


def test_otel_ai_check_says_which_convention_names_are_in_effect_and_what_chose_them():
    check = [str(BIN / "otel-ai"), "check", "--no-probe"]
    cases = [
        ({}, "current names (the default); proposals: none"),
        ({"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"},
         "current names (gen_ai_latest_experimental in OTEL_SEMCONV_STABILITY_OPT_IN); proposals: none"),
        ({"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental", "OTEL_AI_SEMCONV": "previous",
          "OTEL_AI_SEMCONV_PROPOSALS": "inference_duration"},
         "previous names (OTEL_AI_SEMCONV); proposals: inference_duration"),
    ]
    for env, expected in cases:
        result = _run(check, **env)
        assert result.returncode == 0, result.stderr
        assert f"  conventions          {expected}\n" in result.stdout, result.stdout
    bad = _run(check, OTEL_AI_SEMCONV_PROPOSALS="token_metrics,cost")
    assert bad.returncode == 2
    assert "OTEL_AI_SEMCONV_PROPOSALS: 'cost' is not one of" in bad.stderr
    assert "proposals: token_metrics\n" in bad.stdout  # the good entry still applies
