"""The public API as people write it: keyword and positional forms, `dir(otel_ai)`, configure()'s arguments.

The typing check runs mypy --strict on a small user file that uses every form, so an overload
change that breaks one for typed users fails here, not in their CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import otel_ai
from otel_ai.runtime.configure import apply_arguments
from tests.work.units_support import use_global_providers

ROOT = Path(__file__).resolve().parent.parent

USER_FILE = '''
from __future__ import annotations

import otel_ai


@otel_ai.task(type="summarize", name="x")
def summarize(text: str) -> str:
    return text


@otel_ai.task("summarize", name="x", id="1")
def summarize2(text: str) -> str:
    return text


@otel_ai.task
def bare_task(n: int) -> int:
    return n


@otel_ai.workflow(name="digest", task_type="daily")
def digest() -> int:
    return 1


@otel_ai.workflow("digest")
async def digest2() -> int:
    return 1


@otel_ai.workflow
def bare_workflow() -> None:
    pass


@otel_ai.agent(name="planner", model="gpt-4o")
def plan() -> str:
    return "plan"


@otel_ai.agent("planner")
def plan2() -> str:
    return "plan"


@otel_ai.tool(name="search", type="function")
def search(q: str) -> list[str]:
    return [q]


@otel_ai.tool("search")
def search2(q: str) -> list[str]:
    return [q]


@otel_ai.tool
def bare_tool() -> None:
    pass


def run() -> None:
    a: str = summarize("t") + summarize2("t") + plan() + plan2()
    b: int = bare_task(1) + digest()
    c: list[str] = search("q") + search2("q")
    with otel_ai.task(type="io", id="7") as unit:
        unit.set_cost(0.1)
    with otel_ai.workflow(name="w"), otel_ai.agent(name="a"), otel_ai.tool(name="t"):
        pass
    otel_ai.configure(service_name="s", endpoint="http://127.0.0.1:4318", protocol="grpc", console=True,
                      capture_content=True, instrument=False)
    otel_ai.configure(capture_content="span_only")
    print(a, b, c)
'''


@pytest.fixture
def otel(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    return use_global_providers(telemetry, monkeypatch)


def test_every_unit_takes_its_first_argument_by_keyword_too(otel: Any) -> None:
    @otel_ai.task(type="summarize", name="x")
    def summarize() -> str:
        return "ok"

    @otel_ai.workflow(name="digest")
    def digest() -> str:
        return summarize()

    @otel_ai.agent(name="planner")
    def plan() -> str:
        return digest()

    @otel_ai.tool(name="search")
    def search() -> str:
        return plan()

    @otel_ai.task
    def bare() -> str:
        return search()

    assert bare() == "ok"
    spans = {span.name: dict(span.attributes or {}) for span in otel.spans_exporter.get_finished_spans()}
    assert spans["task x"]["otel_ai.task.type"] == "summarize" and spans["task x"]["otel_ai.task.name"] == "x"
    assert spans["invoke_workflow digest"]["gen_ai.workflow.name"] == "digest"
    assert spans["invoke_agent planner"]["gen_ai.agent.name"] == "planner"
    assert spans["execute_tool search"]["gen_ai.tool.name"] == "search"
    assert "task bare" in spans
    # The keyword form is the same unit as the positional one.
    assert otel_ai.task(type="a", name="b").span_name == otel_ai.task("a", name="b").span_name == "task b"
    assert otel_ai.workflow(name="w").start_attributes == otel_ai.workflow("w").start_attributes
    assert otel_ai.agent(name="a").start_attributes == otel_ai.agent("a").start_attributes
    tool_attributes = otel_ai.tool("t", type="function").start_attributes
    assert otel_ai.tool(name="t", type="function").start_attributes == tool_attributes


def test_dir_lists_the_lazy_public_names() -> None:
    names = dir(otel_ai)
    for name in ("task", "workflow", "agent", "tool", "configure", "instrument_methods", "map_batches"):
        assert name in names
    assert set(otel_ai.__all__) <= set(names)


def test_the_typed_user_file_passes_mypy_strict(tmp_path: Path) -> None:
    user = tmp_path / "user_app.py"
    user.write_text(USER_FILE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(user)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,  # finds the package here (editable installs hide it)
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("kwargs", "env", "expected"), [
    ({"service_name": "svc"}, {"OTEL_SERVICE_NAME": "from-env"}, {"OTEL_SERVICE_NAME": "svc"}),
    ({"endpoint": "http://collector:4318"}, {}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}),
    ({"protocol": "grpc"}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}),
    ({"capture_content": True}, {}, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}),
    ({"capture_content": False}, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"},
     {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false"}),
    ({"capture_content": "span_only"}, {}, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only"}),
    ({"console": True}, {}, {"OTEL_TRACES_EXPORTER": "otel_ai_console", "OTEL_METRICS_EXPORTER": "none",
                             "OTEL_LOGS_EXPORTER": "none"}),
    ({"console": True}, {"OTEL_METRICS_EXPORTER": "prometheus"},  # an exporter the user chose for metrics stays
     {"OTEL_TRACES_EXPORTER": "otel_ai_console", "OTEL_METRICS_EXPORTER": "prometheus", "OTEL_LOGS_EXPORTER": "none"}),
    ({}, {"OTEL_SERVICE_NAME": "from-env"}, {"OTEL_SERVICE_NAME": "from-env"}),  # nothing given: the variable
])
def test_each_argument_is_its_variable_and_wins_over_it(
    kwargs: dict[str, Any], env: dict[str, str], expected: dict[str, str],
) -> None:
    apply_arguments(env, **kwargs)
    assert env == expected


def test_configure_with_arguments_in_a_fresh_process(tmp_path: Path) -> None:
    """console=True prints the one line per call; service_name wins over OTEL_SERVICE_NAME (the resource)."""
    app = tmp_path / "app.py"
    app.write_text(
        "import otel_ai\n"
        "otel_ai.configure(service_name='from-argument', console=True, capture_content=True, instrument=False)\n"
        "from opentelemetry import trace\n"
        "from otel_ai.runtime import state\n"
        "provider = trace.get_tracer_provider()\n"
        "print(provider.resource.attributes['service.name'])\n"
        "print(state.settings().content.value)\n"
        "print(type(provider._active_span_processor._span_processors[0].span_exporter._inner).__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["OTEL_SERVICE_NAME"] = "from-env"
    result = subprocess.run([sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-argument", "span_and_event", "ConsoleGenAISpanExporter"]
    assert "otel-ai:" not in result.stderr  # no metrics or logs exporter waiting on a collector
