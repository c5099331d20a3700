"""Message content: off by default, opt-in to span attributes and/or the operation-details event."""

from __future__ import annotations

import json

import pytest

from tests.conftest import scenario

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the weather in Paris?"},
]
TOOLS = [{
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather by city", "parameters": {"type": "object"}},
}]
CONTENT_KEYS = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"}


def test_content_is_off_by_default(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert not CONTENT_KEYS & set(telemetry.one_genai_span().attributes)
    assert telemetry.logs() == []


@pytest.mark.parametrize("content_mode", ["span_only", "SPAN_ONLY"])
def test_span_only_puts_parts_shaped_json_on_the_span(client, telemetry):
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    attrs = telemetry.one_genai_span().attributes
    # the system message is part of the chat history: it stays in the input messages (the conventions' rule)
    assert "gen_ai.system_instructions" not in attrs
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "What is the weather in Paris?"}]},
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [{
        "role": "assistant",
        "parts": [{"type": "text", "content": completion.choices[0].message.content}],
        "finish_reason": "stop",
    }]
    assert telemetry.logs() == []


@pytest.mark.parametrize("content_mode", ["event_only"])
def test_event_only_emits_the_details_event_and_keeps_the_span_clean(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    span = telemetry.one_genai_span()
    assert not CONTENT_KEYS & set(span.attributes)
    [log] = telemetry.logs()
    record = log.log_record
    assert record.event_name == "gen_ai.client.inference.operation.details"
    assert record.trace_id == span.context.trace_id
    assert record.span_id == span.context.span_id
    # structured values on the event (the conventions' MUST), no body; DEBUG severity (their SHOULD)
    assert record.attributes["gen_ai.input.messages"][1]["parts"][0]["content"] == "What is the weather in Paris?"
    assert record.attributes["gen_ai.output.messages"][0]["role"] == "assistant"
    assert record.body is None
    assert record.severity_text == "DEBUG"
    assert record.attributes["gen_ai.operation.name"] == "chat"
    assert record.attributes["gen_ai.request.model"] == "gpt-4o-mini"


@pytest.mark.parametrize("content_mode", ["true", "span_and_event"])
def test_true_and_span_and_event_capture_both(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert "gen_ai.input.messages" in telemetry.one_genai_span().attributes
    assert len(telemetry.logs()) == 1


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_tool_calls_and_definitions_are_captured(client, telemetry):
    client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, extra_headers=scenario("tool_call")
    )

    attrs = telemetry.one_genai_span().attributes
    [output] = json.loads(attrs["gen_ai.output.messages"])
    [call] = [p for p in output["parts"] if p["type"] == "tool_call"]
    assert call["name"] == "get_weather"
    assert isinstance(call["arguments"], dict)
    assert output["finish_reason"] == "tool_call"  # the schema's value; the span keeps the provider's word
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert json.loads(attrs["gen_ai.tool.definitions"])[0]["name"] == "get_weather"


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_streamed_text_and_tool_calls_are_reassembled(client, telemetry):
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    [output] = json.loads(telemetry.one_genai_span().attributes["gen_ai.output.messages"])
    assert output["parts"] == [{"type": "text", "content": text}]

    telemetry.spans_exporter.clear()
    list(client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, tools=TOOLS, extra_headers=scenario("tool_call")
    ))
    [output] = json.loads(telemetry.one_genai_span().attributes["gen_ai.output.messages"])
    [call] = output["parts"]
    assert call["type"] == "tool_call" and call["name"] == "get_weather"


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_responses_api_content(client, telemetry):
    response = client.responses.create(model="gpt-4o-mini", instructions="Be brief.", input="Hello there")

    attrs = telemetry.one_genai_span().attributes
    assert json.loads(attrs["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(attrs["gen_ai.input.messages"])[0]["parts"][0]["content"] == "Hello there"
    [output] = json.loads(attrs["gen_ai.output.messages"])
    assert output["parts"][0]["content"] == response.output_text


def test_long_content_is_truncated_to_the_configured_length(client, telemetry, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")
    monkeypatch.setenv("OTEL_AI_CONTENT_MAX_LENGTH", "10")
    telemetry.reinstrument()
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "word " * 20}])

    [message] = json.loads(telemetry.one_genai_span().attributes["gen_ai.input.messages"])
    # cut at 10 characters, then back to the word boundary (a cut never leaves part of a token)
    assert message["parts"][0]["content"] == "word word …[truncated]"


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_images_audio_and_files_become_the_schemas_blob_uri_and_file_parts(client, telemetry):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    wav = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA="
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-abc123"}},
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}},
    ]}])
    [message] = json.loads(telemetry.one_genai_span().attributes["gen_ai.input.messages"])
    assert message["parts"] == [
        {"type": "text", "content": "What is this?"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": png},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
        {"type": "blob", "modality": "audio", "mime_type": "audio/wav", "content": wav},
        {"type": "file", "modality": "document", "file_id": "file-abc123"},
        {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": "JVBERi0x"},
    ]


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_a_large_inline_image_is_cut_to_the_content_limit(client, telemetry):
    data = "A" * 50_000
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}}]}])
    [message] = json.loads(telemetry.one_genai_span().attributes["gen_ai.input.messages"])
    [blob] = message["parts"]
    assert blob["mime_type"] == "image/jpeg" and len(blob["content"]) < len(data)


@pytest.mark.parametrize("content_mode", ["span_only"])
def test_a_responses_system_item_stays_in_the_history_and_images_by_file_id(client, telemetry):
    client.responses.create(model="gpt-4o-mini", instructions="Be brief.", input=[
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": [{"type": "input_text", "text": "Describe it"},
                                     {"type": "input_image", "file_id": "file-img1"}]},
    ])
    attrs = telemetry.one_genai_span().attributes
    assert json.loads(attrs["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Answer in French."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Describe it"},
                                   {"type": "file", "modality": "image", "file_id": "file-img1"}]},
    ]
