"""Turn any exception from a provider client into `error.type`, a category and the provider's code.

Three answers per failure, from most general to most specific:

* `error_type(exc)`: the exception's class (`openai.RateLimitError`), as the official instrumentations
  write `error.type`;
* `categorize(exc)`: one of `CATEGORIES`, low-cardinality, on spans and metrics
  (`otel_ai.error.category`), each with one recommended action (`otel_ai.genai.advice`);
* `error_code(exc)`: the provider's own code (`insufficient_quota`, `voice_not_found`), span only
  (`otel_ai.error.code`), because it tells apart failures a category lumps together: a 429 that is a
  rate limit from one that is an empty account.

The code is read where each provider puts it: OpenAI-compatible APIs (OpenAI, DeepSeek, Azure, ...)
in `error.code` (or `error.type` when `code` is null), ElevenLabs in `detail.status`. Where a
provider answers with only a generic code, the HTTP status names the failure instead, with the
names DeepSeek documents (402 `insufficient_balance`, 422 `invalid_parameters`, 503
`server_overloaded`), and a context-length message is recognised by a fixed phrase. The code is
never free text: lower case, `[a-z0-9_.-]`, at most `CODE_MAX_LENGTH` characters, else no code.

Nothing here raises: every function takes whatever the client raised, attributes missing or odd.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, Final

from otel_ai.errors import BudgetExceeded

__all__ = [
    "CATEGORIES",
    "CODE_MAX_LENGTH",
    "categorize",
    "error_code",
    "error_type",
    "normalize_code",
]

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
CONTEXT_LENGTH: Final = "context_length"  # the prompt (or text) is longer than the model takes
NOT_FOUND: Final = "not_found"  # no such model, voice, deployment or endpoint
BUDGET: Final = "budget"  # an otel-ai budget blocked the call before it was sent

CATEGORIES: Final = (
    RATE_LIMIT, TIMEOUT, AUTH, QUOTA, BAD_REQUEST, CONTENT_FILTER, SERVER_ERROR, CONNECTION, CANCELLED, OTHER,
    CONTEXT_LENGTH, NOT_FOUND, BUDGET,
)

CODE_MAX_LENGTH: Final = 64
_CODE_SHAPE = re.compile(r"[a-z0-9][a-z0-9_.\-]*")

# The code BudgetExceeded carries (it is otel-ai's, not a provider's).
BUDGET_EXCEEDED: Final = "budget_exceeded"

# Provider codes by category. OpenAI: developers.openai.com/docs/guides/error-codes; DeepSeek:
# api-docs.deepseek.com/quick_start/error_codes; ElevenLabs: help.elevenlabs.io "API - Error Code
# 400 or 401" and "429" (`detail.status`).
_QUOTA_CODES = frozenset({
    "insufficient_quota", "quota_exceeded", "billing_hard_limit_reached", "billing_not_active",
    "insufficient_balance", "credit_balance_exhausted", "payment_required",
})
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation", "responsibleaipolicyviolation"})
_CONTEXT_CODES = frozenset({
    "context_length_exceeded", "max_character_limit_exceeded", "string_above_max_length", "max_tokens_exceeded",
})
_NOT_FOUND_CODES = frozenset({
    "model_not_found", "voice_not_found", "voice_does_not_exist", "deploymentnotfound", "not_found",
})
# Anthropic sends an overload mid-stream as an `error` event on a 200 answer: only the code tells.
_SERVER_CODES = frozenset({"overloaded_error"})
_AUTH_CODES = frozenset({
    "invalid_api_key", "invalid_authentication", "needs_authorization", "missing_permissions",
    "permission_denied", "unauthenticated",  # Google's canonical codes (google.rpc.Code names)
})
# AWS services (botocore `ClientError`, `Error.Code`; also sent mid-stream as an exception event, with
# no status): the exception name says the category. docs.aws.amazon.com/bedrock/latest/APIReference.
_CODE_CATEGORIES: Mapping[str, str] = {
    "throttlingexception": "rate_limit", "toomanyrequestsexception": "rate_limit",
    "servicequotaexceededexception": "rate_limit", "modelnotreadyexception": "rate_limit",
    "accessdeniedexception": "auth", "unrecognizedclientexception": "auth",
    "invalidsignatureexception": "auth", "expiredtokenexception": "auth",
    "validationexception": "bad_request", "modelerrorexception": "server_error",
    "modeltimeoutexception": "timeout", "resourcenotfoundexception": "not_found",
    "serviceunavailableexception": "server_error", "internalserverexception": "server_error",
    "modelstreamerrorexception": "server_error",
}

# Codes that say no more than the status: a status-derived name or a recognised message says more.
_GENERIC_CODES = frozenset({
    "invalid_request_error", "invalid_request", "unknown_error", "api_error", "error", "bad_request",
})
# DeepSeek answers these statuses with a generic code; the names are those of its error-code page.
_STATUS_CODES: Mapping[int, str] = {402: "insufficient_balance", 422: "invalid_parameters", 503: "server_overloaded"}
# Fixed phrases of provider messages (matched in lower case, in the message's first 1,000 characters).
_CONTEXT_PHRASES = ("maximum context length", "context length", "context_length_exceeded", "context window")
_MODEL_PHRASES = ("model not exist", "model does not exist", "model_not_found")
_MESSAGE_SCAN = 1000

# 498 Invalid Token: a key the service does not accept (Cohere answers it for a bad or revoked key;
# ArcGIS uses it too), an authentication failure like 401.
_AUTH_STATUSES = frozenset({401, 403, 498})

_TIMEOUT_NAMES = frozenset({"APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout", "ConnectTimeout"})
_CONNECTION_NAMES = frozenset({
    "APIConnectionError", "ConnectError", "RemoteProtocolError", "ReadError", "TransportError",
    "ConnectionError", "NetworkError", "ProtocolError",
})


def error_type(exc: BaseException) -> str:
    """The SDK's `exception.type` for `exc` (`openai.RateLimitError`; builtins bare: `TimeoutError`).

    The same string the official GenAI instrumentations write, so dashboards work across both.
    """
    cls = type(exc)
    module = cls.__module__
    return f"{module}.{cls.__qualname__}" if module and module != "builtins" else cls.__qualname__


def categorize(exc: BaseException) -> str:
    """Classify by provider error code first, then by HTTP status, then by the exception's class names.

    The code comes first because it is more specific than the status: OpenAI's quota answer is a 429
    like a rate limit, ElevenLabs' is a 401 like a bad key, and a context-length error is a 400 like
    any other bad request; each needs a different action.
    """
    try:
        return _categorize(exc)
    except Exception:  # an exception whose attributes raise: still a category, never an error
        return OTHER


def error_code(exc: BaseException) -> str | None:
    """The provider's error code for `otel_ai.error.code` (see the module docstring), or None."""
    try:
        return _error_code(exc, _status(exc))
    except Exception:
        return None


