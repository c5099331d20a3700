"""Evaluation results (`gen_ai.evaluation.result`) as `evaluations` rows, from span events and log records.

The conventions allow an evaluation as an event on the evaluated span or as a log record carrying its trace
and span id; `otel_ai.evaluate()` sends one or the other, other emitters may send both. The rule that keeps
one evaluation counted once: its identity is the evaluated span (trace and span id; without them, the
`gen_ai.response.id`), the evaluation name, the score and the label. A second result with the same
identity (the same result as a span event and as a log record, or sent again) is a duplicate; the first
stored is kept. A result with neither a span nor a response id is never a duplicate of another.
Pure: the store decides what is new (ingest.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["EVENT", "evaluation_row"]

EVENT = "gen_ai.evaluation.result"
_NAME_LENGTH = 256  # like the call table's dimensions


def _text(value: Any, limit: int | None = None) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value[:limit] if limit else value


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def evaluation_row(
    attributes: Mapping[str, Any], *, time_ns: int, trace_id: str | None, span_id: str | None,
    service: str | None, source: str, unique: str,
) -> dict[str, Any] | None:
    """The row of one evaluation result, or None without an evaluation name.

    `source` is `span_event` or `log`; `unique` tells this record from every other one (the log id, or the
    span and the event's index), used in the identity only when there is no span and no response id."""
    name = _text(attributes.get("gen_ai.evaluation.name"), _NAME_LENGTH)
    if name is None:
        return None
    score = _score(attributes.get("gen_ai.evaluation.score.value"))
    label = _text(attributes.get("gen_ai.evaluation.score.label"), _NAME_LENGTH)
    response_id = _text(attributes.get("gen_ai.response.id"), _NAME_LENGTH)
    if trace_id and span_id:
        target: list[Any] = ["span", trace_id, span_id]
    elif response_id:
        target = ["response", response_id]
    else:
        target = ["record", unique]
    identity = json.dumps([*target, name, score, label], separators=(",", ":"))
    conversation = _text(attributes.get("gen_ai.conversation.id"), _NAME_LENGTH)
    return {
        "evaluation_id": hashlib.blake2b(identity.encode(), digest_size=16).hexdigest(),
        "time_ns": time_ns,
        "trace_id": trace_id if trace_id and span_id else None,
        "span_id": span_id if trace_id and span_id else None,
        "name": name,
        "score": score,
        "label": label,
        "explanation": _text(attributes.get("gen_ai.evaluation.explanation")),
        "response_id": response_id,
        "conversation_id": conversation or "",
        "service": service,
        "source": source,
    }
