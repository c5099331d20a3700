"""What to do about a failed call: one table for `otel-ai report errors`, the API and the dashboard.

Each `otel_ai.error.category` has one recommended action; a provider code (`otel_ai.error.code`)
that says more than its category has its own (`insufficient_quota` is "add credit", where its
category `quota` also covers a spending cap). Keeping both in one module means the terminal, the
JSON API and the web page can never give different advice for the same failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from otel_ai.genai.classify import CATEGORIES

__all__ = ["CODE_ACTIONS", "ERROR_ACTIONS", "action_for", "code_action", "code_actions"]

ERROR_ACTIONS: Final[dict[str, str]] = {
    "rate_limit": "Back off and retry with exponential delays and jitter; spread traffic over time or keys; "
    "ask the provider to raise the rate limits.",
    "quota": "The account's quota or credit is used up: add credit or raise the spending limit, or route to "
    "another account or provider; retrying does not help.",
    "auth": "Check the API key: present, not revoked, for the right organisation or project; rotate it if "
    "it may have leaked.",
    "timeout": "Raise the client timeout for long generations, stream the answer, shorten prompts or "
    "max_tokens, and retry idempotent calls.",
    "bad_request": "Fix the request: model name, parameters or message format; retrying the same request "
    "fails again.",
    "content_filter": "The provider's content filter refused the input or output: review the prompt and the "
    "user input, and handle refusals in the app.",
    "server_error": "The provider failed: retry with backoff, and fail over to another model or region if it "
    "persists; check the provider's status page.",
    "connection": "The network path failed (DNS, TLS, proxy, reset connection): check connectivity and the "
    "base URL, and retry.",
    "cancelled": "The caller cancelled the call (client disconnect, task cancellation, shutdown): usually "
    "expected; check deadlines if frequent.",
    "other": "Unclassified failure: look at error.type and the span's exception event in the traces.",
    "context_length": "Shorten the prompt: trim or summarise the conversation history, retrieve fewer "
    "documents, lower max_tokens, or use a model with a longer context window.",
    "not_found": "Check the model, voice or deployment id and the base URL: the name may be misspelt, retired, "
    "or not available to this key.",
    "budget": "An otel-ai budget blocked the call before it was sent: raise the budget's limit, wait for the "
    "next period, or fall back to a cheaper model when BudgetExceeded is raised.",
}
assert set(ERROR_ACTIONS) == set(CATEGORIES)

# Provider codes whose advice is more precise than their category's.
CODE_ACTIONS: Final[dict[str, str]] = {
    "insufficient_quota": "Add credit or raise the monthly spending limit in the provider's billing "
    "settings; retrying does not help.",
    "billing_hard_limit_reached": "The spending cap was reached: raise the hard limit in the billing settings.",
    "insufficient_balance": "The account balance is empty: top up the account (DeepSeek: Top up page); "
    "retrying does not help.",
    "quota_exceeded": "The character quota is used up: buy credits or enable usage-based billing for the "
    "subscription; retrying does not help.",
    "invalid_api_key": "Rotate the API key: create a new one, update the secret the app reads, revoke the old one.",
    "rate_limit_exceeded": "Back off and retry (honour retry-after), lower concurrency, or ask for higher limits.",
    "too_many_concurrent_requests": "Queue requests to stay under the plan's concurrency limit (retrying at once "
    "fails again), or upgrade the plan.",
    "system_busy": "The provider is overloaded: retry after a short, growing delay.",
    "server_overloaded": "The provider is overloaded: retry after a short, growing delay, or fail over.",
    "context_length_exceeded": "Shorten the prompt: trim the history, retrieve fewer documents, lower "
    "max_tokens, or pick a model with a longer context window.",
    "max_character_limit_exceeded": "Split the text into shorter requests: the model's per-request character "
    "limit was exceeded.",
    "content_filter": "Review the prompt and the user input that triggered the content filter; handle refusals.",
    "content_policy_violation": "Review the prompt and the user input that violated the content policy.",
    "model_not_found": "Check the model name, and that this key's project has access to the model.",
    "voice_not_found": "Check the voice_id: it may be misspelt, deleted, or not in this account's voices.",
    "invalid_parameters": "Fix the parameters the error message names (DeepSeek 422).",
    "budget_exceeded": ERROR_ACTIONS["budget"],
}


def action_for(category: str) -> str:
    """The recommended action for a category (an unknown one gets the `other` advice)."""
    return ERROR_ACTIONS.get(category, ERROR_ACTIONS["other"])


def code_action(code: str) -> str | None:
    """The code's own advice, when it has any beyond its category's."""
    return CODE_ACTIONS.get(code)


def code_actions(codes: Iterable[str]) -> dict[str, str]:
    """The code-specific advice for those of `codes` that have some."""
    return {code: CODE_ACTIONS[code] for code in codes if code in CODE_ACTIONS}
