"""The OpenAI Agents SDK as units of work: its trace a workflow, its agents, tools and guardrails ours.

The SDK has its own tracing, with processors (`agents.tracing.add_trace_processor`). We add one, next to
the SDK's exporter to OpenAI's platform (never instead of it), that opens a unit of work when the SDK
starts a trace or span and ends it when the SDK ends it: the trace is `invoke_workflow {name}`, an
agent span `invoke_agent {agent}`, a function span `execute_tool {tool}` (arguments and result only with
content capture on), a guardrail span the conventions' `apply_guardrail`, a handoff an event on the
agent that hands off. The SDK starts and ends each span in the caller's context (as it sets its own
current span), so ours becomes the current OpenTelemetry context there: the model calls the SDK makes
through the `openai` client are recorded once, by our OpenAI instrumentation, under the agent, and
count in its roll-up. The SDK's group id becomes `gen_ai.conversation.id` when no conversation is open.

With the SDK's tracing turned off (`set_tracing_disabled`, `OPENAI_AGENTS_DISABLE_TRACING`) the SDK
calls no processor: the model calls are still recorded, without the units.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_ai.genai import conversation as conv
from otel_ai.genai import semconv as sc
from otel_ai.guard import report
from otel_ai.runtime import state
from otel_ai.work.handle import Unit
from otel_ai.work.telemetry import telemetry
from otel_ai.work.units import UnitOfWork

__all__ = ["AgentsSpanError", "OTelAIProcessor", "OpenAIAgentsInstrumentor", "processor"]

_INSTRUMENTS: Final = ("openai-agents >= 0.24, < 1",)
OP_APPLY_GUARDRAIL: Final = "apply_guardrail"
GUARDRAIL_NAME: Final = "gen_ai.guardrail.name"
GUARDRAIL_TRIGGERED: Final = "otel_ai.guardrail.triggered"
HANDOFF_EVENT: Final = "otel_ai.agent.handoff"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"


class AgentsSpanError(Exception):
    """What a failed SDK span (a tool that raised, a tripped guardrail) ends its unit with."""


def _capture() -> tuple[bool, int]:
    try:
        settings = state.settings()
        return settings.content.name != "NO_CONTENT", int(settings.content_max_length)
    except Exception as exc:
        report("agents.settings", exc)
        return False, 0


def _text(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:limit] if limit > 0 else text


class _Open:
    """A unit (or a plain span, for a guardrail) opened for one SDK span, and the token that made it current."""

    __slots__ = ("span", "token", "unit")

    def __init__(self, unit: Unit | None, span: Any, token: object) -> None:
        self.unit, self.span, self.token = unit, span, token


class OTelAIProcessor:
    """A `TracingProcessor` (duck-typed: the SDK calls these six methods) opening our units for its spans."""

    def __init__(self) -> None:
        self.enabled = True
        self._lock = threading.Lock()
        self._open: dict[str, _Open] = {}

    # -- the SDK's trace: a workflow ------------------------------------------------------------

    def on_trace_start(self, trace: Any) -> None:
        if not self.enabled:
            return
        try:
            name = str(getattr(trace, "name", None) or "Agent workflow")
            group = getattr(trace, "group_id", None)
            token = None
            if group and conv.current() is None:  # the group id is the conversation, unless one is open
                token = otel_context.attach(otel_context.set_value(conv.KEY, conv.make(str(group), None)))
            try:
                unit = UnitOfWork("workflow", name)._begin()
            finally:
                if token is not None:
                    otel_context.detach(token)
            self._remember(str(trace.trace_id), _Open(unit, None, unit._activate()))
        except Exception as exc:
            report("agents.trace_start", exc)

    def on_trace_end(self, trace: Any) -> None:
        try:
            opened = self._forget(str(trace.trace_id))
            if opened is not None and opened.unit is not None:
                Unit._deactivate(opened.token)
                opened.unit._end(None)
        except Exception as exc:
            report("agents.trace_end", exc)

    # -- its spans ------------------------------------------------------------------------------

    def on_span_start(self, span: Any) -> None:
        if not self.enabled:
            return
        try:
            data = span.span_data
            kind = getattr(data, "type", None)
            if kind == "agent":
                spec = UnitOfWork("agent", str(data.name))
            elif kind == "function":
                spec = UnitOfWork("tool", str(data.name), tool_type="function")
            elif kind == "guardrail":
                self._start_guardrail(span, str(data.name))
                return
            else:
                return
            unit = spec._begin()
            self._remember(str(span.span_id), _Open(unit, None, unit._activate()))
        except Exception as exc:
            report("agents.span_start", exc)

    def on_span_end(self, span: Any) -> None:
        try:
            data = span.span_data
            kind = getattr(data, "type", None)
            if kind == "handoff":
                self._handoff(data)
                return
            opened = self._forget(str(span.span_id))
            if opened is None:
                return
            error = getattr(span, "error", None)
            failure = AgentsSpanError(str(error.get("message") or "error")) if isinstance(error, dict) else None
            if opened.unit is None:
                self._end_guardrail(opened, data, failure)
                return
            unit = opened.unit
            if kind == "function":
                capture, limit = _capture()
                if capture:
                    if data.input is not None:
                        unit.set_attribute(TOOL_CALL_ARGUMENTS, _text(data.input, limit))
                    if data.output is not None:
                        unit.set_attribute(TOOL_CALL_RESULT, _text(data.output, limit))
            elif kind == "agent":
                tools, handoffs = getattr(data, "tools", None), getattr(data, "handoffs", None)
                if tools:
                    unit.set_attribute("otel_ai.agent.tools", [str(t) for t in tools])
                if handoffs:
                    unit.set_attribute("otel_ai.agent.handoffs", [str(h) for h in handoffs])
            Unit._deactivate(opened.token)
            unit._end(failure)
        except Exception as exc:
            report("agents.span_end", exc)

    def shutdown(self) -> None:
        """Nothing to flush: our spans go through the OpenTelemetry pipeline."""

    def force_flush(self) -> None:
        """Nothing to flush: our spans go through the OpenTelemetry pipeline."""

    # -- helpers --------------------------------------------------------------------------------

    def _remember(self, key: str, opened: _Open) -> None:
        with self._lock:
            self._open[key] = opened

    def _forget(self, key: str) -> _Open | None:
        with self._lock:
            return self._open.pop(key, None)

    def _start_guardrail(self, span: Any, name: str) -> None:
        tracer, _ = telemetry()
        attributes = {sc.OPERATION: OP_APPLY_GUARDRAIL, GUARDRAIL_NAME: name}
        ours = tracer.start_span(f"{OP_APPLY_GUARDRAIL} {name}", kind=SpanKind.INTERNAL, attributes=attributes)
        from opentelemetry import trace as otel_trace

        token = otel_context.attach(otel_trace.set_span_in_context(ours))
        self._remember(str(span.span_id), _Open(None, ours, token))

    @staticmethod
    def _end_guardrail(opened: _Open, data: Any, failure: AgentsSpanError | None) -> None:
        ours = opened.span
        triggered = bool(getattr(data, "triggered", False))
        ours.set_attribute(GUARDRAIL_TRIGGERED, triggered)
        if failure is not None:
            ours.set_attribute(sc.ERROR_TYPE, f"{__name__}.{AgentsSpanError.__qualname__}")
            ours.set_status(Status(StatusCode.ERROR, str(failure)[:512]))
        Unit._deactivate(opened.token)
        ours.end()

    @staticmethod
    def _handoff(data: Any) -> None:
        """A handoff: an event on the agent unit that hands off (the SDK's span ends inside it)."""
        from otel_ai.work.context import current

        unit = current()
        while unit is not None and unit.kind != "agent":
            unit = unit.parent
        if unit is None:
            return
        attributes = {"otel_ai.handoff.from_agent": str(data.from_agent or ""),
                      "otel_ai.handoff.to_agent": str(data.to_agent or "")}
        unit.span.add_event(HANDOFF_EVENT, attributes)
        unit.set_attribute("otel_ai.handoff.to_agent", str(data.to_agent or ""))


_PROCESSOR: OTelAIProcessor | None = None
_PROCESSOR_LOCK = threading.Lock()


class OpenAIAgentsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Adds our processor to the Agents SDK's tracing (once); uninstrumenting turns it off."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        global _PROCESSOR
        try:
            from agents.tracing import add_trace_processor

            with _PROCESSOR_LOCK:
                if _PROCESSOR is None:
                    _PROCESSOR = OTelAIProcessor()
                    add_trace_processor(_PROCESSOR)  # type: ignore[arg-type]
                _PROCESSOR.enabled = True
        except Exception as exc:
            report("agents.instrument", exc)

    def _uninstrument(self, **kwargs: Any) -> None:
        if _PROCESSOR is not None:
            _PROCESSOR.enabled = False


def processor() -> OTelAIProcessor | None:
    """The processor added to the SDK (None before `instrument()`)."""
    return _PROCESSOR
