"""A finished span as a plain dict, for whole-span snapshot tests (inline-snapshot).

`span_snapshot(span)` keeps what a provider's instrumentation decides (name, kind, status, every
attribute, events, links, the instrumentation scope) and leaves out or normalises what changes from
run to run, so that one `assert span_snapshot(span) == snapshot({...})` replaces a list of attribute
asserts and fails on any attribute added, dropped or changed:

* ids, timestamps and durations are left out (parent and links are shown as present or not);
* timings (`TIMINGS`, and any `volatile` names a test adds) become their type, `"<float>"`, so the
  snapshot still says the attribute is there and of which type;
* `known` values, ones the test can compute (the simulator's port, a response id, a byte count),
  become `"<name>"` when the span's value equals them (`pytest.approx` works), and stay as they are
  otherwise, which makes the snapshot fail;
* an exception event's stack trace becomes `"<stacktrace>"`;
* the default cost mirror (`OTEL_AI_COST_ATTRIBUTES`: `gen_ai.usage.cost.amount`, `.currency`, `.source`)
  is left out when it repeats `otel_ai.cost.usd` in USD from our own price table, as it must; anything
  else (a different amount, a mirror without our cost) stays and fails the snapshot. Its own tests are
  tests/test_cost_shapes.py.

Snapshots are written by `pytest --inline-snapshot=create` (new ones) or `=fix` (changed ones), then
read in review like any code; a plain run only compares (pyproject.toml, `[tool.inline-snapshot]`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.util.types import Attributes

# Attributes that measure time: their values differ on every run.
TIMINGS = frozenset({
    "gen_ai.response.time_to_first_chunk",
    "otel_ai.audio.real_time_factor",
    "elevenlabs.tts_latency_ms",
})
STACKTRACE = "exception.stacktrace"
COST_MIRROR = {"gen_ai.usage.cost.currency": "USD", "gen_ai.usage.cost.source": "local"}


def _without_cost_mirror(attributes: Attributes) -> Attributes:
    """The span's attributes less the default cost mirror, when it repeats `otel_ai.cost.usd` exactly."""
    if not attributes or "gen_ai.usage.cost.amount" not in attributes:
        return attributes
    mirror = {"gen_ai.usage.cost.amount": attributes.get("otel_ai.cost.usd"), **COST_MIRROR}
    if any(attributes.get(name) != value for name, value in mirror.items()):
        return attributes
    return {name: value for name, value in attributes.items() if name not in mirror}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _attributes(attributes: Attributes, known: Mapping[str, object], volatile: frozenset[str]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for key, value in sorted((attributes or {}).items()):
        if key in known and value == known[key]:
            plain[key] = f"<{key}>"
        elif key in known:
            plain[key] = _plain(value)  # not the value the test expects: the snapshot shows it and fails
        elif key in volatile:
            plain[key] = f"<{type(value).__name__}>"
        elif key == STACKTRACE:
            plain[key] = "<stacktrace>"
        else:
            plain[key] = _plain(value)
    return plain


def span_snapshot(
    span: ReadableSpan, *, known: Mapping[str, object] | None = None, volatile: Iterable[str] = (),
) -> dict[str, Any]:
    """The span as a plain dict: what its instrumentation decided, without what changes run to run."""
    known = known or {}
    volatile_names = TIMINGS | frozenset(volatile)
    plain: dict[str, Any] = {
        "name": span.name,
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "attributes": _attributes(_without_cost_mirror(span.attributes), known, volatile_names),
    }
    if span.status.description:
        plain["status_description"] = span.status.description
    if span.parent is not None:
        plain["parent"] = "remote" if span.parent.is_remote else "local"
    if span.events:
        plain["events"] = [
            {"name": event.name, "attributes": _attributes(event.attributes, known, volatile_names)}
            for event in span.events
        ]
    if span.links:
        plain["links"] = [_attributes(link.attributes, known, volatile_names) for link in span.links]
    if span.instrumentation_scope is not None:
        plain["scope"] = span.instrumentation_scope.name
    return plain
