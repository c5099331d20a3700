"""Read the spans the SDK's console exporter printed to stdout (JSON objects between the app's own lines)."""

from __future__ import annotations

import json
from typing import Any


def exported_spans(stdout: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    spans, index = [], 0
    while (index := stdout.find('{\n    "name"', index)) >= 0:
        span, end = decoder.raw_decode(stdout, index)
        spans.append(span)
        index = end
    return spans
