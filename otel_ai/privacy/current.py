"""The process's redactor, for text that leaves by roads other than telemetry (notifications, log lines).

The runtime owns the redactor (it is built from the settings) and registers where to find it with
`set_source`; the layers below the runtime (the notifiers, the log handler) ask `redactor()` here
instead of importing the runtime. Before a source is registered, the built-in kinds and every secret
learnt so far are used, so nothing is ever sent unredacted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_ai.privacy.redactor import Redactor

_lock = threading.Lock()
_source: Callable[[], Redactor] | None = None
_fallback: Redactor | None = None


def set_source(source: Callable[[], Redactor] | None) -> None:
    """Where `redactor()` gets the process's redactor from (None: the built-in fallback)."""
    global _source
    _source = source


def redactor() -> Redactor:
    """The process's redactor (may raise if building it fails: callers fail closed)."""
    source = _source
    if source is not None:
        return source()
    global _fallback
    with _lock:
        if _fallback is None:
            from otel_ai.privacy.redactor import Redactor
            from otel_ai.privacy.secrets import subscribe

            _fallback = Redactor()
            subscribe(_fallback.add_secret)
        return _fallback
