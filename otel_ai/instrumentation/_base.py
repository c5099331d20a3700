"""What every provider instrumentation shares: targets, wrap/unwrap, the sync and async call wrappers.

A provider is one module: an `Endpoint` per API it reads (request attributes, response, stream
accumulator) and a `ProviderInstrumentor` subclass that lists its `Target`s and says who the
client talks to (`describe`). Everything else (dependency checks, the recorder, patching and
unpatching, the span's context, never raising into the app) lives here, written once.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, ClassVar

import wrapt
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap

from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import StreamAccumulator
from otel_ai.sdk.guard import report

__all__ = ["Endpoint", "ProviderInstrumentor", "Target"]

_logger = logging.getLogger("otel_ai")
# Bumped by every instrument()/uninstrument() of a provider class; a post-import hook registered
# under an older generation does nothing (wrapt cannot unregister hooks).
_generations: dict[type, int] = {}


class Endpoint:
    """Reads one API of a provider's client: its request, its response, and (if it streams) chunks."""

    operation: ClassVar[str] = ""

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        """Add request attributes (and, when `capture`, content) to `req`; `kwargs` must not change."""

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        """Read a whole response."""
        raise NotImplementedError

    def accumulator(self, capture: bool, limit: int) -> StreamAccumulator:
        """A fresh accumulator for one stream of this API."""
        raise TypeError(f"{type(self).__name__} does not stream")


@dataclass(frozen=True, slots=True)
class Target:
    """One client method to wrap: `module.owner.method`, read by `endpoint`.

    Every target is optional: a library version without it is skipped quietly.
    """

    module: str
    owner: str
    method: str
    endpoint: Endpoint

    @property
    def is_async(self) -> bool:
        return self.owner.startswith("Async")

    def resolve(self) -> Any | None:
        """The class that owns the method, or None where this library version lacks it."""
        try:
            module = importlib.import_module(self.module)
        except ImportError:
            return None
        owner = getattr(module, self.owner, None)
        if owner is None or self.method not in vars(owner):
            return None
        return owner


class ProviderInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """The base of every provider instrumentor; subclasses declare, this class does.

    Subclasses set `provider_library`, `instruments` and `targets`, and implement `describe`;
    they may override `prepare` (resolve library types once), `result` (streams, raw responses)
    and `sent` (what the client resolves only while sending, such as a per-request API key).
    `BaseInstrumentor` is a per-class singleton whose `__init__` runs on every call: state set
    here lives on the class's one instance, and `_uninstrument` needs none of it.
    """

    provider_library: ClassVar[str] = ""
    instruments: ClassVar[tuple[str, ...]] = ()
    targets: ClassVar[tuple[Target, ...]] = ()

    # -- what a provider implements ------------------------------------------------------------

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest:
        """The request as the recorder needs it: operation, provider, model, server, stream flag."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Resolve what `result` needs from the library, once per `instrument()`."""

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        """Record a returned value; returns what the caller gets (a proxy for streams)."""
        recorder.end(inv, endpoint.response(result, recorder.capture_content, recorder.content_limit))
        return result

    def sent(self, instance: Any) -> None:
        """The request went out (or failed) and the span has not ended yet; runs on every call, keep it cheap.

        For what the client resolves only while sending, such as an API key from a callable: registered
        here, it is redacted from the span's status and exception event, which export when the span ends.
        """

    # -- the shared machinery ------------------------------------------------------------------

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.instruments

    def _instrument(self, **kwargs: Any) -> None:
        # opentelemetry-instrument skips per-instrumentor checks; check our own range here.
        conflict = get_dependency_conflicts(self.instruments)
        if conflict is not None:
            _logger.warning("otel-ai: %s instrumentation skipped: %s", self.provider_library, conflict)
            return
        from otel_ai.errors import ConfigError
        from otel_ai.sdk import state

        try:
            recorder = state.recorder(
                tracer_provider=kwargs.get("tracer_provider"),
                meter_provider=kwargs.get("meter_provider"),
                logger_provider=kwargs.get("logger_provider"),
            )
        except ConfigError as exc:
            _logger.error("otel-ai: configuration error, %s instrumentation disabled: %s", self.provider_library, exc)
            return
        if kwargs.get("tracer_provider") is None:
            from otel_ai.sdk import setup

            setup.protect_foreign_providers()  # another configurator may have built the SDK
        self.prepare()
        # Wrap each target when its module is imported, not before: the client loads its API modules
        # lazily, and importing them all here would only grow the heap every full collection walks.
        generation = _generations[type(self)] = _generations.get(type(self), 0) + 1
        for target in self.targets:
            wrapt.register_post_import_hook(self._wrap_on_import(recorder, target, generation), target.module)

    def _wrap_on_import(self, recorder: GenAIRecorder, target: Target, generation: int) -> Callable[[Any], None]:
        def wrap(module: Any) -> None:
            if _generations.get(type(self)) != generation:
                return  # uninstrumented (or instrumented again) since this hook was registered
            try:
                owner = target.resolve()
                if owner is not None and not isinstance(vars(owner).get(target.method), wrapt.FunctionWrapper):
                    wrapt.wrap_function_wrapper(owner, target.method, self._wrapper(recorder, target))
            except Exception as exc:
                report(f"{self.provider_library}.wrap", exc)

        return wrap

    def _uninstrument(self, **kwargs: Any) -> None:
        _generations[type(self)] = _generations.get(type(self), 0) + 1
        for target in self.targets:
            if target.module not in sys.modules:
                continue
            owner = target.resolve()
            if owner is not None and isinstance(vars(owner).get(target.method), wrapt.FunctionWrapper):
                unwrap(owner, target.method)

    def _begin(self, recorder: GenAIRecorder, endpoint: Endpoint, instance: Any, kwargs: Any) -> Invocation | None:
        """Start the call's span; None (the call goes on uninstrumented) only if `describe` fails.

        A request the endpoint cannot fully read (an odd shape in the messages, say) still gets its
        span with what was read before the failure: endpoints read attributes first, content last.
        """
        try:
            request = self.describe(instance, kwargs, endpoint)
        except Exception as exc:
            report(f"{self.provider_library}.request", exc)
            return None
        try:
            endpoint.request(kwargs, request, recorder.capture_content, recorder.content_limit)
        except Exception as exc:
            report(f"{self.provider_library}.request", exc)
        return recorder.start(request)

    def _finish(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        try:
            return self.result(recorder, endpoint, inv, result)
        except Exception as exc:
            report(f"{self.provider_library}.response", exc)
            recorder.end(inv, None)
            return result

    def _wrapper(self, recorder: GenAIRecorder, target: Target) -> Callable[..., Any]:
        endpoint, begin, finish = target.endpoint, self._begin, self._finish
        # Providers that do nothing once the request is sent pay nothing for the hook.
        sent = self._sent if type(self).sent is not ProviderInstrumentor.sent else None
        if target.is_async:

            async def async_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
                inv = begin(recorder, endpoint, instance, kwargs)
                if inv is None:
                    return await wrapped(*args, **kwargs)
                token = recorder.activate(inv)
                try:
                    result = await wrapped(*args, **kwargs)
                except BaseException as exc:
                    if sent is not None:
                        sent(instance)
                    recorder.fail(inv, exc)
                    raise
                finally:
                    recorder.deactivate(token)
                if sent is not None:
                    sent(instance)
                return finish(recorder, endpoint, inv, result)

            return async_wrapper

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            inv = begin(recorder, endpoint, instance, kwargs)
            if inv is None:
                return wrapped(*args, **kwargs)
            token = recorder.activate(inv)
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                if sent is not None:
                    sent(instance)
                recorder.fail(inv, exc)
                raise
            finally:
                recorder.deactivate(token)
            if sent is not None:
                sent(instance)
            return finish(recorder, endpoint, inv, result)

        return wrapper

    def _sent(self, instance: Any) -> None:
        try:
            self.sent(instance)
        except Exception as exc:
            report(f"{self.provider_library}.sent", exc)
