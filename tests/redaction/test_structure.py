"""The walk over structured values: sequences, dict keys, numbers, credential names, content documents.

Sequences and other types through `redact_value`; keys, long integers and values named like
credentials through the walk; content attributes redacted as JSON that always parses.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from otel_ai.privacy.patterns import (
    credential_name,
    parse_patterns,
)
from otel_ai.privacy.redactor import Redactor, walk
from tests.redaction.common import (
    AWS_ACCESS_KEY,
    CARD_VISA,
    EMAIL,
)

# --------------------------------------------------------------------------------------------
# redact_value
# --------------------------------------------------------------------------------------------


def test_redact_value_handles_strings_sequences_and_leaves_other_types() -> None:
    redactor = Redactor()
    value, counts = redactor.redact_value(("ok", EMAIL, f"key {AWS_ACCESS_KEY}"))
    assert value == ("ok", "[REDACTED:email]", "key [REDACTED:aws_access_key]")
    assert counts == Counter({"email": 1, "aws_access_key": 1})

    clean = ("a", "b")
    assert redactor.redact_value(clean)[0] is clean
    assert redactor.redact_value(clean)[1] is None
    for other in (5, 2.5, True, None, (1, 2, 3), b"sk-bytes-are-not-inspected"):
        result, counts = redactor.redact_value(other)
        assert result is other and counts is None

    nested = {"messages": [{"role": "user", "content": f"my card is {CARD_VISA}"}], "n": 1}
    result, counts = redactor.redact_value(nested)
    assert result == {"messages": [{"role": "user", "content": "my card is [REDACTED:card_number]"}], "n": 1}
    assert counts == Counter({"card_number": 1})
    assert nested["messages"][0]["content"] == f"my card is {CARD_VISA}"  # input not mutated


# --------------------------------------------------------------------------------------------
# Structure: keys, numbers, credential names, content documents
# --------------------------------------------------------------------------------------------


def _walked(value: Any, *, numbers: bool = False, redactor: Redactor | None = None) -> tuple[Any, Counter[str]]:
    counts: Counter[str] = Counter()
    return walk(value, (redactor or Redactor()).leaf(counts), numbers=numbers), counts


def test_dict_keys_and_long_integers_in_bodies_are_redacted():
    body = {"jane@example.com": {"card": 4770310296826624, "count": 12, "flag": True}, "ok": 1.5}
    new, counts = _walked(body, numbers=True)
    assert new == {"[REDACTED:email]": {"card": "[REDACTED:card_number]", "count": 12, "flag": True}, "ok": 1.5}
    assert counts == Counter({"email": 1, "card_number": 1})
    assert body["jane@example.com"]["card"] == 4770310296826624  # the app's object is untouched


def test_integers_in_span_attributes_are_not_touched():
    new, counts = _walked({"gen_ai.request.seed": 4770310296826624})
    assert new == {"gen_ai.request.seed": 4770310296826624} and not counts


def test_two_keys_redacted_alike_stay_two_entries():
    new, _ = _walked({"a@example.com": 1, "b@example.com": 2})
    assert sorted(new.values()) == [1, 2]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("http.request.header.x-internal-token", True),
        ("http.request.header.authorization", True),
        ("http.response.header.set-cookie", True),
        ("x-api-key", True),
        ("client_secret", True),
        ("apiKey", True),
        ("db_password", True),
        ("gen_ai.usage.input_tokens", False),
        ("gen_ai.token.type", False),
        ("max_tokens", False),
        ("gen_ai.request.model", False),
        ("key", False),
    ],
)
def test_credential_names(key, expected):
    assert credential_name(key) is expected


def test_values_named_like_credentials_are_replaced_whole():
    attrs = {
        "http.request.header.x-internal-token": ("opaque-but-secret",),
        "http.request.header.x-request-id": ("req-123",),
        "gen_ai.usage.input_tokens": 12,
    }
    new, counts = _walked(attrs)
    assert new == {
        "http.request.header.x-internal-token": ("[REDACTED:credential]",),
        "http.request.header.x-request-id": ("req-123",),
        "gen_ai.usage.input_tokens": 12,
    }
    assert counts == Counter({"credential": 1})


def test_content_attributes_are_redacted_as_json_and_always_parse():
    """A user pattern crossing JSON quotes would break a string scan; the document walk cannot."""
    redactor = Redactor(parse_patterns('secret.*'))
    messages = [{"role": "user", "parts": [{"type": "text", "content": "my secret is x\"y"}]}]
    attrs = {"gen_ai.input.messages": json.dumps(messages), "note": "plain"}
    new, counts = _walked(attrs, redactor=redactor)
    decoded = json.loads(new["gen_ai.input.messages"])
    assert decoded[0]["parts"][0]["content"] == "my [REDACTED:custom]"
    assert decoded[0]["role"] == "user"
    assert counts == Counter({"custom": 1})


def test_content_document_with_a_card_number_as_a_json_integer():
    arguments = [{"role": "assistant", "parts": [{"type": "tool_call", "arguments": {"card": 4770310296826624}}]}]
    new, _ = _walked({"gen_ai.output.messages": json.dumps(arguments)})
    assert "4770310296826624" not in new["gen_ai.output.messages"]
    assert json.loads(new["gen_ai.output.messages"])[0]["parts"][0]["arguments"] == {"card": "[REDACTED:card_number]"}


def test_a_clean_content_document_is_the_same_string():
    text = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hello"}]}])
    attrs = {"gen_ai.input.messages": text}
    new, _ = _walked(attrs)
    assert new is attrs


def test_structured_content_attributes_are_walked_with_their_numbers():
    """The details event's content is structured: strings and keys redacted in place, long integers checked as in
    the JSON document on the span, and the other attributes' integers left alone (as on spans)."""
    messages = ({"role": "assistant", "parts": ({"type": "tool_call", "arguments": {
        "card": 4770310296826624, "note": f"mail {EMAIL}", EMAIL: "a key"}},)},)
    attrs = {"gen_ai.output.messages": messages, "gen_ai.usage.input_tokens": 4770310296826624}
    new, counts = _walked(attrs)
    arguments = new["gen_ai.output.messages"][0]["parts"][0]["arguments"]
    assert arguments == {"card": "[REDACTED:card_number]", "note": "mail [REDACTED:email]", "[REDACTED:email]": "a key"}
    assert isinstance(new["gen_ai.output.messages"], tuple)  # the SDK's sequences stay sequences
    assert new["gen_ai.usage.input_tokens"] == 4770310296826624
    assert counts == Counter({"card_number": 1, "email": 2})
    assert messages[0]["parts"][0]["arguments"]["card"] == 4770310296826624  # the original is not mutated