def normalize_code(value: object) -> str | None:
    """A provider code as a bounded, low-cardinality token, or None when it does not look like one.

    Lower-cased and stripped; must be `[a-z0-9][a-z0-9_.-]*` and at most `CODE_MAX_LENGTH` long, so
    a message put where a code belongs (some gateways do) never becomes an attribute value.
    """
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not text or len(text) > CODE_MAX_LENGTH or _CODE_SHAPE.fullmatch(text) is None:
        return None
    return text


def _categorize(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)):
        return CANCELLED
    if isinstance(exc, BudgetExceeded):
        return BUDGET
    status = _status(exc)
    code = _error_code(exc, status)
    if code in _QUOTA_CODES:
        return QUOTA
    if code in _FILTER_CODES:
        return CONTENT_FILTER
    if code in _CONTEXT_CODES:
        return CONTEXT_LENGTH
    if code in _NOT_FOUND_CODES:
        return NOT_FOUND
    if code in _AUTH_CODES:
        return AUTH
    if code in _SERVER_CODES:
        return SERVER_ERROR
    if code is not None and code in _CODE_CATEGORIES:
        return _CODE_CATEGORIES[code]
    if status is not None:
        if status == 429:
            return RATE_LIMIT
        if status in _AUTH_STATUSES:
            return AUTH
        if status == 402:
            return QUOTA
        if status == 404:
            return NOT_FOUND
        if status in (408, 504):
            return TIMEOUT
        if status >= 500:
            return SERVER_ERROR
        if 400 <= status < 500:
            return BAD_REQUEST
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _TIMEOUT_NAMES:
        return TIMEOUT
    if names & _CONNECTION_NAMES:
        return CONNECTION
    return OTHER


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        meta = _aws(exc, "ResponseMetadata")
        status = meta.get("HTTPStatusCode") if meta is not None else None
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    # Google's clients (google-genai's APIError): the HTTP status in `code`, the canonical name in `status`.
    code = getattr(exc, "code", None)
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600 and isinstance(
            getattr(exc, "status", None), str):
        return code
    return None


