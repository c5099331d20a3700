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
every finished call on the caller's context (`otel_ai.genai.hooks`) and `rollup.on_call` adds it to
the innermost unit and to every unit above it. Each unit's totals go on its span when it ends.
Importing this module registers the listener, the task-type source and the thread propagation, so
an app that never uses a unit pays nothing.

Modules: this one (`UnitOfWork`, the four constructors, `instrument_methods`), `handle` (the running
`Unit`), `wrappers` (what a decorated function becomes), `rollup` (`Totals`, the listener),
`telemetry` (tracer and histograms), `context` (where the current unit lives), `threads`.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from opentelemetry import trace
from opentelemetry.context import set_value
from opentelemetry.trace import INVALID_SPAN, SpanKind
from opentelemetry.util.types import AttributeValue

from otel_ai import agent_warnings
from otel_ai.genai import semconv as sc
from otel_ai.genai.conversation import current as _current_conversation
from otel_ai.guard import report
from otel_ai.work.context import UNIT_KEY, current
from otel_ai.work.handle import EXTERNAL_OPERATION, Kind, Unit
from otel_ai.work.rollup import Attributes, Totals
from otel_ai.work.rollup import ensure_registered as _ensure_registered
from otel_ai.work.rollup import on_call as _on_call  # noqa: F401 - tests and callers read it here
from otel_ai.work.rollup import task_type as _task_type  # noqa: F401 - tests and callers read it here
from otel_ai.work.telemetry import telemetry as _telemetry
from otel_ai.work.wrappers import wrap_async_generator, wrap_coroutine, wrap_function, wrap_generator

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

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


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
    # INTERNAL (in-process work); a subclass whose unit is also a protocol's span (an MCP tool call's
    # CLIENT or SERVER span) says so here.
    span_kind: SpanKind = SpanKind.INTERNAL

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
        provider: str | None = None,
    ) -> None:
        self.kind: Kind = kind
        self.name = name
        self._options: dict[str, Any] = {
            "task_type": task_type, "task_id": task_id, "attributes": attributes, "model": model,
            "description": description, "tool_type": tool_type, "agent_name": agent_name, "provider": provider,
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
            if provider is not None:  # else the provider of the first call under the agent (handle.py)
                start[sc.PROVIDER] = provider
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
            attributes = self.start_attributes
            conversation = _current_conversation()
            if conversation is not None and conversation.attributes:
                attributes = {**attributes, **conversation.attributes}
            span = tracer.start_span(self.span_name, kind=self.span_kind, attributes=attributes)
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
            wrapper: Callable[..., Any] = wrap_async_generator(spec, fn)
        elif inspect.isgeneratorfunction(fn):
            wrapper = wrap_generator(spec, fn)
        elif inspect.iscoroutinefunction(fn):
            wrapper = wrap_coroutine(spec, fn)
        else:
            wrapper = wrap_function(spec, fn)
        wrapper.__otel_ai_unit__ = spec  # type: ignore[attr-defined]
        return cast(F, wrapper)

    def _renamed(self, name: str) -> UnitOfWork:
        """A copy named after the decorated function (when no name was given)."""
        return UnitOfWork(self.kind, name, **self._options)



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
    provider: str | None = None,
) -> UnitOfWork: ...
def agent(
    name: str | F | None = None, *, model: str | None = None, description: str | None = None,
    task_type: str | None = None, attributes: Mapping[str, AttributeValue] | None = None,
    provider: str | None = None,
) -> UnitOfWork | F:
    """An in-process `invoke_agent {name}` span (INTERNAL), with `gen_ai.agent.name`.

    `gen_ai.provider.name` is `provider` if given (`"openai"`, `"anthropic"`, ...), else the provider of the
    first GenAI call made under the agent, set on the span when that call ends."""
    if callable(name):
        return UnitOfWork("agent", None)(name)
    return UnitOfWork(
        "agent", name, model=model, description=description, task_type=task_type, attributes=attributes,
        provider=provider,
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
