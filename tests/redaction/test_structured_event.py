"""Structured content on the details event: every nested string redacted, the shape kept (hypothesis).

On the `gen_ai.client.inference.operation.details` event the content attributes are structured values
(AnyValue arrays and maps), not JSON strings. A secret of any built-in kind planted anywhere in such a
value (a text part, a tool call's nested arguments, a dictionary key, a card number as an integer) goes
through the real pipeline: the recorder emits the event, the SDK's logger provider hands it to the
redacting log exporter, and the OTLP protobuf encoder writes the bytes a collector would receive. The
secret is in no byte of them; the value is still an OTLP array of kvlists with the same shape (lists of
the same lengths, maps with the same number of entries); and the span's JSON string, redacted by the
span exporter, holds the same document.
"""

from __future__ import annotations

import functools
import json
import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import ContentMode, GenAIRequest, GenAIResponse
from otel_ai.genai.recorder import GenAIRecorder
from otel_ai.privacy.exporters import RedactingLogExporter, RedactingSpanExporter
from tests.redaction.common import REDACTOR, SETTINGS, Secret
from tests.redaction.test_secrets_in_any_text import KINDS
from tests.support.leak_app import with_luhn

# Words around the secret: no digits, `@`, `-`, `_` or `.`, so they can neither form a secret nor extend one.
WORDS = st.text(alphabet=string.ascii_letters + " ,;!?", max_size=12)
BOUNDARY = st.sampled_from([" ", "\n", "\t", '"', "'", "(", ")", ": ", "\u00a0"])
LEAVES = st.one_of(WORDS, st.integers(-1000, 1000), st.booleans(), st.none(), st.floats(allow_nan=False, width=32))
# Nested tool-call arguments and tool parameters: maps and lists of plain leaves.
NESTED = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(st.text(string.ascii_lowercase, min_size=1,
                                                                              max_size=6), inner, max_size=3)),
                      max_leaves=8)
HOLE = "\u0000HOLE\u0000"  # where the secret goes; no generated text holds it


def _part(kind: str, value: Any) -> dict[str, Any]:
    if kind == "text":
        return {"type": "text", "content": value}
    return {"type": "tool_call", "id": "call_1", "name": "lookup", "arguments": value}


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[Any]]:
    """(attribute name, messages in the parts shape) with HOLE at one random string leaf or key."""
    name = draw(st.sampled_from([sc.INPUT_MESSAGES, sc.OUTPUT_MESSAGES, sc.SYSTEM_INSTRUCTIONS, sc.TOOL_DEFINITIONS]))
    if name == sc.TOOL_DEFINITIONS:
        items: list[Any] = [{"type": "function", "name": draw(WORDS), "parameters": draw(NESTED)}
                            for _ in range(draw(st.integers(1, 3)))]
    elif name == sc.SYSTEM_INSTRUCTIONS:
        items = [_part("text", draw(WORDS)) for _ in range(draw(st.integers(1, 3)))]
    else:
        items = [{"role": draw(st.sampled_from(["user", "assistant", "tool"])),
                  "parts": [_part(draw(st.sampled_from(["text", "tool_call"])), draw(st.one_of(WORDS, NESTED)))
                            for _ in range(draw(st.integers(1, 3)))]}
                 for _ in range(draw(st.integers(1, 3)))]
    slots = _slots(items)
    draw(st.sampled_from(slots))(HOLE)
    return name, items


def _slots(value: Any) -> list[Any]:
    """Setters, one per place a string can go: every string leaf (text included), and a new key of every map."""
    out: list[Any] = []
    if isinstance(value, dict):
        out.append(lambda text, d=value: d.__setitem__(text, "is a key"))
        for key, item in value.items():
            if isinstance(item, str):
                out.append(lambda text, d=value, k=key: d.__setitem__(k, f"{d[k]}{text}"))
            else:
                out.extend(_slots(item))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(lambda text, li=value, j=i: li.__setitem__(j, f"{li[j]}{text}"))
            else:
                out.extend(_slots(item))
    return out


def _fill(value: Any, text: str) -> Any:
    """`value` with HOLE replaced by `text` in every string and key."""
    if isinstance(value, dict):
        return {k.replace(HOLE, text): _fill(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, text) for v in value]
    return value.replace(HOLE, text) if isinstance(value, str) else value


def _skeleton(value: Any) -> Any:
    """The shape without the strings: list lengths and map sizes, leaves as their kind."""
    if isinstance(value, dict):
        return ("map", len(value), sorted((_skeleton(v) for v in value.values()), key=repr))
    if isinstance(value, (list, tuple)):
        return ("list", [_skeleton(v) for v in value])
    return "leaf"


