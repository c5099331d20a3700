"""What redaction leaves alone: ordinary telemetry values, clean text, look-alikes of a kind.

Clean input comes back as the very same object (no copy), checked on fixed examples and on
generated prose, JSON, URLs and numbers (hypothesis), and look-alikes of the newer formats (dates
and ZIP codes, Hugging Face ids, "SG." abbreviations, "basic" in prose) stay untouched.
"""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from otel_ai.privacy.redactor import Redactor
from tests.redaction.common import (
    KEY_CHARS,
    REDACTOR,
    SETTINGS,
    chars,
    huggingface_tokens,
    redact,
)

# --------------------------------------------------------------------------------------------
# Things that must NOT be redacted
# --------------------------------------------------------------------------------------------

NOT_SECRETS = [
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "trace id 12345678901234567890123456789012",
    "timestamp 1717171717 and 1717171717123 ms and 1717171717123456 us and 1717171717123456789 ns",
    "start_time_unix_nano=1732245105123456789 end_time_unix_nano=1732245105987654321",
    "usage: 1532 input tokens, 211 output tokens, 1743 total; 1,234,567 tokens this month",
    "gen_ai.usage.input_tokens=123456789 gen_ai.usage.output_tokens=987654321",
    "opentelemetry-sdk 1.45.2, openai 1.109.1, semconv 0.66b2, python 3.11.7, v2.31.0-rc.1",
    "request id 550e8400-e29b-41d4-a716-446655440000 and 12345678-1234-5678-1234-567812345678",
    "models: gpt-4o-mini-2024-07-18, gpt-4o-2024-08-06, claude-3-5-sonnet-20241022, o1-preview",
    "chatcmpl-9sXabc123DEF456ghi789jklMNO fp_3aa7262c27 resp_67ccd2bed1ec8190b14f964abc054267",
    "at 2024-07-18T10:15:30.123456Z and 2024-07-18 10:15:30 UTC, offset +02:00, date 18.07.2024",
    "from 192.168.100.200 and 10.0.19041.1234, port 8443, pid 4321987",
    "price 0.12345678901234567 and 1234567.891 and -987654321.5",
    "scikit-learn, task-specific risk-free, desk-top",
    "H100 GPUs, RTX4090, ISO8601, UTF-8, SHA256, US-ASCII",
    "http.response.status_code=200 server.port=443 server.address=api.openai.com",
    "The answer is 42. 3 + 4 = 7. Chapter 11, page 1234.",
]


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_ordinary_telemetry_values_are_untouched_and_the_same_object(text: str) -> None:
    out, counts = redact(text)
    assert counts is None, out
    assert out is text


def test_clean_text_returns_same_object() -> None:
    text = "".join(["Hello ", "world"])  # a fresh object
    out, counts = Redactor().redact(text)
    assert out is text and counts is None
    assert Redactor().redact("") == ("", None)


# --------------------------------------------------------------------------------------------
# Clean text of any shape is returned as the very same object (hypothesis)
# --------------------------------------------------------------------------------------------

# Words of at most 12 letters between separators that are not token characters: no digits (no
# numbers, IBANs, keys with digits), no "@" (e-mail, URL password), no "-", "_", ".", "/", "+",
# "=" (every provider key, webhook and JWT needs one; a bearer token needs 20 characters or one
# of them; labelled AWS and ElevenLabs values need 16 or 40 in a row).
LETTERS = st.sampled_from(string.ascii_letters + "éüßøçñжΩλ日本語")
WORDS = st.text(alphabet=LETTERS, min_size=1, max_size=12)
SEPARATORS = st.sampled_from([" ", ", ", "\n", "; ", "! ", "? ", ": ", " (", ") ", "\t", '"', "'", " “", "” "])
prose = st.lists(st.tuples(WORDS, SEPARATORS), max_size=40).map(lambda pairs: "".join(w + s for w, s in pairs))

# Integers below 10**6: JSON puts ", " or ": " between numbers, so no run of digits and number
# separators reaches the 9 digits every phone and card number has.
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), prose),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(WORDS, children, max_size=5)),
    max_leaves=20,
)

# Fixed hosts; lowercase path segments of at most 8 letters; query parameters from names that
# name no credential.
urls = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}/{'/'.join(path)}" + (f"?{'&'.join(query)}" if query else ""),
    st.sampled_from(["https", "http"]),
    st.sampled_from(["example.com", "api.openai.com", "docs.python.org", "opentelemetry.io", "localhost:8080"]),
    st.lists(chars(string.ascii_lowercase, 1, 8), max_size=4),
    st.lists(
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["q", "page", "lang", "sort", "view", "limit", "format"]),
                  chars(string.ascii_lowercase, 0, 8)),
        max_size=3,
    ),
)

# At most 8 digits in any run of digits and number separators (" ().+/-"): never a card (13+),
# an IBAN account or a phone number (9+). Numbers are joined by ", " (the comma is no separator).
numbers = st.lists(
    st.one_of(
        st.integers(0, 99_999_999).map(str),
        st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 9999), st.integers(0, 9999)),
        st.dates().map(lambda d: d.isoformat() + "T12:30:00Z"),
        st.builds(lambda a, b, c: f"v{a}.{b}.{c}", st.integers(0, 99), st.integers(0, 99), st.integers(0, 999)),
        st.integers(0, 100).map(lambda n: f"{n}%"),
        st.integers(1, 10**6).map(lambda n: f"{n} tokens"),
    ),
    max_size=12,
).map(", ".join)

