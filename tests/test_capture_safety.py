"""Capture never changes what is sent, never costs the call its span, and never leaks a key.

Content capture reads the caller's request: one-shot iterables must reach the provider whole, odd
shapes cost at most the content, truncation leaves no piece of a secret, and a key the client
resolves per request (`api_key=callable`) is registered before the span that may echo it ends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
import wrapt
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai import guard
from otel_ai.instrumentation.openai.content import TRUNCATED, truncate
from otel_ai.privacy import RedactingSpanExporter, secrets
from otel_ai.runtime import state
from tests.conftest import scenario


@pytest.fixture
def content_mode() -> str:
    return "span_and_event"


def once(items: list[Any]) -> Iterator[Any]:
    """A generator over `items`: readable exactly once, like the caller's own generators."""
    yield from items


def uninstrumented(method: Any) -> Callable[..., Any]:
    """The client method as it is without the agent (wrapt keeps the original on the bound wrapper)."""
    assert isinstance(method, wrapt.BoundFunctionWrapper), "not instrumented"
    return method.__wrapped__  # type: ignore[no-any-return]


def last_body(sim: Any, path: str) -> Any:
    return sim.requests_for(path)[-1].json


def captured(telemetry: Any, key: str) -> Any:
    value = telemetry.one_genai_span().attributes.get(key)
    return None if value is None else json.loads(value)


# -- one-shot iterables reach the provider whole ---------------------------------------------------

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def _chat_messages(field: str) -> Callable[[Callable[[list[Any]], Any]], dict[str, Any]]:
    """Chat request kwargs where `field` is made by `wrap` (`once` for a generator, `list` for a list)."""

    def build(wrap: Callable[[list[Any]], Any]) -> dict[str, Any]:
        messages: list[Any] = [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ]
        kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "tools": [TOOL]}
        if field == "content parts":
            messages[1] = {"role": "user", "content": wrap([{"type": "text", "text": "Weather in Paris?"}])}
        elif field == "tool_calls":
            messages[2] = {"role": "assistant", "content": None, "tool_calls": wrap([CALL])}
        elif field == "tools":
            kwargs["tools"] = wrap([TOOL])
        kwargs["messages"] = wrap(messages) if field == "messages" else messages
        return kwargs

    return build


@pytest.mark.parametrize("field", ["messages", "tools", "content parts", "tool_calls"])
def test_one_shot_chat_fields_reach_the_provider_whole(client, sim, telemetry, field):
    build = _chat_messages(field)
    uninstrumented(client.chat.completions.create)(**build(once))
    expected = last_body(sim, "/chat/completions")
    assert telemetry.genai_spans() == []

    client.chat.completions.create(**build(once))

    assert last_body(sim, "/chat/completions") == expected
    listed = build(list)
    assert expected["messages"] == listed["messages"]  # the generator's items, not an empty list
    assert expected["tools"] == listed["tools"]
    telemetry.one_genai_span()


