"""What to do about each error category (`otel_ai.error.category`): one table for the API, reports and UI."""

from __future__ import annotations

from typing import Final

from otel_ai.genai.errors import CATEGORIES

__all__ = ["ERROR_ACTIONS", "action_for"]

ERROR_ACTIONS: Final[dict[str, str]] = {
    "rate_limit": "Back off and retry with exponential delays and jitter; spread traffic over time or keys; "
    "ask the provider to raise the rate limits.",
    "quota": "The account's quota or credit is used up: add credit or raise the spending limit, or route to "
    "another account or provider; retrying does not help.",
    "auth": "Check the API key: present, not revoked, for the right organisation or project; rotate it if "
    "it may have leaked.",
    "timeout": "Raise the client timeout for long generations, stream the answer, shorten prompts or "
    "max_tokens, and retry idempotent calls.",
    "bad_request": "Fix the request: model name, parameters, message format, or a prompt over the context "
    "length (shorten it); retrying the same request fails again.",
    "content_filter": "The provider's content filter refused the input or output: review the prompt and the "
    "user input, and handle refusals in the app.",
    "server_error": "The provider failed: retry with backoff, and fail over to another model or region if it "
    "persists; check the provider's status page.",
    "connection": "The network path failed (DNS, TLS, proxy, reset connection): check connectivity and the "
    "base URL, and retry.",
    "cancelled": "The caller cancelled the call (client disconnect, task cancellation, shutdown): usually "
    "expected; check deadlines if frequent.",
    "other": "Unclassified failure: look at error.type and the span's exception event in the traces.",
}
assert set(ERROR_ACTIONS) == set(CATEGORIES)


def action_for(category: str) -> str:
    return ERROR_ACTIONS.get(category, ERROR_ACTIONS["other"])
