"""Delivery: a bounded queue and a daemon worker per notifier, retries with back-off, install and exit.

`install()` makes `otel_ai.notify.notification.notify()` put the notification on each configured
notifier's queue and return; each worker retries after 0.5, 1 and 2 s on retryable failures, drops
with one warning line per notifier per process, and at exit gets one attempt per queued
notification within a 1 s deadline. Nothing the workers do becomes telemetry.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_ai.guard import report
from otel_ai.notify import notification as _notify
from otel_ai.notify.formatting import headline, redacted
from otel_ai.notify.notification import Notification
from otel_ai.notify.settings import DEFAULT_TIMEOUT_S, NotifierConfig, parse_notifiers
from otel_ai.notify.transports import ConsoleNotifier, DeliveryError, Notifier, notifiers_for


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Attempts are 1 + len(backoff_s); the exit deadline bounds the flush at exit."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0)
    queue_size: int = 1000
    exit_deadline_s: float = 1.0


def _warn(text: str) -> None:
    from otel_ai import agent_warnings

    agent_warnings.count("notify.failed")  # each line matters (a lost notice): printed every time
    try:
        sys.stderr.write(f"otel-ai: {text}\n")
        sys.stderr.flush()
    except Exception:  # a closed stderr must not break a worker
        pass


_STOP: Final = object()


class _Channel:
    """One notifier, its bounded queue and its worker thread (started on the first notification)."""

    def __init__(self, notifier: Notifier, policy: RetryPolicy, closing: threading.Event) -> None:
        self.notifier = notifier
        self.policy = policy
        self._closing = closing
        self.deadline: float | None = None  # monotonic; set at exit
        self._reset()

    def _reset(self) -> None:
        self.queue: queue.Queue[object] = queue.Queue(self.policy.queue_size)
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stopped = False
        self.sent = self.failed = self.dropped = 0
        self._warned_full = self._warned_failed = False
        self.last_failure: str | None = None

    @property
    def label(self) -> str:
        return f"the {self.notifier.kind} notifier ({self.notifier.target})"

    def submit(self, notification: Notification) -> None:
        if self.stopped:
            self.dropped += 1
            return
        try:
            self.queue.put_nowait(notification)
        except queue.Full:
            self._full()
            return
        if self.thread is None:
            self._start()

    def _full(self) -> None:
        with self._lock:
            self.dropped += 1
            if self._warned_full:
                return
            self._warned_full = True
        _warn(f"{self.label} is behind: {self.policy.queue_size} notifications queued, dropping new ones "
              "(counted; this line is shown once)")

    def _start(self) -> None:
        with self._lock:
            if self.thread is not None:
                return
            thread = threading.Thread(target=self._run, name=f"otel-ai-notify-{self.notifier.kind}", daemon=True)
            try:
                thread.start()
            except RuntimeError as exc:  # no new threads at interpreter shutdown
                report("notifiers.thread", exc)
                return
            self.thread = thread

    def _run(self) -> None:
        with suppress_instrumentation():  # nothing this thread does becomes telemetry (no spans for its posts)
            while True:
                item = self.queue.get()
                try:
                    if item is _STOP:
                        return
                    if isinstance(item, Notification):
                        self._deliver(item)
                except Exception as exc:  # the worker never dies of a bug
                    report("notifiers.deliver", exc)
                finally:
                    self.queue.task_done()

    def _attempt_timeout(self) -> float:
        deadline = self.deadline
        if deadline is None:
            return self.policy.timeout_s
        return min(self.policy.timeout_s, deadline - time.monotonic())

    def _deliver(self, notification: Notification) -> None:
        notification = redacted(notification)  # once, for every attempt and the warning line
        attempts = 1 + len(self.policy.backoff_s)
        reason = "not attempted before exit"
        tried = 0
        for attempt in range(1, attempts + 1):
            timeout = self._attempt_timeout()
            if timeout <= 0:
                break
            tried = attempt
            try:
                self.notifier.send(notification, timeout)
            except DeliveryError as exc:
                reason, retry = exc.reason, exc.retry
            except Exception as exc:  # a bug in a notifier: not worth retrying
                report(f"notifiers.{self.notifier.kind}", exc)
                reason, retry = type(exc).__name__, False
            else:
                self.sent += 1
                return
            if not retry or attempt == attempts or self._closing.is_set():
                break
            if self._closing.wait(self.policy.backoff_s[attempt - 1]):
                break  # exiting: no more back-off
        with self._lock:
            self.failed += 1
            self.last_failure = reason
            if self._warned_failed or tried == 0:
                return
            self._warned_failed = True
        tries = f"{tried} attempt{'s' if tried != 1 else ''}"
        _warn(f"{self.label} could not deliver \"{headline(notification)}\" ({reason}, {tries}); dropped it "
              "(later failures of this notifier are counted, not shown)")

    def pending(self) -> int:
        return self.queue.unfinished_tasks

    def wait_idle(self, until: float) -> bool:
        """Wait until everything queued is handled or `until` (monotonic) passes; True when idle."""
        condition = self.queue.all_tasks_done
        with condition:
            while self.queue.unfinished_tasks:
                remaining = until - time.monotonic()
                if remaining <= 0 or self.thread is None:
                    return False
                condition.wait(remaining)
        return True

    def stop(self) -> None:
        self.stopped = True
        # When full, the worker drains it instead (each item fails fast once past the deadline).
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(_STOP)


class Dispatcher:
    """What `notify()` calls: puts the notification on every notifier's queue and returns."""

    def __init__(self, notifiers: Sequence[Notifier], policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self._closing = threading.Event()
        self.channels = [_Channel(n, self.policy, self._closing) for n in notifiers]

    def __call__(self, notification: Notification) -> None:
        for channel in self.channels:
            channel.submit(notification)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per notifier kind: sent, failed (given up), dropped (queue full or closed), pending."""
        return {
            c.notifier.kind: {"sent": c.sent, "failed": c.failed, "dropped": c.dropped, "pending": c.pending()}
            for c in self.channels
        }

    def flush(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for every queue to be handled (retries included); True when all are."""
        until = time.monotonic() + timeout_s
        return all([channel.wait_idle(until) for channel in self.channels])

    def close(self, deadline_s: float | None = None) -> int:
        """Stop taking notifications; what is queued gets one attempt each within the deadline.

        Returns how many were still pending when it passed (their daemon workers are left behind:
        an attempt in flight cannot be interrupted, but it cannot hold the exit either).
        """
        deadline_s = self.policy.exit_deadline_s if deadline_s is None else deadline_s
        until = time.monotonic() + deadline_s
        for channel in self.channels:
            channel.deadline = until
        self._closing.set()  # ends back-off waits; no more retries
        for channel in self.channels:
            channel.wait_idle(until)
        pending = sum(channel.pending() for channel in self.channels)
        for channel in self.channels:
            channel.stop()
        return pending

    def _after_fork(self) -> None:
        self._closing = threading.Event()
        for channel in self.channels:
            channel._closing = self._closing
            channel.deadline = None
            channel._reset()


# --------------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------------

_install_lock = threading.Lock()
_installed: tuple[tuple[NotifierConfig, bool], Dispatcher] | None = None  # ((config, console), dispatcher)
_atexit_registered = False


def installed() -> Dispatcher | None:
    """The dispatcher `notify()` delivers through now, if any."""
    current = _installed
    return current[1] if current else None


def install(
    config: NotifierConfig, policy: RetryPolicy | None = None, *, notifiers: Sequence[Notifier] | None = None,
    console: bool = False,
) -> Dispatcher | None:
    """Make `notify()` deliver through the configured notifiers; never raises.

    Installing the same configuration again keeps the running dispatcher (both SDK set-up paths call
    this). With no notifier configured, `notify()` stays a no-op and None is returned, unless
    `console` (the app prints its calls with the console exporter): then notices are printed too
    (`ConsoleNotifier`). `notifiers` replaces the ones built from `config` (tests).
    """
    global _installed, _atexit_registered
    try:
        with _install_lock:
            key = (config, console)
            if _installed is not None and _installed[0] == key and notifiers is None and policy is None:
                return _installed[1]
            previous, _installed = _installed, None
            _notify.set_dispatcher(None)
            chosen = list(notifiers) if notifiers is not None else notifiers_for(config)
            if not chosen and console and notifiers is None:
                chosen = [ConsoleNotifier()]
            dispatcher = None
            if chosen:
                policy = policy or RetryPolicy(timeout_s=config.timeout_s)
                dispatcher = Dispatcher(chosen, policy)
                _installed = (key, dispatcher)
                _notify.set_dispatcher(dispatcher)
                _remember_secrets(config)
                if not _atexit_registered:
                    atexit.register(_at_exit)
                    _atexit_registered = True
        if previous is not None:
            previous[1].close(0)
        return dispatcher
    except Exception as exc:
        report("notifiers.install", exc)
        return None


def install_from_env(env: Mapping[str, str] | None = None) -> Dispatcher | None:
    """`install()` with the configuration of `OTEL_AI_ALERT_*` (its problems are reported by the settings)."""
    config, _ = parse_notifiers(env)
    return install(config)


def uninstall(deadline_s: float = 0.0) -> int:
    """Turn notifications off; the current dispatcher is closed (see `Dispatcher.close`)."""
    global _installed
    with _install_lock:
        previous, _installed = _installed, None
        _notify.set_dispatcher(None)
    return previous[1].close(deadline_s) if previous else 0


def _remember_secrets(config: NotifierConfig) -> None:
    """Webhook URLs (their tokens) and the SMTP password join the redactor's known secrets."""
    try:
        from otel_ai.privacy.secrets import remember

        for url in (config.webhook_url, config.slack_webhook_url):
            if url:
                remember(url)
                path = urlsplit(url).path.strip("/")
                if len(path) >= 16:  # the token part; a short path ("/hook") would redact ordinary words
                    remember(path)
        if config.smtp and config.smtp.password and len(config.smtp.password) >= 6:
            remember(config.smtp.password)
    except Exception as exc:
        report("notifiers.secrets", exc)


def _at_exit() -> None:
    try:
        current = _installed
        if current is None:
            return
        dispatcher = current[1]
        pending = dispatcher.close()
        if pending:
            kinds = ", ".join(c.notifier.kind for c in dispatcher.channels if c.pending())
            _warn(f"{pending} notification(s) not delivered before exit ({kinds} notifier still busy after "
                  f"{dispatcher.policy.exit_deadline_s:g} s); dropped")
    except Exception as exc:
        report("notifiers.at_exit", exc)


def _after_fork_in_child() -> None:
    """A forked worker (gunicorn, Celery) has none of the parent's threads: start its own when needed."""
    current = _installed
    if current is not None:
        current[1]._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
