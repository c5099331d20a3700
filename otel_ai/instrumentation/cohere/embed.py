"""Embeddings (`embed`) and rerank (`rerank`): billed input tokens, billed search units.

`rerank` has no operation name in the GenAI conventions; it is recorded as `rerank` (span
`rerank {model}`), billed per search unit (`otel_ai.usage.search_units`, priced per 1,000).
"""

from __future__ import annotations

from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.base import Endpoint
from otel_ai.instrumentation.cohere.chat import billed, count
from otel_ai.instrumentation.openai.content import get, reiterable, truncate

_VECTOR_KINDS = ("float_", "int8", "uint8", "binary", "ubinary")


class Embed(Endpoint):
    operation = "embeddings"
    streaming = False

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        kinds = kwargs.get("embedding_types")
        if reiterable(kinds) and kinds and all(isinstance(k, str) for k in kinds):
            attrs[sc.REQUEST_ENCODING_FORMATS] = tuple(kinds)
        dimensions = count(kwargs.get("output_dimension"))
        if dimensions is not None:
            attrs[sc.EMBEDDINGS_DIMENSION_COUNT] = dimensions

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        body = get(result, "data", result)
        resp = GenAIResponse(response_id=get(body, "id"))
        billed(resp.usage, get(body, "meta"))
        resp.usage.output_tokens = None  # embeddings produce no output tokens
        embeddings = get(body, "embeddings")
        if embeddings is not None:
            for kind in _VECTOR_KINDS:
                vectors = get(embeddings, kind)
                if isinstance(vectors, list) and vectors and isinstance(vectors[0], list):
                    if kind in ("float_", "int8", "uint8"):  # binary kinds pack 8 dimensions a byte
                        resp.attributes[sc.EMBEDDINGS_DIMENSION_COUNT] = len(vectors[0])
                    break
        return resp


class Rerank(Endpoint):
    operation = "rerank"
    streaming = False

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        documents = kwargs.get("documents")
        if documents is not None and reiterable(documents):
            attrs[sc.RERANK_DOCUMENTS] = len(documents)
        top_n = count(kwargs.get("top_n"))
        if top_n is not None:
            attrs[sc.RERANK_TOP_N] = top_n
        if capture:
            query = kwargs.get("query")
            if isinstance(query, str):
                req.input_messages = [{"role": "user", "parts": [{"type": "text", "content": truncate(query, limit)}]}]

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        body = get(result, "data", result)
        resp = GenAIResponse(response_id=get(body, "id"))
        billed(resp.usage, get(body, "meta"))
        return resp
