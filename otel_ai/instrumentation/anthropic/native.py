"""The anthropic SDK's own call spans (scope `com.anthropic.sdk.python`), left out while ours record the call.

anthropic 2.x makes a span for every API call whenever OpenTelemetry is set up (`anthropic.messages.create`,
some GenAI attributes, no metrics, no cost). With ours that would be two GenAI spans per call, so while a
call of ours is being sent (`base.sending()`) the client's tracer reads as None, as it does for a client
built with `open_telemetry=False`: the SDK then makes no span and sends no trace headers of its own (the
HTTP client instrumentation still does, under our span).

A user who asked the SDK for its spans by name keeps them (ours is then their parent):
`ANTHROPIC_OPEN_TELEMETRY=true` when the client was built, or an `open_telemetry` option whose `traces` is
`True` or `{"enabled": True, ...}`, or that names its own `tracer_provider`. A copy of a client
(`with_options`) inherits the answer. The SDK's spans of calls we do not record (models, files, batches,
sessions, ...) are never touched.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import wrapt

from otel_ai.guard import report
from otel_ai.instrumentation.base import sending

__all__ = ["SCOPE", "install", "uninstall", "user_asked"]

SCOPE = "com.anthropic.sdk.python"
_MODULE = "anthropic._base_client"
_ASKED = "_otel_ai_sdk_spans"  # on a client: whether its user asked the SDK for its spans by name
# `client.open_telemetry` reads back every field of `traces`: such a value says nothing about a choice.
_RESOLVED_TRACES = frozenset({"enabled", "content_mode", "max_content_bytes"})
_active = [False]


class _Inherited(dict[str, Any]):
    """The option a client's copy is given by `copy` when the caller gave none: it carries the parent's answer."""

    __slots__ = ("asked",)

    def __init__(self, option: dict[str, Any], asked: bool) -> None:
        super().__init__(option)
        self.asked = asked


def user_asked(option: Any) -> bool:
    """Whether an `open_telemetry` option (None: the environment) asks the SDK for its spans by name."""
    if option is None:
        return os.environ.get("ANTHROPIC_OPEN_TELEMETRY", "").strip().lower() == "true"
    if isinstance(option, _Inherited):
        return option.asked
    if not isinstance(option, Mapping):
        return False  # False (spans off) or something the SDK does not take
    if option.get("tracer_provider") is not None:
        return True
    traces = option.get("traces")
    if traces is True:
        return True
    return isinstance(traces, Mapping) and traces.get("enabled") is True and set(traces) != _RESOLVED_TRACES


def _asked(client: Any) -> bool:
    asked = client.__dict__.get(_ASKED)
    if asked is not None:
        return bool(asked)
    # A client built before instrument(): what can still be told from its resolved option.
    options = getattr(client, "_open_telemetry", None)
    return user_asked(None) or (isinstance(options, Mapping) and options.get("tracer_provider") is not None)


def _tracer_getter(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def _tracer(self: Any) -> Any:
        tracer = original(self)
        if tracer is not None and sending():
            try:
                if not _asked(self):
                    return None
            except Exception as exc:
                report("anthropic.native", exc)
        return tracer

    _tracer.__wrapped__ = original  # type: ignore[attr-defined]
    return _tracer


def _set_option(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    result = wrapped(*args, **kwargs)
    try:
        instance.__dict__[_ASKED] = user_asked(args[0] if args else kwargs.get("open_telemetry"))
    except Exception as exc:
        report("anthropic.native", exc)
    return result


def _copy_option(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    result = wrapped(*args, **kwargs)
    given = args[0] if args else kwargs.get("open_telemetry")
    if given is None and isinstance(result, dict):
        try:
            return _Inherited(result, _asked(instance))
        except Exception as exc:
            report("anthropic.native", exc)
    return result


def _patch(module: Any) -> None:
    if not _active[0]:
        return
    try:
        cls = module.BaseClient
        current = cls.__dict__.get("_tracer")
        if not isinstance(current, property) or current.fget is None or hasattr(current.fget, "__wrapped__"):
            return
        for name, wrapper in (("_set_open_telemetry", _set_option), ("_copy_open_telemetry", _copy_option)):
            if name in cls.__dict__ and not isinstance(cls.__dict__[name], wrapt.FunctionWrapper):
                wrapt.wrap_function_wrapper(cls, name, wrapper)
        cls._tracer = property(_tracer_getter(current.fget), doc=current.__doc__)
    except Exception as exc:
        report("anthropic.native", exc)


def install() -> None:
    """Patch the client base when `anthropic` is imported (now, if it already is)."""
    _active[0] = True
    wrapt.register_post_import_hook(_patch, _MODULE)


def uninstall() -> None:
    _active[0] = False
    module = sys.modules.get(_MODULE)
    if module is None:
        return
    cls = module.BaseClient
    current = cls.__dict__.get("_tracer")
    if isinstance(current, property) and current.fget is not None and hasattr(current.fget, "__wrapped__"):
        cls._tracer = property(current.fget.__wrapped__, doc=current.__doc__)
    for name in ("_set_open_telemetry", "_copy_open_telemetry"):
        if isinstance(cls.__dict__.get(name), wrapt.FunctionWrapper):
            setattr(cls, name, cls.__dict__[name].__wrapped__)
