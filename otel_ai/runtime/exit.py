"""At exit, shut the tracer, meter and logger providers down together, within one deadline.

Why: each SDK provider registers its own `atexit` shutdown, and each one waits for its exporter
to give up (retries with back-off, or a 10 s read timeout on an endpoint that never answers) before
the next starts: with no collector a one-call script took 7-11 s per provider, 12-30 s in all,
longer to exit. Here the providers' own handlers are taken off `atexit` and one handler of ours
shuts them all down on daemon threads, joined against one deadline. With a healthy collector
everything is flushed well inside it; whatever is still in flight when it passes is dropped, and
the export warning says so once.

Termination signals. SIGTERM (what containers and process managers stop apps with) and SIGHUP
kill a process whose disposition is the default without running `atexit`, so the last batch was
lost: a uvicorn app shuts down gracefully, then restores the default and raises the signal again;
a plain script just dies. Where such a signal's disposition is the default, ours stands in for it
(`_on_signal`): it runs the same shutdown within the same deadline, then restores the default and
raises the signal again, so the process still ends killed by it (status -15, 143 in a shell). The
app's own handlers are untouched, whenever they are installed: `signal.signal` and
`signal.getsignal` are wrapped so that installing SIG_DFL for these signals (uvicorn restoring
what it found, gunicorn's uvicorn worker resetting its signals, asyncio removing a handler) puts
the stand-in back, and both report SIG_DFL wherever the stand-in is. A signal ignored (SIG_IGN,
`nohup`) or handled by the app is never touched; SIGINT already runs `atexit` (KeyboardInterrupt).
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import FrameType
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider

from otel_ai.guard import report
from otel_ai.runtime import health

__all__ = ["DEFAULT_DEADLINE_S", "SIGNALS", "install", "install_signal_handlers", "shutdown_all",
           "uninstall_signal_handlers"]

DEFAULT_DEADLINE_S = 1.5

_providers: list[object] = []
_registered = False
_lock = threading.Lock()
_deadline_s = DEFAULT_DEADLINE_S
_done = threading.Event()  # the providers were shut down (at exit or on a signal): not twice

# Where the SDK providers keep what `atexit.register` returned (tracer and meter: `_atexit_handler`,
# logger: `_at_exit_handler`); cleared so their own shutdown does not touch `atexit` again.
_ATEXIT_ATTRIBUTES = ("_atexit_handler", "_at_exit_handler")


def install(providers: Iterable[object], deadline_s: float = DEFAULT_DEADLINE_S) -> None:
    """Take the providers' shutdown off `atexit` and shut them down from our one handler instead."""
    global _registered, _deadline_s
    with _lock:
        _deadline_s = deadline_s
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
    install_signal_handlers()


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
        if _done.is_set():
            return
        _done.set()
        with _lock:
            providers = list(_providers)
        health.stop_retries()
        stuck = shutdown_all(providers, deadline_s)
        if stuck:
            health.exit_incomplete(deadline_s, stuck)
    except Exception as exc:
        report("exit.at_exit", exc)


# -- termination signals -------------------------------------------------------------------------------

SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal.Signals, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal.Signals, name)
)
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
_real_signal: Callable[..., Any] = signal.signal  # the module's own, before we wrapped it
_real_getsignal: Callable[..., Any] = signal.getsignal
_wrapped = False
_in_signal = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """The stand-in for the default disposition: shut down within the deadline, then die of the signal."""
    global _in_signal
    if not _in_signal:  # a second signal while flushing: die at once, as the default would have
        _in_signal = True
        _at_exit(_deadline_s)
    _die(signum)


def _die(signum: int) -> None:
    """Restore the default disposition and raise the signal again: the process ends killed by it."""
    try:
        _real_signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
        os.kill(os.getpid(), signum)  # not reached unless the signal is blocked: then it stays pending
    except Exception as exc:
        report("exit.signal", exc)


def _is_default(handler: object) -> bool:
    return isinstance(handler, int) and not isinstance(handler, bool) and handler == signal.SIG_DFL


def _signal(signalnum: int, handler: _Handler) -> _Handler:
    """`signal.signal`, but SIG_DFL for SIGTERM/SIGHUP installs the stand-in (which ends the same way)."""
    try:
        stand_in = signalnum in SIGNALS and _is_default(handler)
    except Exception:
        stand_in = False
    previous = _real_signal(signalnum, _on_signal if stand_in else handler)  # its errors are the app's
    return signal.SIG_DFL if previous is _on_signal else previous


def _getsignal(signalnum: int) -> _Handler:
    """`signal.getsignal`, reporting SIG_DFL where the stand-in is installed."""
    handler = _real_getsignal(signalnum)
    return signal.SIG_DFL if handler is _on_signal else handler


_signal.__doc__ = signal.signal.__doc__
_getsignal.__doc__ = signal.getsignal.__doc__


def install_signal_handlers() -> bool:
    """Stand in for the default disposition of SIGTERM and SIGHUP; True when done.

    Only from the main thread (the only one that may set handlers); never raises. A signal the
    app ignores or handles is left as it is.
    """
    global _wrapped
    try:
        if not SIGNALS or threading.current_thread() is not threading.main_thread():
            return False
        with _lock:
            if not _wrapped:
                signal.signal = _signal
                signal.getsignal = _getsignal
                _wrapped = True
            for signum in SIGNALS:
                if _is_default(_real_getsignal(signum)):
                    _real_signal(signum, _on_signal)
        return True
    except Exception as exc:
        report("exit.signals", exc)
        return False


def uninstall_signal_handlers() -> None:
    """Undo `install_signal_handlers` (tests): the real functions back, SIG_DFL where the stand-in was."""
    global _wrapped
    with _lock:
        if _wrapped:
            signal.signal = _real_signal
            signal.getsignal = _real_getsignal
            _wrapped = False
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                if _real_getsignal(signum) is _on_signal:
                    _real_signal(signum, signal.SIG_DFL)
