"""Units of work: workflow, agent, tool and task spans, and the roll-up of the calls beneath them.

`workflow`, `agent`, `tool` and `task` each return a `UnitOfWork`: a decorator (sync, async,
generator and async-generator functions) and a context manager (`with` / `async with`) whose
handle, a `Unit`, records spend the agent cannot see (`set_cost`) and sets attributes.
Workflow, agent and tool spans are the GenAI conventions' `invoke_workflow`, `invoke_agent`
(in-process, INTERNAL) and `execute_tool`, attribute for attribute as `opentelemetry-util-genai`
writes them, with its duration histograms; tasks, which the conventions lack, are
`otel_ai.task.type` / `otel_ai.task.id` spans without `gen_ai.operation.name` (so nothing that
counts GenAI calls mistakes them for one).

Roll-up: the unit lives in the OpenTelemetry context next to its span; the recorder publishes
every finished call on the caller's context (`work.calls`) and `_on_call` adds it to the innermost
unit and to every unit above it. Each unit's totals go on its span when it ends. Importing this
module registers the listener, the task-type source and the thread propagation, so an app that
never uses a unit pays nothing.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import threading
import timeit
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, TypeVar, cast, overload

from opentelemetry import metrics, trace
from opentelemetry.context import Context, attach, detach, set_value
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from otel_ai import agent_warnings
from otel_ai.genai import hooks as calls
from otel_ai.genai import semconv as sc
from otel_ai.genai.classify import error_type
from otel_ai.guard import report
from otel_ai.work import threads
from otel_ai.work.context import UNIT_KEY, current

__all__ = [
    "EXTERNAL_OPERATION",
    "Kind",
    "Totals",
    "Unit",
    "UnitOfWork",
    "agent",
    "current_unit",
    "instrument_methods",
    "task",
    "tool",
    "workflow",
]

_logger = logging.getLogger("otel_ai")
_SCOPE: Final = "otel_ai"
_SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.37.0"
# The `CallScope.operation` of spend recorded with `Unit.set_cost` (what budgets can match on).
EXTERNAL_OPERATION: Final = "external"

Kind = Literal["workflow", "agent", "tool", "task"]
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
Attributes = dict[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class Totals:
    """What the GenAI calls under a unit (at any depth) used and cost, so far."""

    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    calls: int = 0
    failed_calls: int = 0

    def attributes(self) -> Attributes:
        return {
            sc.TASK_COST_USD: self.cost_usd,
            sc.TASK_INPUT_TOKENS: self.input_tokens,
            sc.TASK_OUTPUT_TOKENS: self.output_tokens,
            sc.TASK_CHARACTERS: self.characters,
            sc.TASK_CALLS: self.calls,
            sc.TASK_CALLS_FAILED: self.failed_calls,
        }


# -- tracer and instruments from the global providers ------------------------------------------


class _Instruments:
    """The conventions' duration histograms, with util-genai's names, units, descriptions and buckets."""

    __slots__ = ("agent", "tool", "workflow")

    def __init__(self, provider: MeterProvider) -> None:
        from otel_ai.version import __version__

        meter = metrics.get_meter(_SCOPE, __version__, provider, schema_url=_SCHEMA_URL)
        self.workflow: Histogram = meter.create_histogram(
            sc.METRIC_INVOKE_WORKFLOW_DURATION, unit="s", description="Measures the duration of a workflow execution.",
            explicit_bucket_boundaries_advisory=list(sc.WORKFLOW_SECONDS_BUCKETS),
        )
        self.agent: Histogram = meter.create_histogram(
            sc.METRIC_INVOKE_AGENT_DURATION, unit="s",
            description="Measures the duration of an in-process agent invocation.",
            explicit_bucket_boundaries_advisory=list(sc.AGENT_SECONDS_BUCKETS),
        )
        self.tool: Histogram = meter.create_histogram(
            sc.METRIC_EXECUTE_TOOL_DURATION, unit="s", description="Measures the duration of a tool execution.",
            explicit_bucket_boundaries_advisory=list(sc.SECONDS_BUCKETS),
        )


_telemetry_cache: tuple[TracerProvider, MeterProvider, Tracer, _Instruments] | None = None


def _telemetry() -> tuple[Tracer, _Instruments]:
    """The tracer and instruments of the current global providers (rebuilt only when those change)."""
    global _telemetry_cache
    tracer_provider = trace.get_tracer_provider()
    meter_provider = metrics.get_meter_provider()
    cached = _telemetry_cache
    if cached is None or cached[0] is not tracer_provider or cached[1] is not meter_provider:
        from otel_ai.version import __version__

        tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        cached = _telemetry_cache = (tracer_provider, meter_provider, tracer, _Instruments(meter_provider))
    return cached[2], cached[3]


# -- the handle of one running unit -------------------------------------------------------------


class Unit:
    """One running workflow, agent, tool or task: its span, its roll-up, and what the app may add."""

    __slots__ = (
        "_calls", "_characters", "_claim", "_context", "_cost", "_failed", "_input", "_lock", "_output", "_start",
        "_token", "agent_name", "kind", "name", "parent", "span", "spec", "task_type",
    )

    def __init__(self, spec: UnitOfWork, parent: Unit | None, span: Span, agent_name: str | None) -> None:
        self.spec = spec
        self.kind: Kind = spec.kind
        self.name = spec.name
        self.parent = parent
        self.span = span
        # The innermost task type: this unit's own, else the enclosing unit's.
        inherited = parent.task_type if parent is not None else None
        self.task_type: str | None = spec.task_type if spec.task_type is not None else inherited
        self.agent_name = agent_name
        self._lock = threading.Lock()
        self._cost = 0.0
        self._input = self._output = self._characters = self._calls = self._failed = 0
        self._claim = [True]  # list.pop is atomic: the one caller that pops it ends the unit
        self._context: Context | None = None
        self._token: object = None
        self._start = timeit.default_timer()

    # -- public ---------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return not self._claim

    @property
    def totals(self) -> Totals:
        """The roll-up so far: every call under this unit, threads and asyncio tasks included."""
        with self._lock:
            return Totals(self._cost, self._input, self._output, self._characters, self._calls, self._failed)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        try:
            self.span.set_attribute(key, value)
        except Exception as exc:
            report("work.set_attribute", exc)

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        try:
            self.span.set_attributes(attributes)
        except Exception as exc:
            report("work.set_attribute", exc)

    def set_cost(
        self,
        usd: float,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        characters: int = 0,
        model: str | None = None,
        provider: str = "unknown",
        failed: bool = False,
    ) -> None:
        """Record spend the agent cannot see (a library it does not instrument, a local model).

        Each call counts as one call in this unit's roll-up and in every unit above it, and is
        published like a finished GenAI call (operation `external`), so budgets count it too.
        """
        try:
            cost = float(usd)
            facts = calls.CallFacts(
                calls.CallScope(provider, EXTERNAL_OPERATION, model, self.task_type),
                cost if math.isfinite(cost) and cost > 0 else 0.0,
                max(0, int(input_tokens)), max(0, int(output_tokens)), max(0, int(characters)), bool(failed),
            )
            _ensure_registered()
            context = self._context
            if context is None:  # the unit could not start its span: count it here only
                self._add(facts)
                return
            # Published in this unit's context: the roll-up listener adds it here and above.
            token = attach(context)
            try:
                calls.publish(facts)
            finally:
                detach(token)
        except Exception as exc:
            report("work.set_cost", exc)

    # -- internal -------------------------------------------------------------------------------

    def _add(self, facts: calls.CallFacts) -> None:
        with self._lock:
            self._cost += facts.cost_usd
            self._input += facts.input_tokens
            self._output += facts.output_tokens
            self._characters += facts.characters
            self._calls += 1
            if facts.failed:
                self._failed += 1

    def _activate(self) -> object:
        """Make this unit (and its span) current; returns the token for `_deactivate`."""
        if self._context is None:
            return None
        try:
            return attach(self._context)
        except Exception as exc:
            report("work.attach", exc)
            return None

    @staticmethod
    def _deactivate(token: object) -> None:
        if token is None:
            return
        try:
            detach(token)  # type: ignore[arg-type]
        except Exception as exc:
            report("work.detach", exc)

    def _end(self, exc: BaseException | None) -> None:
        """End the span with the roll-up, exactly once; a generator closed early is not an error."""
        try:
            self._claim.pop()
        except IndexError:
            return
        try:
            duration = max(timeit.default_timer() - self._start, 0.0)
            spec, span = self.spec, self.span
            attributes: Attributes = dict(spec.end_attributes)
            if self.kind == "tool" and self.agent_name is not None:
                attributes[sc.AGENT_NAME] = self.agent_name
            metric_attributes: Attributes | None = None
            failure = None if isinstance(exc, GeneratorExit) else exc
            if self.kind != "task":
                metric_attributes = dict(spec.metric_attributes)
                if self.kind == "tool" and self.agent_name is not None:
                    metric_attributes[sc.AGENT_NAME] = self.agent_name
            if failure is not None:
                etype = error_type(failure)
                attributes[sc.ERROR_TYPE] = etype
                if metric_attributes is not None:
                    metric_attributes[sc.ERROR_TYPE] = etype
                span.set_status(Status(StatusCode.ERROR, str(failure)[:512]))
                span.record_exception(failure, escaped=True)
            attributes.update(self.totals.attributes())
            if span.is_recording():
                span.set_attributes(attributes)
            span.end()
            if metric_attributes is not None:
                _, instruments = _telemetry()
                histogram = getattr(instruments, self.kind)
                histogram.record(duration, metric_attributes, context=self._context)
        except Exception as inner:
            report("work.end", inner)
            try:
                self.span.end()
            except Exception as last:
                report("work.end_span", last)


# -- the roll-up listener and the task-type source ------------------------------------------------


def _on_call(facts: calls.CallFacts) -> None:
    """Add one finished call to the innermost unit and every unit above it."""
    unit = current()
    while unit is not None:
        unit._add(facts)
        unit = unit.parent


def _task_type() -> str | None:
    unit = current()
    return unit.task_type if unit is not None else None


def _ensure_registered() -> None:
    """Register with the seam (again, if something unregistered us); two identity checks when done."""
    if calls.SEAM.task_type_of is not _task_type:
        calls.set_task_type_source(_task_type)
    if _on_call not in calls.SEAM.listeners:
        calls.subscribe(_on_call)
    if not threads.installed():
        threads.install()


def current_unit() -> Unit | None:
    """The innermost unit of work open where this is called (to `set_cost` from a decorated function)."""
    return current()


# -- what `workflow()` & co. return: a decorator and a context manager ----------------------------


class UnitOfWork:
    """A unit's fixed description; decorate a function with it or enter it to run one unit."""

    __slots__ = (
        "_open", "_options", "end_attributes", "kind", "metric_attributes", "name", "span_name", "start_attributes",
        "task_type",
    )
    task_type: str | None  # the `otel_ai.task.type` it sets; None: the enclosing unit's
    span_name: str

    def __init__(
        self,
        kind: Kind,
        name: str | None,
        *,
        task_type: str | None = None,
        task_id: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
        model: str | None = None,
        description: str | None = None,
        tool_type: str | None = None,
        agent_name: str | None = None,
    ) -> None:
        self.kind: Kind = kind
        self.name = name
        self._options: dict[str, Any] = {
            "task_type": task_type, "task_id": task_id, "attributes": attributes, "model": model,
            "description": description, "tool_type": tool_type, "agent_name": agent_name,
        }
        self._open: list[Unit] = []
        start: Attributes = {}
        end: Attributes = {}
        metric: Attributes = {}
        label = name or kind
        if kind == "workflow":
            self.task_type = task_type if task_type is not None else name
            start[sc.OPERATION] = sc.OP_INVOKE_WORKFLOW
            if name is not None:
                start[sc.WORKFLOW_NAME] = end[sc.WORKFLOW_NAME] = metric[sc.WORKFLOW_NAME] = name
            self.span_name = f"{sc.OP_INVOKE_WORKFLOW} {name}" if name else sc.OP_INVOKE_WORKFLOW
        elif kind == "agent":
            self.task_type = task_type
            start[sc.OPERATION] = sc.OP_INVOKE_AGENT
            if model is not None:
                start[sc.REQUEST_MODEL] = metric[sc.REQUEST_MODEL] = model
            if name is not None:
                start[sc.AGENT_NAME] = metric[sc.AGENT_NAME] = name
            if description is not None:
                end[sc.AGENT_DESCRIPTION] = description
            self.span_name = f"{sc.OP_INVOKE_AGENT} {name}" if name else sc.OP_INVOKE_AGENT
        elif kind == "tool":
            self.task_type = task_type
            start[sc.OPERATION] = sc.OP_EXECUTE_TOOL
            metric[sc.TOOL_NAME] = label
            if name is not None:
                start[sc.TOOL_NAME] = name
            if tool_type is not None:
                start[sc.TOOL_TYPE] = end[sc.TOOL_TYPE] = metric[sc.TOOL_TYPE] = tool_type
            if description is not None:
                end[sc.TOOL_DESCRIPTION] = description
            if agent_name is not None:
                end[sc.AGENT_NAME] = metric[sc.AGENT_NAME] = agent_name
            self.span_name = f"{sc.OP_EXECUTE_TOOL} {name}" if name else sc.OP_EXECUTE_TOOL
        else:
            self.task_type = task_type if task_type is not None else name
            if self.task_type is not None:
                start[sc.TASK_TYPE] = self.task_type
            if name is not None:
                start[sc.TASK_NAME] = name
            self.span_name = f"task {label}"
        if kind == "workflow" and self.task_type is not None:
            start[sc.TASK_TYPE] = self.task_type
        if task_id is not None:
            start[sc.TASK_ID] = task_id
        if attributes:
            start.update(attributes)
        self.start_attributes = start
        self.end_attributes = end
        self.metric_attributes = metric

    # -- running one unit -----------------------------------------------------------------------

    def _begin(self) -> Unit:
        """Open one unit under the current context; never raises (a failing start gives a spanless unit)."""
        parent = current()
        try:
            _ensure_registered()
            agent_name = None
            if self.kind == "tool":
                agent_name = self.end_attributes.get(sc.AGENT_NAME)
                node = parent
                while agent_name is None and node is not None:
                    if node.kind == "agent":
                        agent_name = node.name
                    node = node.parent
            tracer, _ = _telemetry()
            span = tracer.start_span(self.span_name, kind=SpanKind.INTERNAL, attributes=self.start_attributes)
            unit = Unit(self, parent, span, str(agent_name) if agent_name is not None else None)
            unit._context = set_value(UNIT_KEY, unit, trace.set_span_in_context(span))
            return unit
        except Exception as exc:
            report("work.begin", exc)
            return Unit(self, parent, INVALID_SPAN, None)

    def __enter__(self) -> Unit:
        unit = self._begin()
        unit._token = unit._activate()
        self._open.append(unit)
        return unit

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        unit = current()
        if unit is None or unit.spec is not self or unit not in self._open:
            unit = self._open[-1] if self._open else None
        if unit is None:
            return
        with contextlib.suppress(ValueError):
            self._open.remove(unit)
        Unit._deactivate(unit._token)
        unit._end(exc)

    async def __aenter__(self) -> Unit:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorating -----------------------------------------------------------------------------

    def __call__(self, fn: F) -> F:
        spec = self if self.name is not None else self._renamed(getattr(fn, "__name__", self.kind))
        if inspect.isasyncgenfunction(fn):
            wrapper: Callable[..., Any] = _async_generator(spec, fn)
        elif inspect.isgeneratorfunction(fn):
            wrapper = _generator(spec, fn)
        elif inspect.iscoroutinefunction(fn):
            wrapper = _coroutine(spec, fn)
        else:
            wrapper = _function(spec, fn)
        wrapper.__otel_ai_unit__ = spec  # type: ignore[attr-defined]
        return cast(F, wrapper)

    def _renamed(self, name: str) -> UnitOfWork:
        """A copy named after the decorated function (when no name was given)."""
        return UnitOfWork(self.kind, name, **self._options)


