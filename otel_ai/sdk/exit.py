"""At exit, shut the tracer, meter and logger providers down together, within one deadline.

Why: each SDK provider registers its own `atexit` shutdown, and each one waits for its exporter
to give up (retries with back-off, or a 10 s read timeout on an endpoint that never answers) before
the next starts: with no collector a one-call script took 7-11 s per provider, 12-30 s in all,
longer to exit. Here the providers' own handlers are taken off `atexit` and one handler of ours
shuts them all down on daemon threads, joined against one deadline. With a healthy collector
everything is flushed well inside it; whatever is still in flight when it passes is dropped, and
the export warning says so once.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Iterable, Sequence

from opentelemetry.sdk.metrics import MeterProvider

from otel_ai.sdk import health
from otel_ai.sdk.guard import report

__all__ = ["DEFAULT_DEADLINE_S", "install", "shutdown_all"]

DEFAULT_DEADLINE_S = 1.5

_providers: list[object] = []
_registered = False
_lock = threading.Lock()

# Where the SDK providers keep what `atexit.register` returned (tracer and meter: `_atexit_handler`,
# logger: `_at_exit_handler`); cleared so their own shutdown does not touch `atexit` again.
_ATEXIT_ATTRIBUTES = ("_atexit_handler", "_at_exit_handler")


def install(providers: Iterable[object], deadline_s: float = DEFAULT_DEADLINE_S) -> None:
    """Take the providers' shutdown off `atexit` and shut them down from our one handler instead."""
    global _registered
    with _lock:
        for provider in providers:
            shutdown = getattr(provider, "shutdown", None)
            if shutdown is None or any(provider is known for known in _providers):
                continue
            try:
                atexit.unregister(shutdown)
                for attribute in _ATEXIT_ATTRIBUTES:
                    if getattr(provider, attribute, None) is not None:
                        setattr(provider, attribute, None)
            except Exception as exc:
                report("exit.install", exc)
                continue
            _providers.append(provider)
        if not _registered:
            atexit.register(_at_exit, deadline_s)
            _registered = True


def _shutdown_one(provider: object, deadline_s: float) -> None:
    try:
        if isinstance(provider, MeterProvider):
            if not getattr(provider, "_shutdown", False):  # the app shut it down itself: it warns twice
                provider.shutdown(timeout_millis=deadline_s * 1000)
        else:
            provider.shutdown()  # type: ignore[attr-defined]
    except Exception as exc:  # a reader or processor failing to shut down must not stop the exit
        report("exit.shutdown", exc)


def shutdown_all(providers: Sequence[object], deadline_s: float) -> list[str]:
    """Shut the providers down in parallel; returns the class names of those still running at the deadline."""
    threads: list[tuple[object, threading.Thread]] = []
    for provider in providers:
        name = f"otel-ai-shutdown-{type(provider).__name__}"
        thread = threading.Thread(target=_shutdown_one, args=(provider, deadline_s), name=name, daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # no new threads at interpreter shutdown: leave this one be
            report("exit.thread", exc)
            continue
        threads.append((provider, thread))
    end = time.monotonic() + deadline_s
    for _, thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    return [type(provider).__name__ for provider, thread in threads if thread.is_alive()]


def _at_exit(deadline_s: float) -> None:
    try:
        with _lock:
            providers = list(_providers)
        health.stop_retries()
        stuck = shutdown_all(providers, deadline_s)
        if stuck:
            health.exit_incomplete(deadline_s, stuck)
    except Exception as exc:
        report("exit.at_exit", exc)
