"""LangChain's runs as otel_ai's units of work: one callback handler in every run's callback manager.

Each run LangChain reports (`on_chain_start`, `on_tool_start`, ...) opens a unit under its parent
run's unit, found by `parent_run_id`, not by whatever context the callback happens to run in: every
LangGraph step, thread and asyncio task lands in the run's one trace. The unit's context is also
made current where the callback runs (LangChain calls inline handlers where the run runs), so a
provider call otel_ai instruments (langchain-openai driving `openai`) nests under it and rolls up
through the usual listener; no second chat span, no second cost. Only a chat model whose provider
otel_ai does not instrument gets a chat span here, from the usage LangChain reports.

Never raises: every callback is guarded (LangChain would log our error; we report it once instead).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry.context import Context, attach, detach, get_current, get_value

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse, Usage
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.guard import report
from otel_ai.work.context import UNIT_KEY, current
from otel_ai.work.handle import Unit
from otel_ai.work.units import UnitOfWork

__all__ = ["OtelAIHandler", "instrumented_providers"]

TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
OP_RETRIEVAL = "retrieval"
# LangChain's `ls_provider` of the chat models whose client otel_ai instruments itself (their call span is ours).
_PROVIDERS = {"openai": "openai", "azure": "openai", "anthropic": "anthropic", "mistral": "mistral",
              "mistralai": "mistral", "ollama": "ollama"}
# What names a run as an agent: create_agent's and ours (set on langgraph's prebuilt ReAct agent).
_AGENT_KEYS = ("lc_agent_name", "otel_ai_agent")
_HIDDEN_TAG = "langsmith:hidden"
_MAX_RUNS = 10_000
_MAX_REMEMBERED = 1024  # units whose context we made current: what was current before each


def instrumented_providers() -> set[str]:
    """The providers whose call spans otel_ai makes (their instrumentor is on); one failing import skips one."""
    import importlib

    found: set[str] = set()
    for name, module, attr in (
        ("openai", "otel_ai.instrumentation.openai", "OpenAIInstrumentor"),
        ("anthropic", "otel_ai.instrumentation.anthropic", "AnthropicInstrumentor"),
        ("mistral", "otel_ai.instrumentation.mistral", "MistralInstrumentor"),
        ("ollama", "otel_ai.instrumentation.ollama", "OllamaInstrumentor"),
    ):
        try:
            if getattr(importlib.import_module(module), attr)().is_instrumented_by_opentelemetry:
                found.add(name)
        except Exception as exc:
            report("langchain.providers", exc)
    return found


class _Run:
    """One LangChain run we track: its unit (None: transparent, its children go to its parent's)."""

    __slots__ = ("agent", "context", "invocation", "parent", "restore", "thread", "unit")

    def __init__(self, context: Context, agent: str | None, unit: Unit | None = None,
                 parent: _Run | None = None) -> None:
        self.context = context  # what its children start under
        self.agent = agent  # the agent marker it carries (create_agent's name, ...)
        self.unit = unit
        self.parent = parent
        self.thread: str | None = None  # the LangGraph thread id its span carries
        self.invocation: Invocation | None = None
        self.restore: Context | None = None  # a model run of an instrumented provider: what was current before


def _name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if serialized:
        if isinstance(serialized.get("name"), str):
            return str(serialized["name"])
        ident = serialized.get("id")
        if isinstance(ident, list) and ident:
            return str(ident[-1])
    return default


def _agent_marker(metadata: Mapping[str, Any] | None) -> str | None:
    if not metadata:
        return None
    for key in _AGENT_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    if metadata.get("ls_integration") == "langchain_create_agent":
        return "agent"
    return None


def _thread_id(metadata: Mapping[str, Any] | None) -> str | None:
    value = metadata.get("thread_id") if metadata else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


class OtelAIHandler(BaseCallbackHandler):
    """The one handler LangChain's `configure` adds to every callback manager (see `__init__`)."""

    run_inline = True  # called where the run runs: its context is the one we make current
    raise_error = False

    def __init__(self, recorder: GenAIRecorder) -> None:
        self.recorder = recorder
        self.enabled = True
        self.providers: set[str] | None = None
        self._runs: dict[UUID, _Run] = {}
        # id(unit) -> (unit, the context current before we made its context current); bounded, oldest out
        self._before: dict[int, tuple[Unit, Context]] = {}
        self._lock = threading.Lock()

    # -- bookkeeping ----------------------------------------------------------------------------

    def _keep(self, run_id: UUID, run: _Run) -> None:
        """Track a run until it ends; past `_MAX_RUNS` (runs that never ended: abandoned streams) the oldest go."""
        with self._lock:
            self._runs[run_id] = run
            while len(self._runs) > _MAX_RUNS:
                del self._runs[next(iter(self._runs))]

    def _parent(self, parent_run_id: UUID | None) -> _Run | None:
        return self._runs.get(parent_run_id) if parent_run_id is not None else None

    def _open(
        self, run_id: UUID, parent_run_id: UUID | None, spec: UnitOfWork | None, agent: str | None,
        thread: str | None = None,
    ) -> None:
        """Open `spec` under the parent run's unit (or transparently, for None) and make it current here."""
        parent = self._parent(parent_run_id)
        base = parent.context if parent is not None else self._outside(get_current(), ended_only=False)
        if thread is not None:
            _thread_up(parent, thread)
        if spec is None:
            run = _Run(base, agent if agent is not None else (parent.agent if parent else None), parent=parent)
        else:
            token = attach(base)
            try:
                unit = spec._begin()
            finally:
                detach(token)
            run = _Run(unit._context or base, agent, unit, parent)
            run.thread = thread
            if unit._context is not None:
                with self._lock:
                    self._before[id(unit)] = (unit, get_current())
                    while len(self._before) > _MAX_REMEMBERED:
                        del self._before[next(iter(self._before))]
                attach(unit._context)  # not detached: restored by value at the end, in whichever context
        self._keep(run_id, run)

    def _close(self, run_id: UUID, error: BaseException | None, attributes: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is None or run.unit is None:
            return
        unit = run.unit
        if attributes:
            unit.set_attributes(attributes)
        unit._end(error)
        if current() is unit:
            attach(self._outside(get_current(), ended_only=True))

    def _outside(self, context: Context, *, ended_only: bool) -> Context:
        """`context` without our units on top: all of them (a top-level run), or the ended ones (a run's end).

        A top-level run starts where a sibling's context may still be current (`batch` starts every input's
        run in one thread before running any): it must not nest under that sibling.
        """
        for _ in range(_MAX_REMEMBERED):
            unit = get_value(UNIT_KEY, context)
            found = self._before.get(id(unit)) if unit is not None else None
            if found is None or found[0] is not unit or (ended_only and not found[0].ended):
                return context
            context = found[1]
        return context

    def _guard(self, where: str, fn: Any, *args: Any) -> None:
        if not self.enabled:
            return
        try:
            fn(*args)
        except Exception as exc:
            report(f"langchain.{where}", exc)

    # -- chains, graphs, agents, nodes ----------------------------------------------------------

    def on_chain_start(
        self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
        tags: list[str] | None = None, metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:
        self._guard("chain_start", self._chain_start, serialized, run_id, parent_run_id, tags, metadata, kwargs)

    def _chain_start(
        self, serialized: dict[str, Any] | None, run_id: UUID, parent_run_id: UUID | None, tags: list[str] | None,
        metadata: dict[str, Any] | None, kwargs: dict[str, Any],
    ) -> None:
        name = _name(serialized, kwargs, "chain")
        parent = self._parent(parent_run_id)
        marker = _agent_marker(metadata)
        attributes: dict[str, Any] = {}
        thread = _thread_id(metadata)
        if thread is not None:
            attributes[sc.CONVERSATION_ID] = thread
        spec: UnitOfWork | None = None
        if marker is not None and (parent is None or parent.agent != marker):
            agent_name = marker if marker != "agent" else name
            spec = UnitOfWork("agent", agent_name, attributes=attributes)
        elif parent_run_id is None:
            spec = UnitOfWork("workflow", name, attributes=attributes)
        elif metadata and metadata.get("langgraph_node") == name and not (tags and _HIDDEN_TAG in tags):
            spec = UnitOfWork("task", name, attributes=attributes)
        self._open(run_id, parent_run_id, spec, marker, thread)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("chain_end", self._close, run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("chain_error", self._close, run_id, _failure(error))

    # -- tools ----------------------------------------------------------------------------------

    def on_tool_start(
        self, serialized: dict[str, Any] | None, input_str: str, *, run_id: UUID, parent_run_id: UUID | None = None,
        tags: list[str] | None = None, metadata: dict[str, Any] | None = None, inputs: Any = None, **kwargs: Any,
    ) -> None:
        self._guard("tool_start", self._tool_start, serialized, input_str, run_id, parent_run_id, metadata, kwargs)

    def _tool_start(
        self, serialized: dict[str, Any] | None, input_str: str, run_id: UUID, parent_run_id: UUID | None,
        metadata: dict[str, Any] | None, kwargs: dict[str, Any],
    ) -> None:
        """An `execute_tool` unit, attribute for attribute as util-genai's (no conversation id: it sets none)."""
        name = _name(serialized, kwargs, "tool")
        attributes: dict[str, Any] = {}
        call_id = kwargs.get("tool_call_id")
        if isinstance(call_id, str) and call_id:
            attributes[TOOL_CALL_ID] = call_id
        if self.recorder.capture_content and isinstance(input_str, str):
            attributes[TOOL_CALL_ARGUMENTS] = input_str[: self.recorder.content_limit]
        description = serialized.get("description") if serialized else None
        parent = self._parent(parent_run_id)
        spec = UnitOfWork("tool", name, tool_type="function",
                          description=description if isinstance(description, str) and description else None,
                          attributes=attributes)
        self._open(run_id, parent_run_id, spec, parent.agent if parent else None)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("tool_end", self._tool_end, output, run_id)

    def _tool_end(self, output: Any, run_id: UUID) -> None:
        attributes = None
        if self.recorder.capture_content and output is not None:
            text = getattr(output, "content", output)
            attributes = {TOOL_CALL_RESULT: str(text)[: self.recorder.content_limit]}
        self._close(run_id, None, attributes)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("tool_error", self._close, run_id, error)

    # -- retrievers -----------------------------------------------------------------------------

    def on_retriever_start(
        self, serialized: dict[str, Any] | None, query: str, *, run_id: UUID, parent_run_id: UUID | None = None,
        tags: list[str] | None = None, metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:
        self._guard("retriever_start", self._retriever_start, serialized, run_id, parent_run_id, metadata, kwargs)

    def _retriever_start(
        self, serialized: dict[str, Any] | None, run_id: UUID, parent_run_id: UUID | None,
        metadata: dict[str, Any] | None, kwargs: dict[str, Any],
    ) -> None:
        name = _name(serialized, kwargs, "retriever")
        attributes: dict[str, Any] = {sc.OPERATION: OP_RETRIEVAL, "gen_ai.data_source.id": name}
        thread = _thread_id(metadata)
        if thread is not None:
            attributes[sc.CONVERSATION_ID] = thread
        spec = UnitOfWork("task", name, attributes=attributes)
        spec.span_name = f"{OP_RETRIEVAL} {name}"
        parent = self._parent(parent_run_id)
        self._open(run_id, parent_run_id, spec, parent.agent if parent else None)

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("retriever_end", self._close, run_id, None, {"otel_ai.retrieval.documents": len(documents)})

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("retriever_error", self._close, run_id, error)

    # -- models: a span only where otel_ai does not instrument the provider ----------------------

    def on_chat_model_start(
        self, serialized: dict[str, Any] | None, messages: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
        tags: list[str] | None = None, metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:
        self._guard("model_start", self._model_start, serialized, run_id, parent_run_id, metadata, kwargs)

    def on_llm_start(
        self, serialized: dict[str, Any] | None, prompts: list[str], *, run_id: UUID,
        parent_run_id: UUID | None = None, tags: list[str] | None = None, metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._guard("model_start", self._model_start, serialized, run_id, parent_run_id, metadata, kwargs)

    def _model_start(
        self, serialized: dict[str, Any] | None, run_id: UUID, parent_run_id: UUID | None,
        metadata: dict[str, Any] | None, kwargs: dict[str, Any],
    ) -> None:
        metadata = metadata or {}
        provider = str(metadata.get("ls_provider") or "langchain")
        if self.providers is None:
            self.providers = instrumented_providers()
        parent = self._parent(parent_run_id)
        if _PROVIDERS.get(provider) in self.providers:
            # The provider's own span is the call's one span: it starts under the parent run's unit, even
            # where LangChain runs the model in a thread that copied a sibling's context (`batch`).
            if parent is not None and get_current() is not parent.context:
                run = _Run(parent.context, parent.agent, parent=parent)
                run.restore = get_current()
                attach(parent.context)
                self._keep(run_id, run)
            return
        params = kwargs.get("invocation_params") or {}
        model = metadata.get("ls_model_name") or params.get("model") or params.get("model_name") or params.get("_type")
        attributes: dict[str, Any] = {}
        thread = _thread_id(metadata)
        if thread is not None:
            attributes[sc.CONVERSATION_ID] = thread
        request = GenAIRequest("chat", provider, str(model) if model else None, attributes=attributes)
        base = parent.context if parent is not None else get_current()
        token = attach(base)
        try:
            invocation = self.recorder.start(request)
        finally:
            detach(token)
        if invocation is None:
            return
        run = _Run(base, parent.agent if parent else None)
        run.invocation = invocation
        self._keep(run_id, run)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("model_end", self._model_end, response, run_id, None)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._guard("model_end", self._model_end, None, run_id, error)

    def _model_end(self, response: Any, run_id: UUID, error: BaseException | None) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None)
        if run is not None and run.restore is not None:
            if get_current() is run.context:
                attach(run.restore)
            return
        if run is None or run.invocation is None:
            return
        read = _response(response) if response is not None else None
        token = attach(run.context)  # published in the parent's context: the roll-up adds it there
        try:
            if error is not None:
                self.recorder.fail(run.invocation, error, read)
            else:
                self.recorder.end(run.invocation, read)
        finally:
            detach(token)


def _thread_up(run: _Run | None, thread: str) -> None:
    """LangGraph learns the thread id below a plain runnable's run: give it to the units above that lack one."""
    while run is not None:
        if run.unit is not None and run.thread is None:
            run.thread = thread
            run.unit.set_attribute(sc.CONVERSATION_ID, thread)
        run = run.parent


def _failure(error: BaseException) -> BaseException | None:
    """LangGraph's control flow (an interrupt, a `Command` to the parent graph) is not a failure."""
    return None if type(error).__name__ in ("GraphInterrupt", "NodeInterrupt", "ParentCommand") else error


def _response(result: Any) -> GenAIResponse:
    """The usage and model LangChain reports for a model run (`llm_output` or the message's `usage_metadata`)."""
    usage = Usage()
    model = None
    finish: list[str] = []
    output = getattr(result, "llm_output", None) or {}
    token_usage = output.get("token_usage") or output.get("usage") or {}
    if isinstance(token_usage, Mapping):
        usage.input_tokens = _int(token_usage.get("prompt_tokens", token_usage.get("input_tokens")))
        usage.output_tokens = _int(token_usage.get("completion_tokens", token_usage.get("output_tokens")))
    if isinstance(output.get("model_name"), str):
        model = output["model_name"]
    for generations in getattr(result, "generations", None) or ():
        for generation in generations:
            info = getattr(generation, "generation_info", None) or {}
            if isinstance(info.get("finish_reason"), str):
                finish.append(info["finish_reason"])
            meta = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if isinstance(meta, Mapping) and not usage.has_tokens:
                usage.input_tokens = _int(meta.get("input_tokens"))
                usage.output_tokens = _int(meta.get("output_tokens"))
    return GenAIResponse(model=model, finish_reasons=finish or None, usage=usage)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