def _plain(value: AnyValue) -> Any:
    """An OTLP AnyValue as Python, checking that structure arrived as arrays and kvlists."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    return None if kind is None else getattr(value, kind)


@functools.cache
def _pipeline() -> tuple[GenAIRecorder, InMemoryLogRecordExporter, InMemorySpanExporter]:
    """One recorder whose events and spans go through the redacting exporters into memory."""
    logs, spans = InMemoryLogRecordExporter(), InMemorySpanExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(RedactingLogExporter(logs, REDACTOR)))
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(spans, REDACTOR)))
    recorder = GenAIRecorder(None, content=ContentMode.SPAN_AND_EVENT, tracer_provider=tracer_provider,
                             logger_provider=logger_provider)
    return recorder, logs, spans


def _export(name: str, document: list[Any]) -> tuple[bytes, Any, str]:
    """The recorder's event and span for one call carrying `document`: (OTLP log bytes, the event's
    attribute as decoded from them, the span's redacted JSON string)."""
    recorder, logs, spans = _pipeline()
    logs.clear()
    spans.clear()
    request = GenAIRequest(operation="chat", provider="openai", model="gpt-4o-mini")
    response = GenAIResponse()
    field = {sc.INPUT_MESSAGES: "input_messages", sc.SYSTEM_INSTRUCTIONS: "system_instructions",
             sc.TOOL_DEFINITIONS: "tool_definitions"}.get(name)
    if field is None:
        response.output_messages = document
    else:
        setattr(request, field, document)
    inv = recorder.start(request)
    assert inv is not None
    recorder.end(inv, response)
    [record] = logs.get_finished_logs()
    [span] = spans.get_finished_spans()
    data = encode_logs([record])
    [attribute] = [kv.value for kv in data.resource_logs[0].scope_logs[0].log_records[0].attributes if kv.key == name]
    assert attribute.WhichOneof("value") == "array_value", "structured on the event, not a string"
    encode_spans([span])  # the span encodes too
    return data.SerializeToString(), _plain(attribute), str(span.attributes[name])


@given(document=documents(), secret=st.one_of(*KINDS.values()), left=BOUNDARY, right=BOUNDARY)
@SETTINGS
def test_a_secret_anywhere_in_a_structured_event_attribute_is_redacted(
    document: tuple[str, list[Any]], secret: Secret, left: str, right: str
) -> None:
    name, template = document
    planted = _fill(template, f"{left}{secret.text}{right}")
    wire, exported, span_json = _export(name, planted)
    assert secret.value.encode() not in wire, (secret.kind, secret.value)
    assert secret.value not in json.dumps(exported, ensure_ascii=False)
    assert "[REDACTED:" in json.dumps(exported, ensure_ascii=False)
    assert _skeleton(exported) == _skeleton(planted)
    # the span carries the same document as a JSON string, redacted alike
    assert secret.value not in span_json
    assert _skeleton(json.loads(span_json)) == _skeleton(planted)


@given(document=documents(), digits=st.text(string.digits, min_size=14, max_size=14))
@SETTINGS
def test_a_card_number_as_an_integer_in_a_structured_event_attribute_is_redacted(
    document: tuple[str, list[Any]], digits: str
) -> None:
    """Content is app data: long integers are checked as text there, nested in maps and arrays as in a JSON string."""
    name, template = document
    card = with_luhn("4" + digits)  # a 16-digit Visa number
    planted = _fill(template, "word")
    _first_container(planted)["card"] = int(card)
    _, exported, span_json = _export(name, planted)
    assert _first_container(exported)["card"] == "[REDACTED:card_number]"  # an integer on the wire is no text
    assert card not in json.dumps(exported) and card not in span_json


def _first_container(value: list[Any]) -> dict[str, Any]:
    """The first map of the document (every document has one: a message, a part or a definition)."""
    first = value[0]
    assert isinstance(first, dict)
    return first


def test_a_clean_structured_event_attribute_is_exported_unchanged() -> None:
    """Nothing to redact: the event's value is the span's document, kept to the byte (and no redaction count)."""
    messages = [{"role": "user", "parts": [{"type": "text", "content": "Grüße aus Köln"}]},
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f",
                                                 "arguments": {"city": "Paris", "days": [1, 2], "ok": True}}]}]
    wire, exported, span_json = _export(sc.INPUT_MESSAGES, messages)
    assert exported == messages == json.loads(span_json)
    assert b"otel_ai.redacted.count" not in wire
