"""Redaction of each built-in kind, and the validators that decide a match.

Provider keys, bearer values, JWTs, e-mail addresses, card numbers, IBANs and phone numbers: each is
found and counted by kind, and its validator (issuer prefixes and lengths, Luhn, mod 97, digit
counts, the e-mail local part) is pinned at its boundaries, where mutation testing found gaps
(docs/mutation.md).
"""

from __future__ import annotations

from collections import Counter

import pytest

from otel_ai.privacy import patterns
from otel_ai.privacy.patterns import (
    classify_bearer,
    iban_valid,
    luhn_valid,
    number_gate,
)
from tests.redaction.common import (
    AWS_ACCESS_KEY,
    BEARER,
    CARD_VISA,
    DB_PASSWORD,
    DEEPSEEK_KEY,
    EMAIL,
    IBAN_DE_PRINTED,
    IBAN_GB,
    JWT,
    KIND_CASES,
    OPENAI_PROJECT_KEY,
    SLACK_WEBHOOK_PATH,
    redact,
    redacted,
)


@pytest.mark.parametrize(("kind", "template", "value"), KIND_CASES)
def test_each_kind_is_redacted_and_counted(kind: str, template: str, value: str) -> None:
    text = template.format(value)
    out, counts = redact(text)
    assert value not in out
    assert f"[REDACTED:{kind}]" in out
    assert counts == Counter({kind: 1}), (out, counts)
    # only the value is replaced: labels, surrounding text and punctuation survive
    assert out == template.format(f"[REDACTED:{kind}]")


def test_deepseek_key_shape_wins_over_openai() -> None:
    out, counts = redact(f"a={DEEPSEEK_KEY} b={OPENAI_PROJECT_KEY}")
    assert out == "a=[REDACTED:deepseek_key] b=[REDACTED:openai_key]"
    assert counts == Counter({"deepseek_key": 1, "openai_key": 1})


def test_slack_webhook_url_is_redacted_keeping_the_scheme() -> None:
    url = "https://hooks.slack.com/" + SLACK_WEBHOOK_PATH
    out, counts = redact(f"posting to {url} failed")
    assert SLACK_WEBHOOK_PATH not in out and "T0FAKE000" not in out
    assert out == "posting to https://[REDACTED:slack_token] failed"
    assert counts == Counter({"slack_token": 1})


def test_bearer_keeps_the_word_and_names_provider_keys() -> None:
    out, counts = redact(f"Authorization: Bearer {BEARER}")
    assert out == "Authorization: Bearer [REDACTED:bearer_token]"
    assert counts == Counter({"bearer_token": 1})

    out, counts = redact(f'headers={{"authorization": "bearer {OPENAI_PROJECT_KEY}"}}')
    assert OPENAI_PROJECT_KEY not in out
    assert "bearer [REDACTED:openai_key]" in out
    assert counts == Counter({"openai_key": 1})

    out, counts = redact(f"Authorization: Bearer {JWT}")
    assert JWT not in out and out.startswith("Authorization: Bearer [REDACTED:")


def test_bearer_in_prose_is_left_alone() -> None:
    text = "The bearer instruments are payable to the Bearer whomsoever holds them."
    assert redact(text) == (text, None)


def test_url_password_keeps_user_and_host() -> None:
    text = f"connecting to postgresql://app_user:{DB_PASSWORD}@db.internal.example.com:5432/orders"
    out, counts = redact(text)
    assert DB_PASSWORD not in out
    assert out == (
        "connecting to postgresql://app_user:[REDACTED:url_password]@db.internal.example.com:5432/orders"
    )
    assert counts == Counter({"url_password": 1})

    out, counts = redact("redis://:s3cretRedisPass@cache:6379/0")
    assert out == "redis://:[REDACTED:url_password]@cache:6379/0"


def test_url_without_password_is_untouched() -> None:
    for text in (
        "GET https://api.openai.com/v1/chat/completions?api-version=2024-06-01 200",
        "https://user@example.com/path",
        "http://localhost:8080/health",
    ):
        out, _ = redact(text)
        assert "url_password" not in out


