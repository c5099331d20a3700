"""OTEL_AI_STREAM_USAGE=estimate: offline tiktoken counts for streams that end without usage.

The encodings come from the bpe-openai package (installed by `otel-ai[estimate]`, part of the test
extra); tiktoken builds them. Counts are checked against published token ids and against
bpe-openai's own tokenizer (an independent implementation in Rust).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from otel_ai import agent_warnings
from otel_ai.instrumentation.openai import tokens
from otel_ai.runtime import state as _state
from tests.conftest import scenario

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Stream a short greeting for the tests", "name": "tester"},
]
# bpe-openai's own reference tokenizer opens its data with a deprecated importlib call.
pytestmark = pytest.mark.filterwarnings("ignore:open_binary is deprecated:DeprecationWarning")
TEXTS = ["tiktoken is great!", "hello world", "Grüße aus Köln — 東京 🎉", "def f(x):\n    return x ** 2\n", ""]


@pytest.fixture
def mode(monkeypatch: pytest.MonkeyPatch, telemetry: Any) -> Any:
    def set_mode(value: str) -> None:
        monkeypatch.setenv("OTEL_AI_STREAM_USAGE", value)
        _state.reset()

    return set_mode


def reference(name: str) -> Any:
    import bpe_openai

    return bpe_openai.get_encoding(name)


def test_published_token_ids() -> None:
    # tiktoken's README and OpenAI's cookbook give these ids.
    assert tokens._encoding("cl100k_base").encode("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert tokens._encoding("o200k_base").encode("hello world") == [24912, 2375]


@pytest.mark.parametrize("name", tokens.ENCODINGS)
def test_counts_match_an_independent_tokenizer(name: str) -> None:
    ours, theirs = tokens._encoding(name), reference(name)
    for text in TEXTS:
        assert ours.encode_ordinary(text) == theirs.encode(text), text


def test_models_map_to_the_encodings_tiktoken_gives_them() -> None:
    assert tokens.encoding_for("gpt-4o-mini") == "o200k_base"
    assert tokens.encoding_for("gpt-4.1-2025-04-14") == "o200k_base"
    assert tokens.encoding_for("gpt-4") == "cl100k_base"
    assert tokens.encoding_for("deepseek-chat") is None  # tiktoken does not know it: no estimate
    assert tokens.encoding_for("text-davinci-003") is None  # p50k_base: not shipped offline
    assert tokens.encoding_for(None) is None


def test_a_file_that_is_not_tiktokens_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = gzip.decompress((tokens._data_folder() / "cl100k_base.tiktoken.gz").read_bytes())  # type: ignore[operator]
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(gzip.compress(good.replace(b" 0\n", b" 1\n", 1)))
    monkeypatch.setattr(tokens, "_data_folder", lambda: tmp_path)
    monkeypatch.setattr(tokens, "_loaded", {})
    agent_warnings.reset()
    assert tokens._encoding("cl100k_base") is None
    assert agent_warnings.counts().get("stream_usage.estimate_unavailable") == 1


def test_input_count_follows_the_chat_recipe() -> None:
    enc = reference("o200k_base")
    expected = 3 + sum(
        3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"])) + (1 + len(enc.encode(m["name"])) if "name" in m
                                                                         else 0)
        for m in MESSAGES
    )
    assert tokens.count_input("o200k_base", MESSAGES, None) == expected
    parts = [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]
    assert tokens.count_input("o200k_base", parts, None) == 3 + 3 + 1 + 2
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]
    assert tokens.count_input("o200k_base", image, None) is None  # an image's tokens are not countable here


def test_stream_without_usage_gets_an_estimate(client, sim, telemetry, mode):
    mode("estimate")
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert "stream_options" not in sim.requests_for("/chat/completions")[-1].json  # estimate alone sends as is
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    enc = reference("o200k_base")
    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.usage.estimated"] is True
    assert attrs["gen_ai.usage.input_tokens"] == tokens.count_input("o200k_base", MESSAGES, None)
    assert attrs["gen_ai.usage.output_tokens"] == len(enc.encode(text)) > 0
    assert attrs["otel_ai.cost.usd"] > 0
    assert attrs["otel_ai.pricing.source"] == "catalog"  # the price is the catalog's; the counts are not
    assert {labels["gen_ai.token.type"] for labels, _ in telemetry.points("gen_ai.client.token.usage")} == {
        "input", "output",
    }


async def test_async_stream_tool_call_gets_an_estimate(aclient, telemetry, mode):
    mode("estimate")
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=scenario("tool_call"))
    calls = [c.choices[0].delta.tool_calls[0] async for c in stream if c.choices and c.choices[0].delta.tool_calls]
    pieces = [calls[0].function.name] + [call.function.arguments for call in calls]

    attrs = dict(telemetry.one_genai_span().attributes)
    assert attrs["otel_ai.usage.estimated"] is True
    assert attrs["gen_ai.usage.output_tokens"] == len(reference("o200k_base").encode("".join(pieces)))


def test_reported_usage_wins_over_the_estimate(client, telemetry, mode):
    mode("inject,estimate")
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    attrs = dict(telemetry.one_genai_span().attributes)
    assert "otel_ai.usage.estimated" not in attrs
    assert attrs["gen_ai.usage.input_tokens"] > 0


def test_unknown_model_and_images_get_no_estimate(client, telemetry, mode):
    mode("estimate")
    list(client.chat.completions.create(model="deepseek-chat", messages=MESSAGES, stream=True))
    image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}]
    list(client.chat.completions.create(model="gpt-4o-mini", messages=image, stream=True))
    for span in telemetry.genai_spans():
        assert "gen_ai.usage.input_tokens" not in span.attributes
        assert "otel_ai.usage.estimated" not in span.attributes
        assert "otel_ai.cost.usd" not in span.attributes