def _error_code(exc: BaseException, status: int | None) -> str | None:
    """Specific provider code, else a recognised message, else a status name, else a generic code."""
    if isinstance(exc, BudgetExceeded):
        return BUDGET_EXCEEDED
    code = _provider_code(exc)
    if code is not None and code not in _GENERIC_CODES:
        return code
    message = _message(exc)
    if message:
        if any(phrase in message for phrase in _CONTEXT_PHRASES):
            return "context_length_exceeded"
        if any(phrase in message for phrase in _MODEL_PHRASES):
            return "model_not_found"
    if status is not None and status in _STATUS_CODES:
        return _STATUS_CODES[status]
    return code


def _provider_code(exc: BaseException) -> str | None:
    """`exc.code` (the OpenAI SDK copies `error.code` there), else the body's code, else its type."""
    code = normalize_code(getattr(exc, "code", None))
    if code is not None:
        return code
    aws = _aws(exc, "Error")
    if aws is not None:
        return normalize_code(aws.get("Code"))
    status = getattr(exc, "status", None)  # Google: "RESOURCE_EXHAUSTED", "PERMISSION_DENIED", ...
    if isinstance(status, str):
        return normalize_code(status)
    body = getattr(exc, "body", None)
    if not isinstance(body, Mapping):
        return None
    detail = body.get("detail")
    if isinstance(detail, Mapping):  # ElevenLabs: {"detail": {"status": "voice_not_found", "message": ...}}
        code = normalize_code(detail.get("status")) or normalize_code(detail.get("code"))
        if code is not None:
            return code
    inner = body.get("error", body)  # OpenAI-compatible: {"error": {...}} or the inner object itself
    if isinstance(inner, Mapping):
        return normalize_code(inner.get("code")) or normalize_code(inner.get("type"))
    return None


def _message(exc: BaseException) -> str:
    """The provider's message in lower case (bounded), to match fixed phrases; '' when there is none."""
    parts: list[str] = []
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        detail = body.get("detail")
        inner: Any = detail if isinstance(detail, Mapping) else body.get("error", body)
        if isinstance(inner, Mapping):
            message = inner.get("message")
            if isinstance(message, str):
                parts.append(message[:_MESSAGE_SCAN])
    aws = _aws(exc, "Error")
    if aws is not None and isinstance(aws.get("Message"), str):
        parts.append(aws["Message"][:_MESSAGE_SCAN])
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        parts.append(message[:_MESSAGE_SCAN])
    return " ".join(parts).lower()


def _aws(exc: BaseException, key: str) -> Mapping[str, Any] | None:
    """A part of an AWS error (botocore `ClientError.response`: `Error`, `ResponseMetadata`), or None."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return None
    part = response.get(key)
    return part if isinstance(part, Mapping) else None