def test_several_kinds_in_one_text_are_counted_by_kind() -> None:
    text = (
        f"user {EMAIL} (phone +1 415 555 2671, second mail ops@example.org) paid with {CARD_VISA}; "
        f"key {OPENAI_PROJECT_KEY} and {AWS_ACCESS_KEY}"
    )
    out, counts = redact(text)
    for value in (EMAIL, "ops@example.org", "415 555 2671", CARD_VISA, OPENAI_PROJECT_KEY, AWS_ACCESS_KEY):
        assert value not in out
    assert counts == Counter({"email": 2, "phone": 1, "card_number": 1, "openai_key": 1, "aws_access_key": 1})
    assert out.count("[REDACTED:") == 6


# --------------------------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------------------------


def test_luhn_decides_card_numbers() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    out, counts = redact("card 4111 1111 1111 1111 ok")
    assert out == "card [REDACTED:card_number] ok" and counts == Counter({"card_number": 1})
    for invalid in ("4111111111111112", "4111 1111 1111 1112", "4111-1111-1111-1113"):
        text = f"order reference {invalid} shipped"
        assert redact(text) == (text, None)


def _with_luhn_check_digit(prefix: str) -> str:
    return next(prefix + d for d in "0123456789" if luhn_valid(prefix + d))


def test_luhn_valid_numbers_without_a_card_issuer_prefix_are_not_cards() -> None:
    # 13-19 digit integers starting with 1 (unix time in ms / us / ns) are never card numbers,
    # even when they happen to pass the Luhn check
    for prefix in ("171717171712", "171717171712345", "171717171712345678"):
        number = _with_luhn_check_digit(prefix)
        text = f"ts={number}"
        assert redact(text) == (text, None)
    issued = _with_luhn_check_digit("453914880343646")
    assert redact(f"card {issued}")[0] == "card [REDACTED:card_number]"


def test_iban_mod97_decides() -> None:
    assert iban_valid(IBAN_GB) and iban_valid(IBAN_DE_PRINTED)
    assert not iban_valid("GB83WEST12345698765432")
    out, counts = redact(f"pay to {IBAN_GB}")
    assert out == "pay to [REDACTED:iban]" and counts == Counter({"iban": 1})
    # (a broken IBAN's digits may still hold a national phone number, "0044 0532 0130", which is
    # then redacted as one: these hold none)
    for broken in ("GB83WEST12345698765432", "GB82WEST12345698765433", "DE89 3704 1044 1532 1130 01"):
        text = f"pay to {broken} now"
        assert redact(text) == (text, None)


def test_iban_with_wrong_length_for_its_country_is_untouched() -> None:
    # mod-97 fixed up for a 23-character "GB" string would still be the wrong length for GB (22)
    text = "ref GB82WEST123456987654321"
    assert redact(text) == (text, None)


# --- card numbers: issuer prefixes and lengths ------------------------------------------------------


def card(prefix: str, length: int) -> str:
    """A Luhn-valid number of `length` digits starting with `prefix`."""
    body = prefix + "0" * (length - len(prefix) - 1)
    return next(body + d for d in "0123456789" if patterns.luhn_valid(body + d))


CARDS = [
    ("4", 13), ("4", 16), ("4", 19),  # Visa
    ("51", 16), ("55", 16),  # Mastercard 51-55
    ("50", 13), ("50", 19), ("56", 13), ("59", 19),  # Maestro
    ("2221", 16), ("2720", 16),  # Mastercard 2-series
    ("34", 15), ("37", 15),  # American Express
    ("36", 14), ("38", 14), ("39", 14), ("300", 14), ("301", 14), ("305", 14), ("36", 19),  # Diners Club
    ("3528", 16), ("3589", 16), ("3528", 19),  # JCB
    ("6011", 16), ("6011", 19),  # Discover and friends
]
NOT_CARDS = [
    ("4", 14), ("4", 15), ("4", 17),
    ("51", 15), ("51", 17), ("55", 19),
    ("2220", 16), ("2721", 16), ("2221", 15), ("2221", 17),
    ("34", 14), ("34", 16), ("37", 16),
    ("36", 13), ("306", 14),
    ("3527", 16), ("3590", 16), ("3528", 15),
    ("6011", 15),
    ("1", 16), ("7", 16), ("8", 16), ("9", 16),
]


@pytest.mark.parametrize(("prefix", "length"), CARDS)
def test_card_network_prefixes_and_lengths_are_cards(prefix, length):
    number = card(prefix, length)
    assert patterns._card_ok(number)
    assert redacted(f"paid with {number} today") == "paid with [REDACTED:card_number] today"


