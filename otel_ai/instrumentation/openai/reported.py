"""What an OpenAI-compatible gateway says a call cost: OpenRouter's `usage.cost`, a LiteLLM proxy's header.

In the body: `usage.cost` is what OpenRouter charged for the call (its credits are US dollars), in a
whole response and in a stream's last (usage) chunk; a LiteLLM proxy puts it there too in a stream when
configured to (`include_cost_in_streaming_usage`). With the user's own provider key (`usage.is_byok`)
it is only OpenRouter's fee: the call cost that plus `usage.cost_details.upstream_inference_cost`,
and without that figure nothing is taken (the catalog prices the call, or it is unpriced).

In the headers: a LiteLLM proxy sends `x-litellm-response-cost` (USD, a decimal). The client hands the
caller the parsed body only, so `_process_response` of the client classes is watched: it notes the
header of each response together with the span current while it ran (ours, during a call we record),
and the call takes the figure only if that span is its own. A streamed answer's headers leave before
anything is generated, so there the header is not read: the cost comes from the last chunk, if at all.

The recorder prices a call that has such a figure with it, source `provider`, ahead of any catalog price.
"""

from __future__ import annotations

import math
import sys
from contextvars import ContextVar
from typing import Any

import wrapt
from opentelemetry import trace

from otel_ai.genai.model import GenAIResponse
from otel_ai.guard import report
from otel_ai.instrumentation.openai.content import get

__all__ = ["HEADER", "amount", "body_cost", "from_headers", "install", "take", "uninstall", "with_header"]

HEADER = "x-litellm-response-cost"
_OWNERS = ("SyncAPIClient", "AsyncAPIClient")
_METHOD = "_process_response"
# (the span current when the response arrived, the figure its header gave)
_noted: ContextVar[tuple[object, float] | None] = ContextVar("otel_ai_reported_cost", default=None)


def amount(value: Any) -> float | None:
    """A finite, non-negative number of US dollars (a JSON number or a decimal string); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def body_cost(cost: Any, is_byok: Any, details: Any) -> float | None:
    """The call's cost from a usage object's `cost` (OpenRouter), its BYOK upstream cost added."""
    total = amount(cost)
    if total is None or is_byok is not True:
        return total
    upstream = amount(get(details, "upstream_inference_cost")) if details is not None else None
    return None if upstream is None else total + upstream


def from_headers(headers: Any) -> float | None:
    """The figure of a response's `x-litellm-response-cost` header, if it has a usable one."""
    raw = headers.get(HEADER) if headers is not None else None
    return None if raw is None else amount(raw)


def with_header(resp: GenAIResponse, value: float | None) -> GenAIResponse:
    """`resp` with the header's figure as its reported cost, unless its body reported one (the body wins)."""
    if value is not None and resp.usage.reported_cost_usd is None:
        resp.usage.reported_cost_usd = value
    return resp


def take(span: object) -> float | None:
    """The header figure noted while `span` was current (once); None if the last response noted was another's."""
    noted = _noted.get()
    if noted is None or noted[0] is not span:
        return None
    _noted.set(None)
    return noted[1]


def _note(kwargs: dict[str, Any]) -> None:
    try:
        if kwargs.get("stream") is True:  # a stream's header is not its cost (see above)
            if _noted.get() is not None:
                _noted.set(None)
            return
        response = kwargs.get("response")
        value = from_headers(getattr(response, "headers", None))
        if value is not None:
            _noted.set((trace.get_current_span(), value))
        elif _noted.get() is not None:
            _noted.set(None)
    except Exception as exc:
        report("openai.reported_cost", exc)


def _sync(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    _note(kwargs)
    return wrapped(*args, **kwargs)


async def _async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    _note(kwargs)
    return await wrapped(*args, **kwargs)


def install() -> None:
    """Watch the clients' response processing (the openai package is imported by then)."""
    module = sys.modules.get("openai._base_client")
    for name, wrapper in zip(_OWNERS, (_sync, _async), strict=True):
        owner = getattr(module, name, None)
        if owner is None or _METHOD not in vars(owner) or isinstance(vars(owner)[_METHOD], wrapt.FunctionWrapper):
            continue
        try:
            wrapt.wrap_function_wrapper(owner, _METHOD, wrapper)
        except Exception as exc:
            report("openai.reported_cost.wrap", exc)


def uninstall() -> None:
    module = sys.modules.get("openai._base_client")
    for name in _OWNERS:
        owner = getattr(module, name, None)
        current = vars(owner).get(_METHOD) if owner is not None else None
        if isinstance(current, wrapt.FunctionWrapper):
            setattr(owner, _METHOD, current.__wrapped__)
