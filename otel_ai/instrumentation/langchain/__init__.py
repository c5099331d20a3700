"""LangChain and LangGraph: their runs become otel_ai's units of work (docs/langchain.md).

`LangChainInstrumentor` (entry point `otel_ai_langchain`) registers one callback handler with
LangChain's public configure hook (`langchain_core.tracers.context.register_configure_hook`): a
context variable whose default is our handler, so every callback manager LangChain configures, in
any thread or asyncio task, gets it once. It also marks langgraph's prebuilt ReAct agent as an
agent (LangChain's `create_agent` marks itself). Nothing of LangChain is imported before the app does.
"""

from __future__ import annotations

from collections.abc import Collection
from contextvars import ContextVar
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_ai.guard import report

__all__ = ["LangChainInstrumentor"]

_INSTRUMENTS = ("langchain-core >= 1.0, < 2",)
_state: dict[str, Any] = {"handler": None, "hooked": False, "generation": 0}


class LangChainInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Maps LangChain runs onto workflow, agent, tool and task units (entry point `otel_ai_langchain`)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

        if get_dependency_conflicts(_INSTRUMENTS) is not None:
            return
        from otel_ai.runtime import state

        try:
            recorder = state.recorder(
                tracer_provider=kwargs.get("tracer_provider"), meter_provider=kwargs.get("meter_provider"),
                logger_provider=kwargs.get("logger_provider"),
            )
        except Exception as exc:
            report("langchain.recorder", exc)
            return
        _state["generation"] += 1
        _state["recorder"] = recorder
        wrapt.register_post_import_hook(_hook(_state["generation"]), "langchain_core.tracers.context")
        wrapt.register_post_import_hook(_mark_agents(_state["generation"]), "langgraph.prebuilt.chat_agent_executor")

    def _uninstrument(self, **kwargs: Any) -> None:
        _state["generation"] += 1
        handler = _state.get("handler")
        if handler is not None:
            handler.enabled = False


def _hook(generation: int) -> Any:
    def install(module: Any) -> None:
        if _state["generation"] != generation:
            return
        try:
            from otel_ai.instrumentation.langchain.handler import OtelAIHandler

            handler = _state.get("handler")
            if handler is None:
                handler = _state["handler"] = OtelAIHandler(_state["recorder"])
                variable: ContextVar[Any] = ContextVar("otel_ai_langchain", default=handler)
                module.register_configure_hook(variable, True)
            handler.recorder = _state["recorder"]
            handler.providers = None
            handler.enabled = True
        except Exception as exc:
            report("langchain.hook", exc)

    return install


def _mark_agents(generation: int) -> Any:
    """Wrap `create_react_agent` so its graph's runs carry `otel_ai_agent` = its name in their metadata."""

    def mark(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        graph = wrapped(*args, **kwargs)
        try:
            if _state["generation"] == generation:
                config = dict(getattr(graph, "config", None) or {})
                metadata = dict(config.get("metadata") or {})
                metadata.setdefault("otel_ai_agent", str(kwargs.get("name") or getattr(graph, "name", None) or "agent"))
                config["metadata"] = metadata
                graph.config = config
        except Exception as exc:
            report("langchain.agent", exc)
        return graph

    def install(module: Any) -> None:
        if _state["generation"] != generation:
            return
        try:
            if not isinstance(getattr(module, "create_react_agent", None), wrapt.FunctionWrapper):
                wrapt.wrap_function_wrapper(module, "create_react_agent", mark)
            prebuilt = __import__("langgraph.prebuilt", fromlist=["create_react_agent"])
            if not isinstance(getattr(prebuilt, "create_react_agent", None), wrapt.FunctionWrapper):
                setattr(prebuilt, "create_react_agent", module.create_react_agent)  # noqa: B010
        except Exception as exc:
            report("langchain.agent", exc)

    return install
