"""Celery tasks decorated with units of work keep working (eager mode), with their spans and roll-up."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery

import otel_ai
from tests.work.units_support import by_name, genai_calls_under, use_global_providers

MESSAGES = [{"role": "user", "content": "classify this ticket please"}]


@pytest.fixture
def app() -> Iterator[Celery]:
    app = Celery("otel_ai_tests", set_as_current=False)
    app.conf.update(task_always_eager=True, task_eager_propagates=True, broker_url="memory://",
                    result_backend="cache+memory://")
    yield app


def test_celery_task_decorated_as_a_task(app: Celery, client: Any, telemetry: Any, monkeypatch: Any) -> None:
    use_global_providers(telemetry, monkeypatch)

    @app.task(name="tickets.classify")
    @otel_ai.task("classify")
    def classify(ticket: str) -> str:
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return f"{ticket}:{answer.choices[0].message.content}"

    assert classify.name == "tickets.classify"
    assert classify.delay("T-1").get(timeout=5).startswith("T-1:")
    assert classify.apply(args=("T-2",)).get().startswith("T-2:")
    assert classify("T-3").startswith("T-3:")  # called directly, as Celery allows
    spans = [s for s in telemetry.spans() if s.name == "task classify"]
    assert len(spans) == 3
    for span in spans:
        [call] = genai_calls_under(telemetry, span)
        assert call.attributes["otel_ai.task.type"] == "classify"
        assert span.attributes["otel_ai.task.calls"] == 1
        assert span.attributes["otel_ai.task.cost.usd"] == pytest.approx(call.attributes["otel_ai.cost.usd"])


def test_bound_celery_task_and_failures(app: Celery, telemetry: Any, monkeypatch: Any) -> None:
    use_global_providers(telemetry, monkeypatch)

    @app.task(bind=True, name="jobs.flaky")
    @otel_ai.workflow("flaky")
    def flaky(self: Any, fail: bool) -> str:
        if fail:
            raise ValueError("bad input")
        return str(self.request.id is not None)

    assert flaky.delay(False).get(timeout=5) == "True"
    with pytest.raises(ValueError, match="bad input"):
        flaky.delay(True)
    spans = [s for s in telemetry.spans() if s.name == "invoke_workflow flaky"]
    assert len(spans) == 2
    assert sorted(str(s.attributes.get("error.type")) for s in spans) == ["None", "ValueError"]


def test_celery_task_with_a_context_manager_inside(app: Celery, telemetry: Any, monkeypatch: Any) -> None:
    use_global_providers(telemetry, monkeypatch)

    @app.task(name="jobs.render")
    def render(pages: int) -> int:
        with otel_ai.task("render", id="render-job") as unit:
            unit.set_cost(0.01 * pages, model="local-gpu")
        return pages

    assert render.delay(3).get(timeout=5) == 3
    span = by_name(telemetry, "task render")
    assert span.attributes["otel_ai.task.id"] == "render-job"
    assert span.attributes["otel_ai.task.cost.usd"] == pytest.approx(0.03)
