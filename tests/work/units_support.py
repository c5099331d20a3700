"""Test helpers for units of work: route the global OTel providers to the test's in-memory ones.

Unit spans come from the global tracer provider (as under `opentelemetry-instrument`); the
`telemetry` fixture hands its providers to the instrumentors only, so these tests point the
globals at the same providers for the duration of one test.
"""

from __future__ import annotations

from typing import Any

import opentelemetry.metrics._internal as metrics_internal
import opentelemetry.trace as trace_api
import pytest
from opentelemetry.sdk.trace import ReadableSpan

from otel_ai.work import units


def use_global_providers(telemetry: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(trace_api, "_TRACER_PROVIDER", telemetry.providers["tracer_provider"])
    monkeypatch.setattr(metrics_internal, "_METER_PROVIDER", telemetry.providers["meter_provider"])
    units._ensure_registered()  # another test may have reset the seam
    return telemetry


def by_name(telemetry: Any, name: str) -> ReadableSpan:
    found = [s for s in telemetry.spans() if s.name == name]
    assert len(found) == 1, [s.name for s in telemetry.spans()]
    return found[0]


def children(telemetry: Any, parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in telemetry.spans() if s.parent is not None and s.parent.span_id == parent.context.span_id]


def descendants(telemetry: Any, parent: ReadableSpan) -> list[ReadableSpan]:
    found: list[ReadableSpan] = []
    todo = [parent]
    while todo:
        node = todo.pop()
        kids = children(telemetry, node)
        found.extend(kids)
        todo.extend(kids)
    return found


def genai_calls_under(telemetry: Any, parent: ReadableSpan) -> list[ReadableSpan]:
    """The GenAI client calls (not units) below `parent`, at any depth."""
    return [
        s for s in descendants(telemetry, parent)
        if (s.attributes or {}).get("gen_ai.operation.name") not in (None, "invoke_workflow", "invoke_agent",
                                                                      "execute_tool")
    ]
