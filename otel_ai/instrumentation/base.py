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
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

import wrapt
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap

from otel_ai.errors import BudgetExceeded
from otel_ai.genai.hooks import SEAM, gate
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.genai.recorder import GenAIRecorder, Invocation, call_scope
from otel_ai.genai.streams import StreamAccumulator, StreamFinisher
from otel_ai.guard import report

__all__ = ["Endpoint", "ProviderInstrumentor", "Target", "sending"]

_logger = logging.getLogger("otel_ai")
# Bumped by every instrument()/uninstrument() of a provider class; a post-import hook registered
# under an older generation does nothing (wrapt cannot unregister hooks).
_generations: dict[type, int] = {}
# True while a call of ours is being sent, for providers whose client library makes call spans of its own
# (`ProviderInstrumentor.native_scope`): the library's patched hook asks `sending()` and leaves its span out.
_sending: ContextVar[bool] = ContextVar("otel_ai_sending", default=False)


def sending() -> bool:
    """Whether a call of ours is being sent here: a span the client library made for it would be a second one."""
    return _sending.get()


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
    # The method returns a context manager that sends the request when entered (an HTTP stream):
    # the call, and its span, start at `with` and end when what it gave is consumed or left.
    context: bool = False
    # The method is a generator function (sends nothing until iterated): the call, and its span,
    # start at the first `next` and end when the generator is exhausted, fails, is closed or collected.
    generator: bool = False
    # The method is a coroutine function on a class whose name does not say so (Mistral keeps
    # `complete` and `complete_async` on one `Chat` class): it gets the async wrapper.
    coroutine: bool = False

    @property
    def is_async(self) -> bool:
        return self.coroutine or self.owner.startswith("Async")

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
    they may override `prepare` (resolve library types once), `result` (streams, raw responses), `settle`
    (an async body to read first) and `sent` (what the client resolves only while sending, such as a key).
    `BaseInstrumentor` is a per-class singleton whose `__init__` runs on every call: state set
    here lives on the class's one instance, and `_uninstrument` needs none of it.
    """

    provider_library: ClassVar[str] = ""
    instruments: ClassVar[tuple[str, ...]] = ()
    targets: ClassVar[tuple[Target, ...]] = ()
    # The instrumentation scope of the call spans the client library makes itself ("": it makes none).
    # A provider that sets it implements `silence_native` / `unsilence_native`; the wrappers then mark
    # each call of ours as `sending()` while the library sends it, so the call has one GenAI span, ours.
    native_scope: ClassVar[str] = ""

    # -- what a provider implements ------------------------------------------------------------

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest | None:
        """The request as the recorder needs it (operation, provider, model, server, stream flag); None: not
        a GenAI call (a shared method such as botocore's, for another service), which goes on untouched."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Resolve what `result` needs from the library, once per `instrument()`."""

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        """Record a returned value; returns what the caller gets (a proxy for streams)."""
        recorder.end(inv, endpoint.response(result, recorder.capture_content, recorder.content_limit))
        return result

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, for `describe` and the endpoint (default: `kwargs` as given).

        Override when the library passes something positionally (a voice id, say); only then is it
        called, so providers that don't pay nothing.
        """
        return kwargs

    def generator_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """For a generator target: the keyword arguments to pass on (default: unchanged).

        A provider may hand the library a pass-through that yields the very same items (to count
        the text a session streams, say); what is sent never changes.
        """
        return kwargs

    def generator_accumulator(
        self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, kwargs: dict[str, Any]
    ) -> Any:
        """For a generator target: the accumulator of the items it yields (`kwargs` as passed on)."""
        return endpoint.accumulator(recorder.capture_content, recorder.content_limit)

    def entered(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, value: Any) -> Any:
        """A context target was entered and gave `value`; returns what the caller's `with` gets.

        The default records `value` as the whole response. A provider whose value carries a stream
        wraps it and sets `inv.closer`, so leaving the `with` ends the call with what was read.
        """
        recorder.end(inv, endpoint.response(value, recorder.capture_content, recorder.content_limit))
        return value

    async def settle(self, result: Any) -> Any:
        """Async targets only, for providers that override it: finish reading what the returned value still
        holds (a body to await) before `result` records it; returns what the caller gets (same API)."""
        return result

    def sent(self, instance: Any) -> None:
        """The request went out (or failed) and the span has not ended yet; runs on every call, keep it cheap.

        For what the client resolves only while sending, such as an API key from a callable: registered
        here, it is redacted from the span's status and exception event, which export when the span ends.
        """

    def silence_native(self) -> None:
        """Patch the library so that it makes no call span of its own while `sending()` (see `native_scope`).

        Runs at `instrument()`; must leave a span the user asked the library for by name (an explicit
        option or variable of the library's) alone, and must not import the library eagerly.
        """

    def unsilence_native(self) -> None:
        """Undo `silence_native` (at `uninstrument()`)."""

    # -- the shared machinery ------------------------------------------------------------------

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.instruments

    def _instrument(self, **kwargs: Any) -> None:
        # opentelemetry-instrument skips per-instrumentor checks; check our own range here.
        conflict = get_dependency_conflicts(self.instruments)
        if conflict is not None:
            # Not installed is the common case (an app without this library): say so quietly.
            if getattr(conflict, "found", None):
                from otel_ai import agent_warnings

                agent_warnings.warn(
                    "instrumentation.version_conflict", self.provider_library,
                    f"{self.provider_library} instrumentation skipped: {conflict}",
                )
            else:
                _logger.debug("otel-ai: %s instrumentation skipped: %s", self.provider_library, conflict)
            return
        from otel_ai.errors import ConfigError
        from otel_ai.runtime import state

        try:
            recorder = state.recorder(
                tracer_provider=kwargs.get("tracer_provider"),
                meter_provider=kwargs.get("meter_provider"),
                logger_provider=kwargs.get("logger_provider"),
            )
        except ConfigError as exc:
            from otel_ai import agent_warnings

            agent_warnings.warn(
                "instrumentation.config_error", self.provider_library,
                f"configuration error, {self.provider_library} instrumentation disabled: {exc}",
            )
            return
        if kwargs.get("tracer_provider") is None:
            from otel_ai.runtime import setup

            setup.protect_foreign_providers()  # another configurator may have built the SDK
        self.prepare()
        if self.native_scope:
            try:
                self.silence_native()
            except Exception as exc:
                report(f"{self.provider_library}.native", exc)
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
        if self.native_scope:
            try:
                self.unsilence_native()
            except Exception as exc:
                report(f"{self.provider_library}.native", exc)
        for target in self.targets:
            if target.module not in sys.modules:
                continue
            owner = target.resolve()
            if owner is not None and isinstance(vars(owner).get(target.method), wrapt.FunctionWrapper):
                unwrap(owner, target.method)

    def _begin(self, recorder: GenAIRecorder, endpoint: Endpoint, instance: Any, kwargs: Any) -> Invocation | None:
        """Start the call's span; None (the call goes on uninstrumented) only if `describe` fails.

        A blocking budget with no money left raises `BudgetExceeded` here, before the request is
        sent; the span records it as the call's error.

        A request the endpoint cannot fully read (an odd shape in the messages, say) still gets its
        span with what was read before the failure: endpoints read attributes first, content last.
        """
        try:
            request = self.describe(instance, kwargs, endpoint)
        except Exception as exc:
            report(f"{self.provider_library}.request", exc)
            return None
        if request is None:
            return None
        try:
            endpoint.request(kwargs, request, recorder.capture_content, recorder.content_limit)
        except Exception as exc:
            report(f"{self.provider_library}.request", exc)
        inv = recorder.start(request)
        if SEAM.gates:  # a blocking budget: asked before anything is sent
            try:
                gate(call_scope(request, inv))
            except BudgetExceeded as exc:
                if inv is not None:
                    recorder.fail(inv, exc)
                raise
        return inv

    def _finish(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        try:
            return self.result(recorder, endpoint, inv, result)
        except Exception as exc:
            report(f"{self.provider_library}.response", exc)
            recorder.end(inv, None)
            return result

    def _entered(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, value: Any) -> Any:
        try:
            return self.entered(recorder, endpoint, inv, value)
        except Exception as exc:
            report(f"{self.provider_library}.response", exc)
            recorder.end(inv, None)
            return value

    def _wrapper(self, recorder: GenAIRecorder, target: Target) -> Callable[..., Any]:
        if target.context:
            return self._context_wrapper(recorder, target)
        if target.generator:
            return self._generator_wrapper(recorder, target)
        endpoint, begin, finish = target.endpoint, self._begin, self._finish
        # Providers that do nothing once the request is sent pay nothing for the hook.
        sent = self._sent if type(self).sent is not ProviderInstrumentor.sent else None
        named = self._arguments if type(self).arguments is not ProviderInstrumentor.arguments else None
        settle = self._settle if type(self).settle is not ProviderInstrumentor.settle else None
        native = bool(self.native_scope)
        if target.is_async:

            async def async_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
                inv = begin(recorder, endpoint, instance, kwargs if named is None else named(args, kwargs))
                if inv is None:
                    return await wrapped(*args, **kwargs)
                token = recorder.activate(inv)
                mark = _sending.set(True) if native else None
                try:
                    result = await wrapped(*args, **kwargs)
                except BaseException as exc:
                    if sent is not None:
                        sent(instance)
                    recorder.fail(inv, exc)
                    raise
                finally:
                    if mark is not None:
                        _sending.reset(mark)
                    recorder.deactivate(token)
                if sent is not None:
                    sent(instance)
                if settle is not None:
                    result = await settle(recorder, inv, result)
                return finish(recorder, endpoint, inv, result)

            return async_wrapper

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            inv = begin(recorder, endpoint, instance, kwargs if named is None else named(args, kwargs))
            if inv is None:
                return wrapped(*args, **kwargs)
            token = recorder.activate(inv)
            mark = _sending.set(True) if native else None
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                if sent is not None:
                    sent(instance)
                recorder.fail(inv, exc)
                raise
            finally:
                if mark is not None:
                    _sending.reset(mark)
                recorder.deactivate(token)
            if sent is not None:
                sent(instance)
            return finish(recorder, endpoint, inv, result)

        return wrapper

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.arguments(args, kwargs)
        except Exception as exc:
            report(f"{self.provider_library}.arguments", exc)
            return kwargs

    def _generator_wrapper(self, recorder: GenAIRecorder, target: Target) -> Callable[..., Any]:
        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            passed = kwargs
            try:
                passed = self.generator_arguments(kwargs)
            except Exception as exc:
                report(f"{self.provider_library}.arguments", exc)
            generator = wrapped(*args, **passed)
            return _LazyGenerator(generator, self, recorder, target.endpoint, instance, self._arguments(args, passed))

        return wrapper

    def _context_wrapper(self, recorder: GenAIRecorder, target: Target) -> Callable[..., Any]:
        proxy = _AsyncCallContext if target.is_async else _CallContext

        def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            # Making the context manager sends nothing: the call starts when it is entered.
            cm = wrapped(*args, **kwargs)
            return proxy(cm, self, recorder, target.endpoint, instance, self._arguments(args, kwargs))

        return wrapper

    async def _settle(self, recorder: GenAIRecorder, inv: Invocation, result: Any) -> Any:
        try:
            return await self.settle(result)
        except Exception as exc:
            report(f"{self.provider_library}.response", exc)
            return result
        except BaseException as exc:  # cancelled while reading: the call ends with it
            recorder.fail(inv, exc)
            raise

    def _sent(self, instance: Any) -> None:
        try:
            self.sent(instance)
        except Exception as exc:
            report(f"{self.provider_library}.sent", exc)


def _close(recorder: GenAIRecorder, inv: Invocation, exc: BaseException | None) -> None:
    """End a call left by `with`: through its closer (what was read so far), or as it stands."""
    if inv.ended:
        return
    if isinstance(exc, GeneratorExit):  # the caller abandoned the generator it was reading: not an error
        exc = None
    try:
        if inv.closer is not None:
            inv.closer(exc)
            return
    except Exception as inner:
        report("context.close", inner)
    if exc is None:
        recorder.end(inv, None)
    else:
        recorder.fail(inv, exc)


class _DeferredCall:
    """What a call that starts later (entered, or first iterated) keeps until it is sent."""

    __slots__ = ("_endpoint", "_instance", "_kwargs", "_owner", "_recorder")

    def __init__(self, owner: ProviderInstrumentor, recorder: GenAIRecorder, endpoint: Endpoint, instance: Any,
                 kwargs: dict[str, Any]) -> None:
        self._owner = owner
        self._recorder = recorder
        self._endpoint = endpoint
        self._instance = instance
        self._kwargs = kwargs

    def _begin_call(self) -> Invocation | None:
        return self._owner._begin(self._recorder, self._endpoint, self._instance, self._kwargs)


class _CallContext(_DeferredCall):
    """Stands in for a context manager whose `__enter__` sends the request; the span starts there."""

    __slots__ = ("_cm", "_inv")

    def __init__(self, cm: Any, owner: ProviderInstrumentor, recorder: GenAIRecorder, endpoint: Endpoint,
                 instance: Any, kwargs: dict[str, Any]) -> None:
        super().__init__(owner, recorder, endpoint, instance, kwargs)
        self._cm = cm
        self._inv: Invocation | None = None

    def __enter__(self) -> Any:
        recorder, owner = self._recorder, self._owner
        inv = self._begin_call()
        if inv is None:
            return self._cm.__enter__()
        token = recorder.activate(inv)
        mark = _sending.set(True) if owner.native_scope else None
        try:
            value = self._cm.__enter__()
        except BaseException as exc:
            recorder.fail(inv, exc)
            raise
        finally:
            if mark is not None:
                _sending.reset(mark)
            recorder.deactivate(token)
        self._inv = inv
        return owner._entered(recorder, self._endpoint, inv, value)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self._cm.__exit__(*exc_info)
        finally:
            if self._inv is not None:
                _close(self._recorder, self._inv, exc_info[1])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cm, name)


class _AsyncCallContext(_CallContext):
    """The async form: `async with` sends the request."""

    __slots__ = ()

    async def __aenter__(self) -> Any:
        recorder, owner = self._recorder, self._owner
        inv = self._begin_call()
        if inv is None:
            return await self._cm.__aenter__()
        token = recorder.activate(inv)
        mark = _sending.set(True) if owner.native_scope else None
        try:
            value = await self._cm.__aenter__()
        except BaseException as exc:
            recorder.fail(inv, exc)
            raise
        finally:
            if mark is not None:
                _sending.reset(mark)
            recorder.deactivate(token)
        self._inv = inv
        return owner._entered(recorder, self._endpoint, inv, value)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self._cm.__aexit__(*exc_info)
        finally:
            if self._inv is not None:
                _close(self._recorder, self._inv, exc_info[1])


class _LazyGenerator(_DeferredCall):
    """Stands in for the generator of a generator function: the call starts at the first `next`."""

    __slots__ = ("__weakref__", "_finisher", "_generator", "_started")

    def __init__(self, generator: Any, owner: ProviderInstrumentor, recorder: GenAIRecorder, endpoint: Endpoint,
                 instance: Any, kwargs: dict[str, Any]) -> None:
        super().__init__(owner, recorder, endpoint, instance, kwargs)
        self._generator = generator
        self._started = False
        self._finisher: StreamFinisher | None = None

    def __iter__(self) -> _LazyGenerator:
        return self

    def _start(self) -> None:
        self._started = True
        owner, recorder = self._owner, self._recorder
        inv = self._begin_call()
        if inv is None:
            return
        try:
            acc = owner.generator_accumulator(recorder, self._endpoint, inv, self._kwargs)
        except Exception as exc:
            report(f"{owner.provider_library}.response", exc)
            recorder.end(inv, None)
            return
        self._finisher = StreamFinisher(recorder, inv, acc)

    def __next__(self) -> Any:
        if not self._started:
            self._start()
        finisher = self._finisher
        if finisher is None:
            return next(self._generator)
        recorder = self._recorder
        token = recorder.activate(finisher.inv)
        try:
            item = next(self._generator)
        except StopIteration:
            finisher.end()
            raise
        except BaseException as exc:
            finisher.fail(exc)
            raise
        finally:
            recorder.deactivate(token)
        finisher.chunk(item)
        return item

    def send(self, value: Any) -> Any:
        if value is None:
            return self.__next__()
        return self._generator.send(value)

    def throw(self, *args: Any) -> Any:
        return self._generator.throw(*args)

    def close(self) -> None:
        try:
            self._generator.close()
        finally:
            if self._finisher is not None:
                self._finisher.end()

    def __del__(self) -> None:
        finisher = getattr(self, "_finisher", None)
        if finisher is not None:
            finisher.end()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._generator, name)
