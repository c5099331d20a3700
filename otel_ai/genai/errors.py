"""Turn any exception from a provider client into a low-cardinality `error.type` and a category."""

from __future__ import annotations

import asyncio
from typing import Final

RATE_LIMIT: Final = "rate_limit"
TIMEOUT: Final = "timeout"
AUTH: Final = "auth"
QUOTA: Final = "quota"
BAD_REQUEST: Final = "bad_request"
CONTENT_FILTER: Final = "content_filter"
SERVER_ERROR: Final = "server_error"
CONNECTION: Final = "connection"
CANCELLED: Final = "cancelled"
OTHER: Final = "other"

CATEGORIES: Final = (
    RATE_LIMIT, TIMEOUT, AUTH, QUOTA, BAD_REQUEST, CONTENT_FILTER, SERVER_ERROR, CONNECTION, CANCELLED, OTHER,
)

_QUOTA_CODES = frozenset({"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"})
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation"})


def error_type(exc: BaseException) -> str:
    """The SDK's `exception.type` for `exc` (`openai.RateLimitError`; builtins bare: `TimeoutError`).

    The same string the official GenAI instrumentations write, so dashboards work across both.
    """
    cls = type(exc)
    module = cls.__module__
    return f"{module}.{cls.__qualname__}" if module and module != "builtins" else cls.__qualname__


def categorize(exc: BaseException) -> str:
    """Classify by HTTP status and provider error code first, then by the exception's class names."""
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)):
        return CANCELLED
    status = getattr(exc, "status_code", None)
    code = _error_code(exc)
    if code in _QUOTA_CODES:
        return QUOTA
    if code in _FILTER_CODES:
        return CONTENT_FILTER
    if isinstance(status, int):
        if status == 429:
            return RATE_LIMIT
        if status in (401, 403):
            return AUTH
        if status == 402:
            return QUOTA
        if status in (408, 504):
            return TIMEOUT
        if status >= 500:
            return SERVER_ERROR
        if 400 <= status < 500:
            return BAD_REQUEST
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout", "ConnectTimeout"}:
        return TIMEOUT
    if names & {
        "APIConnectionError", "ConnectError", "RemoteProtocolError", "ReadError", "TransportError",
        "ConnectionError", "NetworkError", "ProtocolError",
    }:
        return CONNECTION
    return OTHER


def _error_code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            value = inner.get("code") or inner.get("type")
            if isinstance(value, str):
                return value
    return None
