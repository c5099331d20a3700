"""Embeddings (`embeddings.create` / `create_async`): encoding format, dimensions, input tokens."""

from __future__ import annotations

from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.mistral.chat import count
from otel_ai.instrumentation.openai.content import get


class Embeddings(Endpoint):
    operation = "embeddings"
    streaming = False

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        encoding = kwargs.get("encoding_format")
        if isinstance(encoding, str):
            attrs[sc.REQUEST_ENCODING_FORMATS] = (encoding,)
        dimensions = count(kwargs.get("output_dimension"))
        if dimensions is not None:
            attrs[sc.EMBEDDINGS_DIMENSION_COUNT] = dimensions

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse(response_id=get(result, "id"), model=get(result, "model"))
        usage = get(result, "usage")
        if usage is not None:
            resp.usage.input_tokens = count(get(usage, "prompt_tokens"))
        data = get(result, "data") or ()
        if data:
            vector = get(data[0], "embedding")
            if isinstance(vector, list):
                resp.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(vector)
        return resp
