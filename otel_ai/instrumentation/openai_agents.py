"""The OpenAI Agents SDK as units of work: its trace a workflow, its agents, tools and guardrails ours.

The SDK has its own tracing, with processors (`agents.tracing.add_trace_processor`). We add one, next to
the SDK's exporter to OpenAI's platform (never instead of it), that opens a unit of work when the SDK
starts a trace or span and ends it when the SDK ends it: the trace is `invoke_workflow {name}`, an agent
span `invoke_agent {agent}`, a function span `execute_tool {tool}` (arguments and result only with
content capture on), a guardrail span `apply_guardrail` (the open security-guardian proposal's names:
the conventions have none yet), a handoff an event on the agent that hands off. The SDK starts and ends
each span in the caller's context (as it sets its own current span), so ours becomes the current
OpenTelemetry context there: the model calls the SDK makes through the `openai` client are recorded
once, by our OpenAI instrumentation, under the agent, and count in its roll-up. A model call that no
instrumentation recorded (a model the SDK reaches another way, or the OpenAI instrumentation turned off)
gets its chat span here, from the usage the SDK reports on its `generation` / `response` span. The SDK's
group id becomes `gen_ai.conversation.id` when no conversation is open.

With the SDK's tracing turned off (`set_tracing_disabled`, `OPENAI_AGENTS_DISABLE_TRACING`) the SDK
calls no processor: the model calls are still recorded, without the units.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from typing import Any, Final
from urllib.parse import urlsplit

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import metrics
from opentelemetry import trace as otel_trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_ai.genai import conversation as conv
from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Usage
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.guard import report
from otel_ai.instrumentation.openai import OpenAIInstrumentor
from otel_ai.instrumentation.openai.providers import provider_for_host
from otel_ai.runtime import state
from otel_ai.work.context import current
from otel_ai.work.handle import Unit
from otel_ai.work.telemetry import telemetry
from otel_ai.work.units import UnitOfWork

__all__ = ["AgentsSpanError", "OTelAIProcessor", "OpenAIAgentsInstrumentor", "processor"]

_INSTRUMENTS: Final = ("openai-agents >= 0.24, < 1",)
# The guardrail span is not in the GenAI conventions yet (semantic-conventions-genai has no
# `apply_guardrail`); these are the names of the open security-guardian proposal
# (open-telemetry/semantic-conventions PR #3233): `apply_guardrail {gen_ai.guardian.name}`, INTERNAL.
OP_APPLY_GUARDRAIL: Final = "apply_guardrail"
GUARDIAN_NAME: Final = "gen_ai.guardian.name"
SECURITY_TARGET_TYPE: Final = "gen_ai.security.target.type"  # llm_input | llm_output for the SDK's two kinds
SECURITY_DECISION_TYPE: Final = "gen_ai.security.decision.type"  # allow | deny (a tripwire stops the run)
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


class _ModelCall:
    """A model call the SDK traces: our fallback chat span, ended only if no instrumentation counted the call."""

    __slots__ = ("calls", "invocation", "unit")

    def __init__(self, unit: Unit | None, invocation: Invocation | None) -> None:
        self.unit, self.invocation = unit, invocation
        self.calls = unit.totals.calls if unit is not None else 0


def _usage(raw: Any) -> Usage:
    """The SDK's usage (a dict on generation spans, the response's `usage` on response spans) as ours."""
    def number(key: str) -> int | None:
        value = raw.get(key) if isinstance(raw, dict) else getattr(raw, key, None)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    return Usage(input_tokens=number("input_tokens"), output_tokens=number("output_tokens"))


class OTelAIProcessor:
    """A `TracingProcessor` (duck-typed: the SDK calls these six methods) opening our units for its spans."""

    def __init__(self) -> None:
        self.enabled = True
        self._lock = threading.Lock()
        self._open: dict[str, _Open] = {}
        self._calls: dict[str, _ModelCall] = {}
        self._recorder: tuple[object, object, GenAIRecorder] | None = None

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
            elif kind in ("generation", "response"):
                self._start_model_call(span, data)
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
            if kind in ("generation", "response"):
                self._end_model_call(span, data)
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

    def _current_recorder(self) -> GenAIRecorder:
        """A recorder on the current global providers (rebuilt only when an app replaces them)."""
        providers = (otel_trace.get_tracer_provider(), metrics.get_meter_provider())
        cached = self._recorder
        if cached is None or cached[0] is not providers[0] or cached[1] is not providers[1]:
            cached = self._recorder = (*providers, state.recorder())
        return cached[2]

    def _start_model_call(self, span: Any, data: Any) -> None:
        """Start a chat span for a call no instrumentation may record, not made current: it is ended only if
        nothing else recorded the call (the unit's call count says), else dropped unended (never exported)."""
        config = getattr(data, "model_config", None) or {}
        provider = "openai"
        host = None
        if data.type == "generation":  # Chat Completions over some base URL, or another library (LiteLLM)
            base_url = config.get("base_url") if isinstance(config, dict) else None
            host = urlsplit(str(base_url)).hostname if base_url else None
            provider = provider_for_host(host) if host else "unknown"
        if (data.type == "response" or host) and OpenAIInstrumentor().is_instrumented_by_opentelemetry:
            return  # the `openai` client's call: our OpenAI instrumentation records it (the common case, free)
        recorder = self._current_recorder()
        model = getattr(data, "model", None)
        request = GenAIRequest("chat", provider, str(model) if model else None)
        call = _ModelCall(current(), recorder.start(request))
        with self._lock:
            self._calls[str(span.span_id)] = call

    def _end_model_call(self, span: Any, data: Any) -> None:
        with self._lock:
            call = self._calls.pop(str(span.span_id), None)
        if call is None or call.invocation is None:
            return
        recorder = self._current_recorder()
        if call.unit is not None and call.unit.totals.calls > call.calls:
            return  # an instrumentation recorded it: ours is dropped unended, so never exported
        response = getattr(data, "response", None)
        usage = _usage(getattr(response, "usage", None) if data.type == "response" else getattr(data, "usage", None))
        model = getattr(response, "model", None) if response is not None else getattr(data, "model", None)
        result = GenAIResponse(response_id=getattr(response, "id", None), model=str(model) if model else None,
                               usage=usage)
        if not call.invocation.request.model and model:
            call.invocation.span.update_name(f"chat {model}")
            call.invocation.span.set_attribute(sc.REQUEST_MODEL, str(model))
        token = call.unit._activate() if call.unit is not None else None  # published where the unit counts it
        try:
            error = getattr(span, "error", None)
            if isinstance(error, dict):
                recorder.fail(call.invocation, AgentsSpanError(str(error.get("message") or "error")), result)
            else:
                recorder.end(call.invocation, result)
        finally:
            Unit._deactivate(token)

    def _start_guardrail(self, span: Any, name: str) -> None:
        tracer, _ = telemetry()
        attributes = {sc.OPERATION: OP_APPLY_GUARDRAIL, GUARDIAN_NAME: name}
        ours = tracer.start_span(f"{OP_APPLY_GUARDRAIL} {name}", kind=SpanKind.INTERNAL, attributes=attributes)
        token = otel_context.attach(otel_trace.set_span_in_context(ours))
        self._remember(str(span.span_id), _Open(None, ours, token))

    @staticmethod
    def _end_guardrail(opened: _Open, data: Any, failure: AgentsSpanError | None) -> None:
        ours = opened.span
        triggered = bool(getattr(data, "triggered", False))
        ours.set_attribute(SECURITY_DECISION_TYPE, "deny" if triggered else "allow")
        if failure is not None:
            ours.set_attribute(sc.ERROR_TYPE, f"{__name__}.{AgentsSpanError.__qualname__}")
            ours.set_status(Status(StatusCode.ERROR, str(failure)[:512]))
        Unit._deactivate(opened.token)
        ours.end()

    @staticmethod
    def _handoff(data: Any) -> None:
        """A handoff: an event on the agent unit that hands off (the SDK's span ends inside it)."""
        unit = current()
        while unit is not None and unit.kind != "agent":
            unit = unit.parent
        if unit is None:
            return
        attributes = {"otel_ai.handoff.from_agent": str(data.from_agent or ""),
                      "otel_ai.handoff.to_agent": str(data.to_agent or "")}
        unit.span.add_event(HANDOFF_EVENT, attributes)
        unit.set_attribute("otel_ai.handoff.to_agent", str(data.to_agent or ""))


class OpenAIAgentsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Adds our processor to the Agents SDK's tracing (once) when the app imports `agents`; uninstrumenting
    turns it off. The hook waits for the app's own import: `agents` takes a second and more to import, which
    an app that never uses it should not pay."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        _STATE.generation += 1
        generation = _STATE.generation

        def attach(module: Any) -> None:
            if _STATE.generation == generation:
                _attach()

        try:
            wrapt.register_post_import_hook(attach, "agents")
        except Exception as exc:
            report("agents.instrument", exc)

    def _uninstrument(self, **kwargs: Any) -> None:
        _STATE.generation += 1
        if _STATE.processor is not None:
            _STATE.processor.enabled = False


class _State:
    generation = 0
    processor: OTelAIProcessor | None = None


_STATE: Final = _State()
_PROCESSOR_LOCK: Final = threading.Lock()


def _attach() -> None:
    """Add our processor next to the SDK's own (once), and turn it on."""
    try:
        from agents.tracing import add_trace_processor

        with _PROCESSOR_LOCK:
            if _STATE.processor is None:
                _STATE.processor = OTelAIProcessor()
                add_trace_processor(_STATE.processor)  # type: ignore[arg-type]
                _wrap_guardrails()
            _STATE.processor.enabled = True
    except Exception as exc:
        report("agents.instrument", exc)


def _guardrail_target(target: str) -> Any:
    """A wrapper for `InputGuardrail.run` / `OutputGuardrail.run`: the SDK's guardrail span does not say
    which kind it is, the method that runs inside it does (our span is the current one there)."""

    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            span = otel_trace.get_current_span()
            ours = _STATE.processor is not None and _STATE.processor.enabled
            if ours and span.is_recording() and str(getattr(span, "name", "")).startswith(OP_APPLY_GUARDRAIL):
                span.set_attribute(SECURITY_TARGET_TYPE, target)
        except Exception as exc:
            report("agents.guardrail_target", exc)
        return await wrapped(*args, **kwargs)

    return wrapper


def _wrap_guardrails() -> None:
    try:
        import agents.guardrail as guardrails

        for owner, target in ((guardrails.InputGuardrail, "llm_input"), (guardrails.OutputGuardrail, "llm_output")):
            if not hasattr(vars(owner).get("run"), "__wrapped__"):
                wrapt.wrap_function_wrapper(owner, "run", _guardrail_target(target))
    except Exception as exc:
        report("agents.guardrail_wrap", exc)


def processor() -> OTelAIProcessor | None:
    """The processor added to the SDK (None before `instrument()` and the app's `import agents`)."""
    return _STATE.processor
