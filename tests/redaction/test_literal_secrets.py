"""Literal secrets: values the app registers (its API keys) are redacted wherever they appear.

`Redactor.add_secret`, the process-wide registry that feeds it, and how overlapping and adjacent
replacements are made.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import pytest

from otel_ai.privacy import secrets
from otel_ai.privacy.redactor import Redactor
from tests.redaction.common import (
    ANN_EMAIL,
    OPENAI_PROJECT_KEY,
    redacted,
)

# --------------------------------------------------------------------------------------------
# Literal secrets
# --------------------------------------------------------------------------------------------


def test_add_secret_redacts_a_literal_that_matches_no_pattern() -> None:
    redactor = Redactor()
    literal = "corp-internal-gateway-credential-7788"
    text = f"using credential {literal} for the proxy"
    assert redactor.redact(text) == (text, None)
    redactor.add_secret(literal)
    out, counts = redactor.redact(text)
    assert literal not in out
    assert out == "using credential [REDACTED:secret] for the proxy"
    assert counts == Counter({"secret": 1})


def test_literal_secret_wins_over_the_provider_pattern() -> None:
    redactor = Redactor()
    redactor.add_secret(OPENAI_PROJECT_KEY)
    out, counts = redactor.redact(f"Authorization: Bearer {OPENAI_PROJECT_KEY} / {OPENAI_PROJECT_KEY}")
    assert out == "Authorization: Bearer [REDACTED:secret] / [REDACTED:secret]"
    assert counts == Counter({"secret": 2})


def test_short_or_empty_literals_are_ignored() -> None:
    redactor = Redactor()
    for short in ("", "abc", "1234567"):
        redactor.add_secret(short)
    text = "abc 1234567 values"
    assert redactor.redact(text) == (text, None)


def test_longer_secret_containing_a_shorter_one_is_replaced_whole() -> None:
    redactor = Redactor()
    redactor.add_secret("password1")
    redactor.add_secret("password123456")
    out, counts = redactor.redact("a=password123456 b=password1")
    assert out == "a=[REDACTED:secret] b=[REDACTED:secret]"
    assert counts == Counter({"secret": 2})


def test_add_secret_is_thread_safe() -> None:
    redactor = Redactor()
    secrets = [f"thread-secret-{i:04d}-abcdef" for i in range(200)]
    errors: list[BaseException] = []

    def adder(chunk: Sequence[str]) -> None:
        for s in chunk:
            redactor.add_secret(s)

    def reader() -> None:
        try:
            for _ in range(300):
                redactor.redact("thread-secret-0001-abcdef and thread-secret-0199-abcdef")
        except BaseException as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=adder, args=(secrets[i::4],)) for i in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    text = " ".join(secrets)
    out, counts = redactor.redact(text)
    assert counts == Counter({"secret": 200})
    assert "thread-secret" not in out


# --- overlapping and adjacent replacements ---


def test_adjacent_replacements_are_both_made_in_either_order():
    assert redacted("first-secret-1second-2", "first-secret-1", "second-2") == "[REDACTED:secret][REDACTED:secret]"
    assert redacted("second-2first-secret-1", "first-secret-1", "second-2") == "[REDACTED:secret][REDACTED:secret]"


def test_a_secret_of_exactly_eight_characters_counts():
    assert redacted("pin abcd1234 and abc1234", "abcd1234", "abc1234") == "pin [REDACTED:secret] and abc1234"


def test_a_longer_secret_wins_over_a_shorter_one_inside_it_whatever_their_spelling():
    # Longest first, not alphabetical: "zzzzzzzz" sorts after "aaaa-zzzzzzzz".
    assert redacted("x aaaa-zzzzzzzz y", "zzzzzzzz", "aaaa-zzzzzzzz") == "x [REDACTED:secret] y"


def test_every_occurrence_of_a_secret_is_replaced():
    assert redacted("s3cret-key, s3cret-key and s3cret-key", "s3cret-key") == (
        "[REDACTED:secret], [REDACTED:secret] and [REDACTED:secret]"
    )


def test_redact_value_redacts_a_plain_string():
    assert Redactor().redact_value(f"mail {ANN_EMAIL}") == ("mail [REDACTED:email]", Counter({"email": 1}))


# --- the secrets registry ---


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fresh secrets registry, with one listener subscribed; returns what the listener heard."""
    monkeypatch.setattr(secrets, "_known", set())
    monkeypatch.setattr(secrets, "_listeners", [])
    heard: list[str] = []
    secrets.subscribe(heard.append)
    return heard


def test_each_new_secret_reaches_the_listeners_once(registry):
    secrets.remember("key-one")
    secrets.remember("key-one")
    secrets.remember("key-two")
    assert registry == ["key-one", "key-two"]


@pytest.mark.parametrize("value", ["", None, 12345678, b"bytes-key"])
def test_non_strings_and_empty_strings_are_not_secrets(registry, value):
    secrets.remember(value)
    assert registry == []


def test_a_late_subscriber_hears_the_secrets_known_so_far(registry):
    secrets.remember("key-one")
    late: list[str] = []
    secrets.subscribe(late.append)
    secrets.remember("key-two")
    assert late == ["key-one", "key-two"]