def test_lists_of_every_field_are_still_captured(client, telemetry):
    client.chat.completions.create(**_chat_messages("none")(list))

    assert captured(telemetry, "gen_ai.system_instructions") is None  # the system message is in the history
    system, user, assistant, tool = captured(telemetry, "gen_ai.input.messages")
    assert system == {"role": "system", "parts": [{"type": "text", "content": "Be terse."}]}
    assert user == {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    assert assistant["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert tool["parts"][0]["response"] == "sunny"
    assert captured(telemetry, "gen_ai.tool.definitions")[0]["name"] == "get_weather"


def test_one_shot_parts_are_left_out_of_capture_not_read(client, telemetry):
    client.chat.completions.create(**_chat_messages("content parts")(once))

    user = captured(telemetry, "gen_ai.input.messages")[1]
    assert user == {"role": "user", "parts": []}  # skipped: reading it would have emptied the request


def test_one_shot_responses_content_reaches_the_provider_whole(client, sim, telemetry):
    def build() -> dict[str, Any]:
        item = {"role": "user", "content": once([{"type": "input_text", "text": "Hello there"}])}
        return {"model": "gpt-4o-mini", "input": [item], "tools": once([{"type": "function", "name": "f"}])}

    uninstrumented(client.responses.create)(**build())
    expected = last_body(sim, "/responses")

    client.responses.create(**build())

    assert last_body(sim, "/responses") == expected
    assert expected["input"] == [{"role": "user", "content": [{"type": "input_text", "text": "Hello there"}]}]
    assert expected["tools"] == [{"type": "function", "name": "f"}]
    telemetry.one_genai_span()


def test_one_shot_responses_input_is_not_consumed(client, sim, telemetry):
    """The client cannot send an iterator `input`; it must fail the same way, with the iterator unread."""
    items = [{"role": "user", "content": "Hello there"}]
    bare = iter(items)
    with pytest.raises(TypeError) as expected:
        uninstrumented(client.responses.create)(model="gpt-4o-mini", input=bare)
    assert list(bare) == items

    instrumented = iter(items)
    with pytest.raises(TypeError) as raised:
        client.responses.create(model="gpt-4o-mini", input=instrumented)

    assert str(raised.value) == str(expected.value)
    assert list(instrumented) == items
    assert telemetry.one_genai_span().attributes["error.type"] == "TypeError"


def test_responses_input_list_is_still_captured(client, telemetry):
    client.responses.create(
        model="gpt-4o-mini",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello there"}]}],
    )
    assert captured(telemetry, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Hello there"}]}
    ]


# -- odd shapes cost the content at most, never the span ---------------------------------------------


class OddMapping(dict):  # type: ignore[type-arg]
    """A message the client serializes as a dict but whose `get` fails: reading it raises."""

    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("odd mapping")


def _assistant(**call: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", **call}] * 5}


ODD_MESSAGES = {
    "tool_calls is an int": [{"role": "assistant", "content": None, "tool_calls": 5}],
    "messages that are not mappings": [42, "hello", ["a", "b"], {"role": "user", "content": "hi"}],
    "arguments as a dict": [_assistant(function={"name": "f", "arguments": {"a": 1}})],
    "arguments as a number": [_assistant(function={"name": "f", "arguments": 7})],
    "arguments nested too deep to parse": [
        _assistant(function={"name": "f", "arguments": "[" * 100_000 + "]" * 100_000})
    ],
    "function as a string": [_assistant(function="f")],
    "tool calls as lists": [{"role": "assistant", "tool_calls": [["c1", "f"]] * 5}],
    "a mapping whose get raises": [OddMapping(role="user", content="hi")],
}


def _outcome(call: Callable[[], Any], sim: Any) -> tuple[str, Any]:
    try:
        call()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}", None
    return "ok", last_body(sim, "/chat/completions")


@pytest.mark.parametrize("messages", ODD_MESSAGES.values(), ids=ODD_MESSAGES.keys())
def test_odd_shapes_keep_the_call_and_its_span(client, sim, telemetry, messages):
    kwargs = {"model": "gpt-4o-mini", "messages": messages, "temperature": 0.5}
    expected = _outcome(lambda: uninstrumented(client.chat.completions.create)(**kwargs), sim)

    assert _outcome(lambda: client.chat.completions.create(**kwargs), sim) == expected
    span = telemetry.one_genai_span()
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert span.attributes["gen_ai.request.temperature"] == 0.5


def test_a_content_failure_costs_only_the_content(client, telemetry):
    before = guard.failures.get("openai.request", 0)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[OddMapping(role="user", content="hi")], temperature=0.5, max_tokens=20
    )

    span = telemetry.one_genai_span()
    assert guard.failures["openai.request"] == before + 1
    assert span.attributes["gen_ai.request.temperature"] == 0.5
    assert span.attributes["gen_ai.request.max_tokens"] == 20
    assert span.attributes["gen_ai.usage.output_tokens"] > 0  # the response was still read
    assert "gen_ai.input.messages" not in span.attributes


# -- truncation leaves no piece of a secret ------------------------------------------------------------

SECRETS = {
    "openai key": "sk-proj-Zq4bX9mT2vLp7RkW3nYc8HdF6sJa1GeU5oQiVx0Nt",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "card": "4111 1111 1111 1111",
}
PREFIX = "Here it is, keep it safe: "


def pieces(secret: str, size: int = 8) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_no_cut_leaves_a_piece_of_a_secret(secret):
    text = f"{PREFIX}{secret} and then some more words."
    for limit in range(len(PREFIX) + 1, len(PREFIX) + len(secret)):
        out = truncate(text, limit)
        assert out == PREFIX + TRUNCATED, (limit, out)
        assert not {p for p in pieces(secret) if p in out}, (limit, out)


@pytest.mark.parametrize(
    ("text", "limit", "kept"),
    [
        ("The quick brown fox jumps over the lazy dog", 22, "The quick brown fox "),  # mid-word: back to a space
        ("The quick brown fox jumps over the lazy dog", 20, "The quick brown fox "),  # at a word's start
        ("The quick brown fox jumps over the lazy dog", 19, "The quick brown fox"),  # at a word's end
        ("Ship it to me@example.com today", 20, "Ship it to "),
        ("GET /v1?key=sk%2Bproj%2FZq4bX9mT2vLp7RkW HTTP/1.1", 30, "GET /v1?"),  # %-escaped, in a query
        ("key\nsk-proj-Zq4bX9mT2vLp7RkW3nYc8HdF\r\nWcXy1234 done", 40, ""),  # a token wrapped over lines
        ("First line.\n\nSecond paragraph", 15, "First line.\n\n"),
        ("一二三四五六七八九十", 4, "一二三四"),  # no spaces to find a word in: cut where it falls
    ],
)
def test_prose_is_kept_up_to_a_word_boundary(text, limit, kept):
    assert truncate(text, limit) == kept + TRUNCATED


def test_short_text_is_untouched():
    assert truncate("sk-proj-abc", 11) == "sk-proj-abc"


def test_secrets_straddling_the_limit_leave_no_piece_in_captured_content(client, telemetry, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_and_event")
    limit = len(PREFIX) + 12
    monkeypatch.setenv("OTEL_AI_CONTENT_MAX_LENGTH", str(limit))
    telemetry.reinstrument()
    messages = [{"role": "user", "content": f"{PREFIX}{secret} - please store it."} for secret in SECRETS.values()]
    messages.append({"role": "system", "content": f"{PREFIX}{SECRETS['jwt']}"})
    tool_args = json.dumps({"note": "x"})[:-1] + ', "key": "' + SECRETS["openai key"]  # not JSON: kept as text
    messages.append(_assistant(function={"name": "f", "arguments": tool_args}))

    client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    span = telemetry.one_genai_span()
    [log] = telemetry.logs()
    exported = [json.dumps(dict(span.attributes)), json.dumps(dict(log.log_record.attributes))]
    exported.append(json.dumps(log.log_record.body, default=str))
    for secret in SECRETS.values():
        for text in exported:
            assert not {p for p in pieces(secret) if p in text}, secret
    [first, *_] = json.loads(span.attributes["gen_ai.input.messages"])
    assert first["parts"][0]["content"] == PREFIX + TRUNCATED


# -- a key resolved per request is registered before the span ends -------------------------------------


def _unique_key() -> str:
    """A key of no known format, new per test: only registration can get it redacted."""
    key = f"acme-rotating-token-{uuid.uuid4().hex[:12]}-QuietMeadow"
    text, _ = state.redactor().redact(f"the key {key} here")
    assert key in text, "a pattern already matches the test key: pick another shape"
    return key


def _is_known(key: str) -> bool:
    return key in secrets._known


def test_a_callable_key_is_registered_sync(sim, telemetry):
    key = _unique_key()
    with (
        openai.OpenAI(base_url=sim.base_url, api_key=lambda: key, max_retries=0) as client,
        pytest.raises(openai.AuthenticationError),
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=scenario("auth_error")
        )
    assert sim.requests_for("/chat/completions")[-1].api_key == key
    assert _is_known(key)
    telemetry.one_genai_span()


async def test_a_callable_key_is_registered_async(sim, telemetry):
    key = _unique_key()

    async def resolve() -> str:
        return key

    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=resolve, max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=scenario("auth_error")
            )
    assert sim.requests_for("/chat/completions")[-1].api_key == key
    assert _is_known(key)
    telemetry.one_genai_span()


def test_a_callable_key_is_registered_on_success(sim, telemetry):
    key = _unique_key()
    with openai.OpenAI(base_url=sim.base_url, api_key=lambda: key, max_retries=0) as client:
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert _is_known(key)


def test_the_admin_key_is_registered(sim, telemetry):
    admin = _unique_key()
    with openai.OpenAI(base_url=sim.base_url, api_key="sk-test-plain-0123456789", admin_api_key=admin) as client:
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert _is_known(admin)


@pytest.fixture
def redacted_at_span_end(telemetry):
    """Spans as a synchronous exporter sees them at span end (like the console exporter), redacted."""
    exported = InMemorySpanExporter()
    processor = SimpleSpanProcessor(RedactingSpanExporter(exported, state.redactor()))
    telemetry.providers["tracer_provider"].add_span_processor(processor)
    return exported


def _echoed(key: str) -> dict[str, str]:
    """The simulator repeats an unknown scenario name in its 400 error: it echoes `key` back."""
    return {"x-simulator-scenario": key}


def _assert_redacted(exported: InMemorySpanExporter, telemetry: Any, key: str) -> None:
    raw = telemetry.one_genai_span()
    [span] = [s for s in exported.get_finished_spans() if s.context.span_id == raw.context.span_id]
    assert key not in (span.status.description or "")
    [event] = [e for e in span.events if e.name == "exception"]
    assert key not in json.dumps(dict(event.attributes or {}))


def test_an_echoed_callable_key_is_redacted_when_the_span_ends(sim, telemetry, redacted_at_span_end):
    key = _unique_key()
    with (
        openai.OpenAI(base_url=sim.base_url, api_key=lambda: key, max_retries=0) as client,
        pytest.raises(openai.BadRequestError, match=key),
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=_echoed(key)
        )
    _assert_redacted(redacted_at_span_end, telemetry, key)


async def test_an_echoed_async_callable_key_is_redacted_when_the_span_ends(sim, telemetry, redacted_at_span_end):
    key = _unique_key()

    async def resolve() -> str:
        return key

    async with openai.AsyncOpenAI(base_url=sim.base_url, api_key=resolve, max_retries=0) as client:
        with pytest.raises(openai.BadRequestError, match=key):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=_echoed(key)
            )
    _assert_redacted(redacted_at_span_end, telemetry, key)