clean_texts = st.one_of(
    prose,
    json_values.map(json.dumps),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    urls,
    numbers,
    st.lists(st.one_of(prose, urls, numbers), max_size=6).map("\n".join),
    prose.map(repr),
)


@settings(max_examples=300, deadline=None, database=None)
@given(text=clean_texts)
def test_text_with_nothing_to_redact_comes_back_as_the_same_object(text: str) -> None:
    out, counts = REDACTOR.redact(text)
    assert counts is None, f"redacted {dict(counts)}: {text!r} -> {out!r}"
    assert out is text


@settings(max_examples=100, deadline=None, database=None)
@given(texts=st.lists(clean_texts, max_size=5), as_tuple=st.booleans())
@example(texts=["A ", "".join(["A", " "])], as_tuple=False)  # found by hypothesis: equal, not identical
def test_clean_sequences_come_back_as_the_same_object(texts: list[str], as_tuple: bool) -> None:
    value = tuple(texts) if as_tuple else texts
    out, counts = REDACTOR.redact_value(value)
    assert counts is None
    assert out is value


# --------------------------------------------------------------------------------------------
# Look-alikes of the formats added with issue 15 are left alone (hypothesis)
# --------------------------------------------------------------------------------------------


def _untouched(text: str) -> None:
    out, counts = REDACTOR.redact(text)
    assert counts is None, f"redacted {dict(counts)}: {text!r} -> {out!r}"


@SETTINGS
@given(number=st.integers(0, 999_999_999), words=prose)
def test_a_bare_nine_digit_number_is_not_a_social_security_number(number: int, words: str) -> None:
    """Only the written form (AAA-GG-SSSS) is an SSN: ids, amounts and counts of 9 digits are not."""
    _untouched(f"{words} order {number:09d} for {number} units")


@SETTINGS
@given(
    area=st.one_of(st.just(0), st.just(666), st.integers(900, 999), st.integers(1, 899)),
    group=st.integers(0, 99),
    serial=st.integers(0, 9999),
    sep=st.sampled_from(["-", " "]),
)
def test_numbers_in_the_ssn_shape_are_ssns_only_when_valid(area: int, group: int, serial: int, sep: str) -> None:
    text = f"ref {area:03d}{sep}{group:02d}{sep}{serial:04d} ok"
    valid = area not in (0, 666) and area < 900 and group != 0 and serial != 0
    _, counts = REDACTOR.redact(text)
    assert (counts is not None and counts["us_ssn"] == 1) == valid, (text, counts)


@SETTINGS
@given(date=st.dates(), zip_code=st.integers(10000, 99999), plus4=st.integers(0, 9999))
def test_dates_and_zip_codes_are_not_social_security_numbers(date: object, zip_code: int, plus4: int) -> None:
    _untouched(f"shipped {date} to 94105, ZIP+4 {zip_code}-{plus4:04d}")


@SETTINGS
@given(
    name=st.lists(chars(string.ascii_lowercase, 1, 10), min_size=1, max_size=5).map("_".join),
    letters=st.sampled_from([string.ascii_lowercase, string.ascii_uppercase]),
    data=st.data(),
)
def test_hf_identifiers_and_placeholders_are_not_tokens(name: str, letters: str, data: st.DataObject) -> None:
    """Snake-case names (hf_hub_download), one-case runs of 34 letters (hf_xxxx... placeholders)
    and longer runs are not Hugging Face tokens."""
    one_case = data.draw(chars(letters, 34))
    longer = data.draw(huggingface_tokens()) + data.draw(chars(string.ascii_letters, 1, 5))
    _untouched(f"call hf_{name}() with hf_{one_case} or {longer}")


@SETTINGS
@given(words=st.lists(WORDS, min_size=1, max_size=4), a=chars(KEY_CHARS, 1, 21), b=chars(KEY_CHARS, 1, 42))
def test_sg_abbreviations_are_not_sendgrid_keys(words: list[str], a: str, b: str) -> None:
    """"SG." in prose (Singapore, a sergeant) and two parts shorter than a key's (22 and 43) are left."""
    _untouched(f"SG. {' '.join(words)}; SG.{a}.{b} and SG.{''.join(words)}")


@SETTINGS
@given(word=st.sampled_from([
    "authentication", "auth", "settings", "plan", "usage", "English", "tier", "example", "idea", "rules",
    "income", "needs", "research", "training", "Python", "HTML", "setup",
]), words=prose)
def test_basic_in_prose_is_not_a_credential(word: str, words: str) -> None:
    _untouched(f"{words} Basic {word} and basic {word}: BASIC {word}.")


@SETTINGS
@given(words=st.lists(WORDS, min_size=1, max_size=6).map(" ".join))
def test_the_word_password_in_prose_is_not_a_pair(words: str) -> None:
    """Only a label followed by ``=`` or ``:`` and a value is a pair; JSON literals are no passwords."""
    _untouched(f"the password is {words}; passwords {words}. Password:\nreset your pwd {words}")
    _untouched('{"password": null, "passwd": true, "pwd": false}')
