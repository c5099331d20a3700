"""Moderation (`moderations.create`): whether any input was flagged, and for what.

The conventions have no operation for moderation: ours is `moderations`, named after the API as
`embeddings` is. The endpoint is free, so no cost is recorded.
"""

from __future__ import annotations

from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.openai.content import get, reiterable, truncate

__all__ = ["Moderations"]


def _flagged_categories(categories: Any) -> list[str]:
    """The names of the flagged categories as the API spells them (`self-harm/intent`)."""
    if categories is None:
        return []
    dump = getattr(categories, "model_dump", None)
    values = dump(by_alias=True) if callable(dump) else categories
    if not isinstance(values, dict):
        return []
    return [name for name, flagged in values.items() if flagged is True]


class Moderations(Endpoint):
    operation = "moderations"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        if not capture:
            return
        value: Any = kwargs.get("input")
        items: list[Any] = [value] if isinstance(value, str) else list(value) if reiterable(value) else []
        parts = []
        for item in items:
            text = item if isinstance(item, str) else get(item, "text") if get(item, "type") == "text" else None
            if isinstance(text, str):
                parts.append({"type": "text", "content": truncate(text, limit)})
        if parts:
            req.input_messages = [{"role": "user", "parts": parts}]

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        results = get(result, "results") or ()
        flagged = False
        categories: dict[str, None] = {}
        for item in results:
            flagged = flagged or get(item, "flagged") is True
            categories.update(dict.fromkeys(_flagged_categories(get(item, "categories"))))
        resp.attributes[sc.MODERATION_FLAGGED] = flagged
        if categories:
            resp.attributes[sc.MODERATION_CATEGORIES] = tuple(sorted(categories))
        return resp
