"""Secrets seen at run time (the clients' API keys), so the redactor can strip them from every export."""

from __future__ import annotations

import threading
from collections.abc import Callable

_known: set[str] = set()
_listeners: list[Callable[[str], None]] = []
_lock = threading.Lock()


def remember(secret: object) -> None:
    """Register a secret; cheap when it is already known, so instrumentors call it on every request."""
    if not isinstance(secret, str) or secret in _known or not secret:
        return
    with _lock:
        _known.add(secret)
        listeners = list(_listeners)
    for listener in listeners:
        listener(secret)


def subscribe(listener: Callable[[str], None]) -> None:
    """Call `listener` for every secret known now and every one remembered later."""
    with _lock:
        _listeners.append(listener)
        known = list(_known)
    for secret in known:
        listener(secret)