@pytest.mark.parametrize(("prefix", "length"), NOT_CARDS)
def test_other_prefixes_and_lengths_are_not_cards(prefix, length):
    assert not patterns._card_ok(card(prefix, length))


def test_luhn_decides_between_neighbours():
    number = card("4", 16)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert patterns._card_ok(number) and not patterns._card_ok(wrong)


# --- phone numbers: digit counts ----------------------------------------------------------------------


@pytest.mark.parametrize(("digits", "ok"), [(8, False), (9, True), (15, True), (16, False)])
def test_international_phone_digit_count(digits, ok):
    assert patterns._phone_ok("3" + "1" * (digits - 1)) is ok


@pytest.mark.parametrize(("digits", "ok"), [(8, False), (9, True), (13, True), (14, False)])
def test_national_phone_digit_count(digits, ok):
    assert patterns._national_phone_ok("0" + "1" * (digits - 1)) is ok


def test_a_nine_digit_international_number_is_a_phone():
    assert redacted("call +33 1 23 45 67 now") == "call [REDACTED:phone] now"


def test_a_short_digit_run_before_a_phone_does_not_stop_the_scan():
    text = "ids 12 34 56 78 then +33 1 23 45 67"
    assert redacted(text) == "ids 12 34 56 78 then [REDACTED:phone]"


def test_a_lone_surrogate_does_not_break_the_number_scan():
    assert redacted("\ud800 call +33 1 23 45 67") == "\ud800 call [REDACTED:phone]"


def test_number_gate_says_exactly_what_may_be_present():
    assert number_gate("no digits at all, 12345678 is only eight") == (False, False)
    assert number_gate("call 030 1234 5678") == (True, False)
    assert number_gate("pay to GB82 WEST 1234 5698 7654 32") == (True, True)


# --- IBAN ----------------------------------------------------------------------------------------------


def iban(country: str, bban: str) -> str:
    """An IBAN with correct check digits for `country` + `bban`."""
    numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


@pytest.mark.parametrize(
    ("candidate", "valid"),
    [
        (iban("NO", "86011117947"), True),  # 15 characters: the shortest country
        (iban("ZZ", "1" * 30), True),  # 34: the longest any IBAN may be
        (iban("ZZ", "1" * 31), False),  # 35
        (iban("ZZ", "1" * 10), False),  # 14
        (iban("ZZ", "1234567890123456"), True),  # unknown country: only the general bounds apply
        (iban("GB", "WEST12345698765432"), True),  # 22, GB's length
        (iban("GB", "WEST123456987654321"), False),  # 23: valid checksum, wrong length for GB
    ],
)
def test_iban_lengths(candidate, valid):
    assert iban_valid(candidate) is valid


# --- provider keys and bearer values --------------------------------------------------------------------


def test_an_openai_key_whose_only_capital_comes_first_is_still_a_key():
    assert redacted("key sk-A" + "b" * 20) == "key [REDACTED:openai_key]"
    assert redacted("key sk-" + "b" * 21) == "key sk-" + "b" * 21  # prose-like: no digit, no capital


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("a" * 19, None),
        ("a" * 20, "bearer_token"),
        ("abcdefg0", "bearer_token"),
        ("abcdefg9", "bearer_token"),
        *((f"abcdefg{ch}", "bearer_token") for ch in "._~+/="),
        ("abcdefgH", None),
        ("abcdefgX", None),
    ],
)
def test_bearer_values(value, kind):
    assert classify_bearer(value) == kind


# --- e-mail addresses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail b@example.com now", "mail [REDACTED:email] now"),
        ("x ab@example.com", "x [REDACTED:email]"),
        ("a" * 64 + "@example.com", "[REDACTED:email]"),  # the longest local part (RFC 5321)
        ("a" * 65 + "@example.com", "a[REDACTED:email]"),
        ("see .john@example.com", "see .[REDACTED:email]"),  # a local part never starts with a dot
        ("see ..john@example.com", "see ..[REDACTED:email]"),
        ("see ...john@example.com", "see ...[REDACTED:email]"),
        ("@example.com mentions", "@example.com mentions"),  # no local part: not an address
        ("x ..@example.com", "x ..@example.com"),
    ],
)
def test_email_local_part(text, expected):
    assert redacted(text) == expected
