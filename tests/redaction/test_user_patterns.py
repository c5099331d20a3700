"""User patterns: OTEL_AI_REDACT_PATTERNS, parsed, validated and applied after the built-in kinds."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from otel_ai.errors import ConfigError
from otel_ai.privacy.patterns import parse_patterns
from otel_ai.privacy.redactor import Redactor
from tests.redaction.common import EMAIL

# --------------------------------------------------------------------------------------------
# User patterns: OTEL_AI_REDACT_PATTERNS
# --------------------------------------------------------------------------------------------


def test_parse_patterns_empty() -> None:
    assert parse_patterns(None) == []
    assert parse_patterns("") == []
    assert parse_patterns("  \n ;; \n") == []


def test_parse_patterns_newlines_and_double_semicolons() -> None:
    patterns = parse_patterns(r"(?i)customer-\d{6};;token=(?P<value>\w+)" + "\n  ACME-[A-Z]{3,5}  \n")
    assert [p.pattern for p in patterns] == [
        r"(?i)customer-\d{6}",
        r"token=(?P<value>\w+)",
        "ACME-[A-Z]{3,5}",
    ]
    # commas and single semicolons stay inside one regex
    (single,) = parse_patterns(r"id=\d{3,8};[,;]x")
    assert single.pattern == r"id=\d{3,8};[,;]x"


def test_user_patterns_redact_as_custom() -> None:
    redactor = Redactor(parse_patterns(r"(?i)customer-\d{6};;token=(?P<value>\w+)"))
    out, counts = redactor.redact("CUSTOMER-123456 logged in with token=abcDEF123 from the app")
    assert out == "[REDACTED:custom] logged in with token=[REDACTED:custom] from the app"
    assert counts == Counter({"custom": 2})


def test_user_patterns_come_after_builtin_kinds() -> None:
    redactor = Redactor(parse_patterns(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+"))
    out, counts = redactor.redact(f"mail {EMAIL}")
    assert out == "mail [REDACTED:email]"
    assert counts == Counter({"email": 1})


def test_invalid_regex_raises_config_error_naming_variable_and_entry() -> None:
    with pytest.raises(ConfigError) as info:
        parse_patterns(r"ok-\d+;;broken(\d+;;also-ok")
    message = str(info.value)
    assert "OTEL_AI_REDACT_PATTERNS" in message
    assert "entry 2" in message
    assert "missing )" in message  # the regex error itself

    with pytest.raises(ConfigError) as info:
        parse_patterns("fine\n[unclosed", variable="MY_PATTERNS")
    assert "MY_PATTERNS" in str(info.value) and "entry 2" in str(info.value)


@pytest.mark.parametrize("pattern", ["a*", "^", "(?:x)?", r"\d{0,4}", "$|x"])
def test_pattern_matching_the_empty_string_is_rejected(pattern: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_patterns(f"good-[0-9]+;;{pattern}")
    message = str(info.value)
    assert "OTEL_AI_REDACT_PATTERNS" in message and "entry 2" in message and "empty string" in message


def test_zero_width_matches_of_a_user_pattern_never_redact() -> None:
    redactor = Redactor([re.compile(r"\b")])
    text = "some words here"
    assert redactor.redact(text) == (text, None)


# --- errors name the variable; a pattern matching the empty string is refused ---


def test_pattern_errors_name_the_variable_by_default():
    with pytest.raises(ConfigError) as excinfo:
        parse_patterns("ok;;(unclosed")
    assert str(excinfo.value).startswith("OTEL_AI_REDACT_PATTERNS: entry 2 ('(unclosed') is not a valid")


def test_a_pattern_matching_the_empty_string_is_refused_with_advice():
    with pytest.raises(ConfigError) as excinfo:
        parse_patterns("X*")
    assert str(excinfo.value) == (
        "OTEL_AI_REDACT_PATTERNS: entry 1 ('X*') matches the empty string, "
        "so it would redact everywhere; make it match at least one character"
    )


def test_a_pattern_that_only_matches_text_is_accepted():
    [pattern] = parse_patterns("X+")
    assert pattern.pattern == "X+"
