"""Image generation (`images.generate`): images made, their size and quality, tokens where reported.

DALL-E models are billed per image by quality and size, which their responses do not repeat: the
reader bound to the call takes them from the request (or the model's defaults). GPT image models
report token usage, billed per token. The operation is the conventions' `generate_content` with
`gen_ai.output.type = image` (the registry has no image-specific operation).
"""

from __future__ import annotations

from typing import Any

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest, GenAIResponse
from otel_ai.instrumentation.openai._shared import put
from otel_ai.instrumentation.openai.content import get, truncate
from otel_ai.instrumentation.openai.media import RequestBound

__all__ = ["Images"]

# What the DALL-E models use when the request names no size or quality.
_DEFAULTS = {"dall-e-2": ("standard", "1024x1024"), "dall-e-3": ("standard", "1024x1024")}


class _ImageStream:
    """Streamed generation: partial images are chunks, each completed event one image and its usage."""

    __slots__ = ("images", "input_tokens", "output_tokens", "reader")

    def __init__(self, reader: _ImageReader) -> None:
        self.reader = reader
        self.images = 0
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def add(self, chunk: Any) -> bool:
        kind = get(chunk, "type")
        if kind == "image_generation.partial_image":
            return True
        if kind == "image_generation.completed":
            self.images += 1
            usage = get(chunk, "usage")
            if usage is not None:
                self.input_tokens = (self.input_tokens or 0) + (get(usage, "input_tokens") or 0)
                self.output_tokens = (self.output_tokens or 0) + (get(usage, "output_tokens") or 0)
            return True
        return False

    def response(self) -> GenAIResponse:
        resp = GenAIResponse()
        resp.usage.input_tokens = self.input_tokens
        resp.usage.output_tokens = self.output_tokens
        self.reader.count(resp, self.images)
        return resp


class _ImageReader(RequestBound):
    operation = "generate_content"

    def __init__(self, quality: str | None, size: str | None) -> None:
        self.quality = quality
        self.size = size

    def count(self, resp: GenAIResponse, images: int) -> None:
        resp.usage.images = images
        if self.quality and self.size:
            resp.usage.image_kind = f"{self.quality} {self.size}"

    def accumulator(self, capture: bool, limit: int) -> _ImageStream:
        return _ImageStream(self)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        resp = GenAIResponse()
        usage = get(result, "usage")
        if usage is not None:
            resp.usage.input_tokens = get(usage, "input_tokens")
            resp.usage.output_tokens = get(usage, "output_tokens")
        data = get(result, "data") or ()
        reader = self
        quality, size = get(result, "quality"), get(result, "size")
        if isinstance(quality, str) or isinstance(size, str):  # GPT image models say what they made
            reader = _ImageReader(quality if isinstance(quality, str) else self.quality,
                                  size if isinstance(size, str) else self.size)
            for name, value in ((sc.IMAGE_QUALITY, quality), (sc.IMAGE_SIZE, size)):
                if isinstance(value, str):
                    resp.attributes[name] = value
        reader.count(resp, len(data))
        if capture:
            revised = [get(item, "revised_prompt") for item in data]
            parts = [{"type": "text", "content": truncate(text, limit)} for text in revised if isinstance(text, str)]
            if parts:
                resp.output_messages = [{"role": "assistant", "parts": parts, "finish_reason": "stop"}]
        return resp


class Images(RequestBound):
    """`images.generate`: prompt, count, size and quality; images and tokens from the response."""

    operation = "generate_content"

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        attrs = req.attributes
        attrs[sc.OUTPUT_TYPE] = "image"
        put(attrs, sc.REQUEST_CHOICE_COUNT, kwargs.get("n"))
        quality, size = _DEFAULTS.get(req.model or "", (None, None))
        asked_quality, asked_size = kwargs.get("quality"), kwargs.get("size")
        quality = asked_quality if isinstance(asked_quality, str) and asked_quality != "auto" else quality
        size = asked_size if isinstance(asked_size, str) and asked_size != "auto" else size
        if quality:
            attrs[sc.IMAGE_QUALITY] = quality
        if size:
            attrs[sc.IMAGE_SIZE] = size
        prompt = kwargs.get("prompt")
        if capture and isinstance(prompt, str):
            req.input_messages = [{"role": "user", "parts": [{"type": "text", "content": truncate(prompt, limit)}]}]

    def bind(self, req: GenAIRequest) -> _ImageReader:
        quality, size = req.attributes.get(sc.IMAGE_QUALITY), req.attributes.get(sc.IMAGE_SIZE)
        return _ImageReader(quality if isinstance(quality, str) else None, size if isinstance(size, str) else None)

    def response(self, result: Any, capture: bool, limit: int) -> GenAIResponse:
        return _ImageReader(None, None).response(result, capture, limit)

    def accumulator(self, capture: bool, limit: int) -> _ImageStream:
        return _ImageStream(_ImageReader(None, None))