def _function(spec: UnitOfWork, fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        unit = spec._begin()
        token = unit._activate()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            Unit._deactivate(token)
            unit._end(exc)
            raise
        Unit._deactivate(token)
        unit._end(None)
        return result

    return run


def _coroutine(spec: UnitOfWork, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> T:
        unit = spec._begin()
        token = unit._activate()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:  # cancellation included: the span ends, marked, exactly once
            Unit._deactivate(token)
            unit._end(exc)
            raise
        Unit._deactivate(token)
        unit._end(None)
        return result

    return run


def _generator(spec: UnitOfWork, fn: Callable[..., Generator[Any, Any, T]]) -> Callable[..., Generator[Any, Any, T]]:
    """The unit spans first `next` to exhaustion; its context is current only while the body runs."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Generator[Any, Any, T]:
        unit = spec._begin()
        inner = fn(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = unit._activate()
            try:
                item = inner.send(sent) if thrown is None else inner.throw(thrown)
            except StopIteration as stop:
                Unit._deactivate(token)
                unit._end(None)
                return cast(T, stop.value)
            except BaseException as exc:
                Unit._deactivate(token)
                unit._end(exc)
                raise
            Unit._deactivate(token)
            try:
                sent = yield item
                thrown = None
            except GeneratorExit as closing:  # closed early (close(), break, garbage collected)
                token = unit._activate()
                try:
                    inner.close()
                except BaseException as exc:
                    Unit._deactivate(token)
                    unit._end(exc)
                    raise
                Unit._deactivate(token)
                unit._end(closing)
                raise
            except BaseException as exc:  # thrown in by the consumer: hand it to the body
                sent, thrown = None, exc

    return run


def _async_generator(spec: UnitOfWork, fn: Callable[..., AsyncGenerator[Any, Any]]) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        unit = spec._begin()
        inner = fn(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = unit._activate()
            try:
                item = await (inner.asend(sent) if thrown is None else inner.athrow(thrown))
            except StopAsyncIteration:
                Unit._deactivate(token)
                unit._end(None)
                return
            except BaseException as exc:
                Unit._deactivate(token)
                unit._end(exc)
                raise
            Unit._deactivate(token)
            try:
                sent = yield item
                thrown = None
            except GeneratorExit as closing:
                token = unit._activate()
                try:
                    await inner.aclose()
                except BaseException as exc:
                    Unit._deactivate(token)
                    unit._end(exc)
                    raise
                Unit._deactivate(token)
                unit._end(closing)
                raise
            except BaseException as exc:
                sent, thrown = None, exc

    return run


# -- the public constructors ---------------------------------------------------------------------
# Each takes its first argument positionally or by keyword (`task("x")` and `task(type="x")` are the
# same unit, as people write both), and bare (`@task` names the unit after the function). The bare
# form's overload stays positional-only: `task(type=fn)` is not a decorator anyone means.


@overload
def workflow(name: F, /) -> F: ...
@overload
def workflow(
    name: str | None = None, *, task_type: str | None = None, task_id: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork: ...
def workflow(
    name: str | F | None = None, *, task_type: str | None = None, task_id: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork | F:
    """An `invoke_workflow {name}` span; its calls carry `otel_ai.task.type` = `task_type` or the name."""
    if callable(name):
        return UnitOfWork("workflow", None)(name)
    return UnitOfWork("workflow", name, task_type=task_type, task_id=task_id, attributes=attributes)


@overload
def agent(name: F, /) -> F: ...
@overload
def agent(
    name: str | None = None, *, model: str | None = None, description: str | None = None,
    task_type: str | None = None, attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork: ...
def agent(
    name: str | F | None = None, *, model: str | None = None, description: str | None = None,
    task_type: str | None = None, attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork | F:
    """An in-process `invoke_agent {name}` span (INTERNAL), with `gen_ai.agent.name`."""
    if callable(name):
        return UnitOfWork("agent", None)(name)
    return UnitOfWork(
        "agent", name, model=model, description=description, task_type=task_type, attributes=attributes
    )


@overload
def tool(name: F, /) -> F: ...
@overload
def tool(
    name: str | None = None, *, type: str | None = None, description: str | None = None,
    agent_name: str | None = None, task_type: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork: ...
def tool(
    name: str | F | None = None, *, type: str | None = None, description: str | None = None,
    agent_name: str | None = None, task_type: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork | F:
    """An `execute_tool {name}` span; `gen_ai.agent.name` is the enclosing agent's unless given."""
    if callable(name):
        return UnitOfWork("tool", None)(name)
    return UnitOfWork(
        "tool", name, tool_type=type, description=description, agent_name=agent_name, task_type=task_type,
        attributes=attributes,
    )


@overload
def task(type: F, /) -> F: ...
@overload
def task(
    type: str | None = None, *, name: str | None = None, id: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork: ...
def task(
    type: str | F | None = None, *, name: str | None = None, id: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> UnitOfWork | F:
    """A `task {name}` span with `otel_ai.task.type` (the cost-by-task label; low-cardinality)."""
    if callable(type):
        return UnitOfWork("task", None)(type)
    if type is None and name is None:
        return UnitOfWork("task", None, attributes=attributes, task_id=id)
    return UnitOfWork("task", name or type, task_type=type, task_id=id, attributes=attributes)


def _describe(obj: object) -> str:
    """A name for the warning line: the module's or class's name, or the instance's class (no address)."""
    if inspect.ismodule(obj):
        return f"module {obj.__name__}"
    if inspect.isclass(obj):
        return f"class {obj.__qualname__}"
    return f"{type(obj).__qualname__} object"


def instrument_methods(
    obj: T, prefix: str, *, methods: Iterable[str], kind: Kind = "task", task_type: str | None = None
) -> T:
    """Wrap the named methods of an existing object (instance, class or module) in units of work.

    Each becomes a unit named `{prefix}.{method}`; for tasks the type is `task_type` or `prefix`.
    A name the object lacks is skipped with a warning; a method already wrapped is left alone.
    """
    for method in methods:
        try:
            static = inspect.getattr_static(obj, method, None)
            original = getattr(obj, method, None)
            if original is None or not callable(original):
                where = _describe(obj)
                agent_warnings.warn(
                    "work.missing_method", f"{where}.{method}",
                    f"{where} has no method {method!r} to instrument; skipped",
                )
                continue
            if getattr(original, "__otel_ai_unit__", None) is not None:
                continue
            name = f"{prefix}.{method}"
            if kind == "task":
                spec = UnitOfWork("task", name, task_type=task_type or prefix)
            else:
                spec = UnitOfWork(kind, name, task_type=task_type)
            if isinstance(static, staticmethod):
                setattr(obj, method, staticmethod(spec(static.__func__)))
            elif isinstance(static, classmethod):
                setattr(obj, method, classmethod(spec(static.__func__)))
            else:
                setattr(obj, method, spec(original))
        except Exception as exc:
            report("work.instrument_methods", exc)
    return obj


_ensure_registered()
