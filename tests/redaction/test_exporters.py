"""Redaction: every kind, the things that must stay untouched, user patterns, and the exporters.

Every secret-looking value below is fake; tokens with well-known prefixes are assembled at run
time so that secret scanners do not flag this file.
"""

from __future__ import annotations

import inspect
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry._logs import LogRecord as APILogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, Status, StatusCode, TraceFlags

from otel_ai import guard as _guard
from otel_ai.errors import ConfigError
from otel_ai.privacy import patterns
from otel_ai.privacy.exporters import (
    REDACTED_COUNT_ATTRIBUTE,
    REDACTED_KINDS_ATTRIBUTE,
    RedactingLogExporter,
    RedactingSpanExporter,
    redaction_counts,
)
from otel_ai.privacy.patterns import iban_valid, luhn_valid, parse_patterns
from otel_ai.privacy.redactor import Redactor, fail_closed_leaf, walk

# --------------------------------------------------------------------------------------------
# Fake credentials (realistic shapes, not real values)
# --------------------------------------------------------------------------------------------

OPENAI_PROJECT_KEY = "sk-" + "proj-" + "Zx81kQpL0vN2mW7rT4yU9iO3aS6dF5gH1jK8lB2nM4cV7xZ0qW3eR6tY9uI2oP5a"
OPENAI_LEGACY_KEY = "sk-" + "Fa3kE9xQ2mN7pL4rT8vW1yZ6bC0dG5hJ" + "T3BlbkFJ" + "k2Lm9Np4Qr7St1Uv"
OPENAI_SVCACCT_KEY = "sk-" + "svcacct-" + "Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7Qw9Er1Ty"
DEEPSEEK_KEY = "sk-" + "5f0c3e9a7b1d4e2f8a6c0b9d3e7f1a2c"
ELEVENLABS_KEY = "sk_" + "3c9f1e7a5b2d8c4e6f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c"
ELEVENLABS_LEGACY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
AWS_ACCESS_KEY = "AKIA" + "Z7QW3ERT5YUI9OPL"
AWS_SESSION_KEY = "ASIA" + "Q4WE7RT2YU8IO3PA"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "FAKEKEY123"
GITHUB_PAT_CLASSIC = "gh" + "p_" + "R4nd0mF4k3T0k3nV4lu3Abcdef1234567890"
GITHUB_OAUTH = "gh" + "o_" + "Abcdefghijklmnopqrstuvwxyz0123456789"
GITHUB_FINE_GRAINED = "github" + "_pat_" + "11ABCDEFG0aBcDeFgHiJkL_" + "x" * 20 + "Y7z" * 12 + "Q"
SLACK_BOT = "xo" + "xb-" + "2468013579-1357924680123-FakeSlackTokenValue12"
SLACK_USER = "xo" + "xp-" + "1111111111-2222222222-3333333333-abcdefabcdef"
SLACK_WEBHOOK_PATH = "services/" + "T0FAKE000/B0FAKE000/FakeWebhookSecret0123456"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUgRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".Zm9vYmFyLWZha2Utc2lnbmF0dXJlLW5vdC1yZWFs"
)
BEARER = "a1b2c3d4e5f6g7h8i9j0.fakeOpaqueAccessToken"
DB_PASSWORD = "Tr0ub4dor&3xyz"
EMAIL = "jane.doe+billing@example.co.uk"
CARD_VISA = "4539 1488 0343 6467"
CARD_MC = "5555-5555-5555-4444"
CARD_AMEX = "378282246310005"
IBAN_GB = "GB82WEST12345698765432"
IBAN_DE_PRINTED = "DE89 3704 0044 0532 0130 00"


def redact(text: str, redactor: Redactor | None = None) -> tuple[str, Counter[str] | None]:
    return (redactor or Redactor()).redact(text)


# --------------------------------------------------------------------------------------------
# Each kind
# --------------------------------------------------------------------------------------------

KIND_CASES: list[tuple[str, str, str]] = [
    ("openai_key", "client = OpenAI(api_key='{}')", OPENAI_PROJECT_KEY),
    ("openai_key", "OPENAI_API_KEY={} python app.py", OPENAI_LEGACY_KEY),
    ("openai_key", '{{"key": "{}"}}', OPENAI_SVCACCT_KEY),
    ("deepseek_key", "export DEEPSEEK_API_KEY={}", DEEPSEEK_KEY),
    ("elevenlabs_key", "ElevenLabs(api_key=\"{}\")", ELEVENLABS_KEY),
    ("elevenlabs_key", "curl -H 'xi-api-key: {}' https://api.elevenlabs.io/v1/voices", ELEVENLABS_LEGACY),
    ("elevenlabs_key", '{{"XI-API-KEY": "{}"}}', ELEVENLABS_LEGACY),
    ("aws_access_key", "aws_access_key_id = {}", AWS_ACCESS_KEY),
    ("aws_access_key", "temporary credentials {} expire at noon", AWS_SESSION_KEY),
    ("aws_secret_key", "aws_secret_access_key = {}", AWS_SECRET),
    ("aws_secret_key", 'AWS_SECRET_ACCESS_KEY="{}"', AWS_SECRET),
    ("aws_secret_key", '{{"SecretAccessKey": "{}", "SessionToken": null}}', AWS_SECRET),
    ("github_token", "git clone https://x-access-token:{}@github.com/acme/app.git", GITHUB_PAT_CLASSIC),
    ("github_token", "GITHUB_TOKEN={}", GITHUB_OAUTH),
    ("github_token", "token: {}", GITHUB_FINE_GRAINED),
    ("slack_token", "SLACK_BOT_TOKEN={}", SLACK_BOT),
    ("slack_token", "slack user token {} leaked", SLACK_USER),
    ("jwt", "session cookie={}; Path=/", JWT),
    ("email", "Please reply to {} before Friday.", EMAIL),
    ("card_number", "Charge card {} for the order.", CARD_VISA),
    ("card_number", "mc={}", CARD_MC),
    ("card_number", "amex {} exp 12/29", CARD_AMEX),
    ("iban", "Wire the refund to {} today.", IBAN_GB),
    ("iban", "IBAN: {}.", IBAN_DE_PRINTED),
    ("phone", "Call me at {} tomorrow", "+1 (415) 555-2671"),
    ("phone", "office: {}", "+44 20 7946 0958"),
    ("phone", "mobile {} (DE)", "+4915112345678"),
    ("phone", "US line {} ext 4", "415-555-2671"),
    ("phone", "fax {}", "(212) 555.0199"),
    ("phone", "Festnetz {}", "030 12345678"),
    ("phone", "portable {}", "06 12 34 56 78"),
    ("phone", "toll free {}", "1-800-555-0123"),
]


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


# --------------------------------------------------------------------------------------------
# Performance and pathological input
# --------------------------------------------------------------------------------------------

TYPICAL = (
    "The user asked about the quarterly report for 2024 and the model gpt-4o-mini-2024-07-18 answered with "
    "a summary of 3 key points, using 1532 input tokens and 211 output tokens in about 2.4 seconds total!"
)


def test_no_match_returns_the_same_object() -> None:
    """Clean text is handed back as the very object it was (no copy): the exporters rely on it."""
    redactor = Redactor()
    redactor.add_secret(OPENAI_PROJECT_KEY)
    text, found = redactor.redact(TYPICAL)
    assert text is TYPICAL
    assert found is None


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "1" * 200_000,
        "1 " * 100_000,
        "+1 " * 60_000,
        "sk-a" * 50_000,
        "eyJaaaaa." * 20_000,
        "a@" * 100_000,
        "x@" + "a." * 100_000,
        "://a:" + "b@" * 100_000,
        "GB82 " + "ABCD " * 40_000,
        "Bearer " * 30_000,
        "4111 " * 40_000,
        "(" * 200_000,
    ],
)
def test_pathological_input_stays_linear(text: str) -> None:
    start = time.perf_counter()
    Redactor().redact(text)
    assert time.perf_counter() - start < 2.0


def test_many_matches_in_one_string() -> None:
    text = f"mail ann.lee@example.com key {OPENAI_PROJECT_KEY} " * 5000
    start = time.perf_counter()
    out, counts = Redactor().redact(text)
    assert time.perf_counter() - start < 2.0
    assert counts == Counter({"email": 5000, "openai_key": 5000})
    assert OPENAI_PROJECT_KEY not in out


# --------------------------------------------------------------------------------------------
# Span exporter, with the real SDK
# --------------------------------------------------------------------------------------------


class _RecordingSpanExporter(RedactingSpanExporter):
    """Remembers what the SDK handed over (SDK >= 1.40 hands a fresh ReadableSpan per span)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.received.extend(spans)
        return super().export(spans)


def _tracing(redactor: Redactor) -> tuple[TracerProvider, InMemorySpanExporter, _RecordingSpanExporter]:
    memory = InMemorySpanExporter()
    exporter = _RecordingSpanExporter(memory, redactor)
    provider = TracerProvider(resource=Resource.create({"service.name": "redaction-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, memory, exporter


def _counted_since(before: dict[str, int]) -> Counter[str]:
    """Redactions the exporters counted (``redaction_counts()``) since ``before``."""
    return Counter(redaction_counts()) - Counter(before)


def test_span_attributes_events_links_and_status_are_redacted() -> None:
    before = redaction_counts()
    provider, memory, recorder = _tracing(Redactor())
    tracer = provider.get_tracer("test-scope", "1.2.3")
    linked = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    with tracer.start_as_current_span(
        "chat gpt-4o-mini", links=[Link(linked, {"note": f"from {EMAIL}"})]
    ) as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.usage.input_tokens", 1532)
        span.set_attribute("url.full", f"https://svc:{DB_PASSWORD}@api.example.com/v1")
        messages = f'[{{"role": "user", "content": "key is {OPENAI_PROJECT_KEY}"}}]'
        span.set_attribute("gen_ai.input.messages", messages)
        span.set_attribute("tags", ["ok", f"card {CARD_VISA}"])
        span.add_event("log", {"message": f"retrying with {AWS_ACCESS_KEY}", "attempt": 2})
        span.add_event("clean", {"message": "nothing here"})
        span.set_status(Status(StatusCode.ERROR, f"401 for key {OPENAI_PROJECT_KEY}"))
        original = span
    provider.shutdown()

    (exported,) = memory.get_finished_spans()
    assert exported is not recorder.received[0]
    attrs = dict(exported.attributes or {})
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.usage.input_tokens"] == 1532
    assert attrs["url.full"] == "https://svc:[REDACTED:url_password]@api.example.com/v1"
    assert attrs["gen_ai.input.messages"] == '[{"role": "user", "content": "key is [REDACTED:openai_key]"}]'
    assert attrs["tags"] == ("ok", "card [REDACTED:card_number]")
    assert exported.events[0].attributes == {
        "message": "retrying with [REDACTED:aws_access_key]",
        "attempt": 2,
    }
    assert exported.events[1].attributes == {"message": "nothing here"}
    assert exported.links[0].attributes == {"note": "from [REDACTED:email]"}
    assert exported.status.status_code is StatusCode.ERROR
    assert exported.status.description == "401 for key [REDACTED:openai_key]"
    assert attrs[REDACTED_COUNT_ATTRIBUTE] == 6
    assert attrs[REDACTED_KINDS_ATTRIBUTE] == (
        "aws_access_key",
        "card_number",
        "email",
        "openai_key",
        "url_password",
    )

    # identity and timing survive
    assert exported.name == original.name
    assert exported.context == original.context
    assert exported.parent == original.parent
    assert exported.kind == original.kind
    assert exported.start_time == original.start_time and exported.end_time == original.end_time
    assert exported.resource is original.resource
    assert exported.instrumentation_scope == original.instrumentation_scope
    assert exported.events[0].timestamp == original.events[0].timestamp
    assert exported.links[0].context == linked
    assert exported.dropped_attributes == 0 and exported.dropped_events == 0 and exported.dropped_links == 0

    # no secret anywhere in the serialized span
    dumped = exported.to_json()
    for value in (OPENAI_PROJECT_KEY, DB_PASSWORD, CARD_VISA, AWS_ACCESS_KEY, EMAIL):
        assert value not in dumped
    # the original span object is not modified (other processors may hold it)
    assert OPENAI_PROJECT_KEY in str(original.attributes["gen_ai.input.messages"])

    assert _counted_since(before) == Counter(
        {"openai_key": 2, "url_password": 1, "card_number": 1, "aws_access_key": 1, "email": 1}
    )


def test_clean_span_is_passed_through_as_the_same_object() -> None:
    before = redaction_counts()
    provider, memory, recorder = _tracing(Redactor())
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini-2024-07-18")
        span.set_attribute("gen_ai.response.id", "chatcmpl-9sXabc123DEF456ghi789jklMNO")
        span.add_event("gen_ai.choice", {"index": 0})
        original = span
    (exported,) = memory.get_finished_spans()
    assert exported is recorder.received[0]
    assert exported.attributes == original.attributes
    assert REDACTED_COUNT_ATTRIBUTE not in (exported.attributes or {})
    assert _counted_since(before) == Counter()


def test_batch_keeps_order_and_only_copies_changed_spans() -> None:
    memory = InMemorySpanExporter()
    exporter = RedactingSpanExporter(memory, Redactor())
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    spans: list[ReadableSpan] = []
    for i in range(4):
        with tracer.start_as_current_span(f"s{i}") as s:
            s.set_attribute("v", EMAIL if i % 2 else "clean")
            spans.append(s)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    out = memory.get_finished_spans()
    assert [s.name for s in out] == ["s0", "s1", "s2", "s3"]
    assert out[0] is spans[0] and out[2] is spans[2]
    assert out[1] is not spans[1] and (out[1].attributes or {})["v"] == "[REDACTED:email]"


def test_literal_secret_from_the_app_client_never_reaches_the_exporter() -> None:
    redactor = Redactor()
    app_key = "org-internal-credential-NOTAPATTERN-42"
    redactor.add_secret(app_key)
    provider, memory, _ = _tracing(redactor)
    with provider.get_tracer("t").start_as_current_span("call") as span:
        span.set_attribute("app.detail", (app_key,))
    (exported,) = memory.get_finished_spans()
    assert app_key not in exported.to_json()
    assert (exported.attributes or {})[REDACTED_KINDS_ATTRIBUTE] == ("secret",)


class _ExplodingRedactor(Redactor):
    def redact(self, text: str) -> tuple[str, Counter[str] | None]:
        if "boom" in text:
            raise RuntimeError("redactor bug")
        return super().redact(text)


def test_span_fails_closed_when_redaction_raises(caplog: pytest.LogCaptureFixture) -> None:
    _guard._seen.discard("redaction.span")
    provider, memory, _ = _tracing(_ExplodingRedactor())
    tracer = provider.get_tracer("t")
    with caplog.at_level("DEBUG", logger="otel_ai"):
        for _ in range(2):
            with tracer.start_as_current_span("op") as span:
                span.set_attribute("a", "boom")
                span.set_attribute("b", f"unseen {OPENAI_PROJECT_KEY}")
                span.set_attribute("c", ["x", "y"])
                span.set_attribute("n", 7)
                span.add_event("e", {"m": "event text"})
                span.set_status(Status(StatusCode.ERROR, "some description"))
    spans = memory.get_finished_spans()
    assert len(spans) == 2
    for exported in spans:
        attrs = dict(exported.attributes or {})
        assert attrs["a"] == attrs["b"] == "[REDACTED:error]"
        assert attrs["c"] == ("[REDACTED:error]", "[REDACTED:error]")
        assert attrs["n"] == 7
        assert exported.events[0].attributes == {"m": "[REDACTED:error]"}
        assert exported.status.description == "[REDACTED:error]"
        assert attrs[REDACTED_KINDS_ATTRIBUTE] == ("error",)
        assert exported.name == "[REDACTED:error]"  # a span name may hold a secret too
        assert attrs[REDACTED_COUNT_ATTRIBUTE] == 7
        assert OPENAI_PROJECT_KEY not in exported.to_json()
    logged = [r for r in caplog.records if "in redaction.span;" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelname == "DEBUG"


class _BrokenSpan:
    name = "broken"

    @property
    def attributes(self) -> Any:
        raise RuntimeError("cannot read")


def test_span_that_cannot_even_be_read_is_dropped_not_leaked() -> None:
    memory = InMemorySpanExporter()
    exporter = RedactingSpanExporter(memory, Redactor())
    assert exporter.export([_BrokenSpan()]) is SpanExportResult.SUCCESS
    assert memory.get_finished_spans() == ()


class _RaisingSpanExporter(SpanExporter):
    def __init__(self) -> None:
        self.flushed: list[int] = []
        self.shut = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector down")

    def shutdown(self) -> None:
        self.shut = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.flushed.append(timeout_millis)
        return True


def test_span_exporter_never_raises_and_delegates_lifecycle() -> None:
    inner = _RaisingSpanExporter()
    exporter = RedactingSpanExporter(inner, Redactor())
    span = ReadableSpan("x", attributes={"mail": EMAIL})
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert exporter.force_flush(1234) is True and inner.flushed == [1234]
    exporter.shutdown()
    assert inner.shut


# --------------------------------------------------------------------------------------------
# Log exporter, with the real SDK
# --------------------------------------------------------------------------------------------


def _logging(redactor: Redactor) -> tuple[LoggerProvider, InMemoryLogRecordExporter, RedactingLogExporter]:
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, redactor)
    provider = LoggerProvider(resource=Resource.create({"service.name": "redaction-test"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider, memory, exporter


def test_log_body_and_attributes_are_redacted_keeping_correlation() -> None:
    before = redaction_counts()
    log_provider, memory, _ = _logging(Redactor())
    tracer = TracerProvider().get_tracer("t")
    logger = log_provider.get_logger("app.payments", "0.9")
    with tracer.start_as_current_span("request") as span:
        logger.emit(
            body=f"charging {CARD_VISA} for {EMAIL}",
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            timestamp=1_717_171_717_000_000_000,
            attributes={"user.email": EMAIL, "retries": 2, "headers": (f"Bearer {BEARER}", "x")},
            event_name="payment.attempt",
        )
        span_context = span.get_span_context()

    (exported,) = memory.get_finished_logs()
    record = exported.log_record
    assert record.body == "charging [REDACTED:card_number] for [REDACTED:email]"
    attrs = dict(record.attributes or {})
    assert attrs["user.email"] == "[REDACTED:email]"
    assert attrs["retries"] == 2
    assert attrs["headers"] == ("Bearer [REDACTED:bearer_token]", "x")
    assert attrs[REDACTED_COUNT_ATTRIBUTE] == 4
    assert attrs[REDACTED_KINDS_ATTRIBUTE] == ("bearer_token", "card_number", "email")
    assert record.trace_id == span_context.trace_id
    assert record.span_id == span_context.span_id
    assert record.trace_flags == span_context.trace_flags
    assert record.severity_number is SeverityNumber.WARN and record.severity_text == "WARN"
    assert record.timestamp == 1_717_171_717_000_000_000 and record.observed_timestamp
    assert record.event_name == "payment.attempt"
    assert exported.resource.attributes["service.name"] == "redaction-test"
    assert exported.instrumentation_scope is not None
    assert exported.instrumentation_scope.name == "app.payments"
    assert exported.dropped_attributes == 0
    dumped = exported.to_json()
    assert CARD_VISA not in dumped and EMAIL not in dumped and BEARER not in dumped
    assert _counted_since(before) == Counter({"email": 2, "card_number": 1, "bearer_token": 1})


def test_structured_log_body_is_redacted_recursively() -> None:
    log_provider, memory, _ = _logging(Redactor())
    body = {
        "gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": f"I am {EMAIL}"}]}],
        "count": 3,
        "raw": b"bytes untouched",
    }
    log_provider.get_logger("genai").emit(body=body, event_name="gen_ai.client.inference.operation.details")
    (exported,) = memory.get_finished_logs()
    new_body = exported.log_record.body
    assert isinstance(new_body, dict)
    assert new_body["gen_ai.input.messages"][0]["parts"][0]["content"] == "I am [REDACTED:email]"
    assert new_body["count"] == 3 and new_body["raw"] == b"bytes untouched"
    assert body["gen_ai.input.messages"][0]["parts"][0]["content"] == f"I am {EMAIL}"


def test_python_logging_through_the_sdk_handler_is_redacted() -> None:
    import logging

    log_provider, memory, _ = _logging(Redactor())
    handler = LoggingHandler(logger_provider=log_provider)
    py_logger = logging.getLogger("test_redaction.python")
    py_logger.addHandler(handler)
    py_logger.propagate = False
    try:
        py_logger.warning("login for %s with key %s", EMAIL, OPENAI_PROJECT_KEY)
    finally:
        py_logger.removeHandler(handler)
    (exported,) = memory.get_finished_logs()
    assert exported.log_record.body == "login for [REDACTED:email] with key [REDACTED:openai_key]"
    assert OPENAI_PROJECT_KEY not in exported.to_json()


def _readable(body: Any, attributes: dict[str, Any] | None = None) -> ReadableLogRecord:
    return ReadableLogRecord(
        log_record=APILogRecord(body=body, attributes=attributes, severity_number=SeverityNumber.INFO),
        resource=Resource.create({}),
        instrumentation_scope=InstrumentationScope("scope"),
    )


def test_clean_log_record_is_passed_through_as_the_same_object() -> None:
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, Redactor())
    clean = _readable("answered a question with gpt-4o-mini", {"gen_ai.usage.input_tokens": 12})
    dirty = _readable(f"mail {EMAIL}")
    assert exporter.export([clean, dirty, clean]) is LogRecordExportResult.SUCCESS
    out = memory.get_finished_logs()
    assert out[0] is clean and out[2] is clean
    assert out[1] is not dirty
    assert out[1].log_record.body == "mail [REDACTED:email]"
    assert dirty.log_record.body == f"mail {EMAIL}"  # original untouched
    assert out[1].instrumentation_scope == dirty.instrumentation_scope
    assert out[1].limits == dirty.limits


def test_log_fails_closed_when_redaction_raises() -> None:
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, _ExplodingRedactor())
    item = _readable({"msg": "boom", "nested": ["a", 1]}, {"k": "v", "n": 3})
    exporter.export([item])
    (exported,) = memory.get_finished_logs()
    assert exported.log_record.body == {"msg": "[REDACTED:error]", "nested": ["[REDACTED:error]", 1]}
    attrs = dict(exported.log_record.attributes or {})
    assert attrs["k"] == "[REDACTED:error]" and attrs["n"] == 3
    assert attrs[REDACTED_KINDS_ATTRIBUTE] == ("error",)
    assert attrs[REDACTED_COUNT_ATTRIBUTE] == 3


class _RaisingLogExporter(LogRecordExporter):
    def __init__(self) -> None:
        self.shut = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        raise ConnectionError("collector down")

    def shutdown(self) -> None:
        self.shut = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return False


def test_log_exporter_never_raises_and_delegates_lifecycle() -> None:
    inner = _RaisingLogExporter()
    exporter = RedactingLogExporter(inner, Redactor())
    assert exporter.export([_readable(f"x {EMAIL}")]) is LogRecordExportResult.FAILURE
    assert exporter.force_flush() is False
    exporter.shutdown()
    assert inner.shut


# --------------------------------------------------------------------------------------------
# One table of key formats, one walk
# --------------------------------------------------------------------------------------------

# One example per entry of patterns.PROVIDER_KEYS, in its order (a kind may have several entries).
PROVIDER_KEY_EXAMPLES = [
    ("deepseek_key", DEEPSEEK_KEY),
    ("openai_key", OPENAI_PROJECT_KEY),
    ("elevenlabs_key", ELEVENLABS_KEY),
    ("stripe_key", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe_key", "rk_test_" + "51HxQ2vLkJ8mN3pR6tY9wZ1a"),
    ("github_token", GITHUB_PAT_CLASSIC),
    ("gitlab_token", "glpat-" + "Xy7kP2mQ9rT4vW1zB5nC"),
    ("gitlab_token", "GR1348941" + "aB3dE6gH9jK2mN5pQ8sT"),
    ("slack_token", SLACK_BOT),
    ("aws_access_key", AWS_ACCESS_KEY),
    ("google_api_key", "AIza" + "SyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0"),
    ("huggingface_token", "hf_" + "jCBaQngSHiHDRYOcsMcifUcysGyaiybUWz"),
    ("sendgrid_key", "SG." + "ngeVfQFYQlKU0ufo8x5d1A" + "." + "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
    ("npm_token", "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("pypi_token", "pypi-AgEIcHlwaS5vcmc" + "CJGRhNjE2MTQ5LWZhYTEtNDI0Ny05ZjY1LTMwZDNkZTFjMjQ1OQACKlszLCJmMGE4"),
]


def test_bearer_names_exactly_the_provider_key_kinds() -> None:
    # the kinds recognised inside "Bearer ..." are the provider key kinds: one table drives both
    assert [key.kind for key in patterns.PROVIDER_KEYS] == [kind for kind, _ in PROVIDER_KEY_EXAMPLES]
    for (kind, token), key in zip(PROVIDER_KEY_EXAMPLES, patterns.PROVIDER_KEYS, strict=True):
        assert key.full.fullmatch(token), kind
        assert patterns.classify_bearer(token) == kind
        assert redact(f"Authorization: Bearer {token}") == (
            f"Authorization: Bearer [REDACTED:{kind}]",
            Counter({kind: 1}),
        )
        assert redact(f"key {token}; next") == (f"key [REDACTED:{kind}]; next", Counter({kind: 1}))
    # other token shapes after the word stay bearer tokens, as before
    assert patterns.classify_bearer(JWT) == "bearer_token"
    assert patterns.classify_bearer("hooks.slack.com/" + SLACK_WEBHOOK_PATH) == "bearer_token"


def test_each_key_format_is_written_once_and_both_matchers_derive_from_it() -> None:
    source = inspect.getsource(patterns)
    scan = re.sub(r"\(\?P<p\d+>", "(?P<G>", patterns.PROVIDER_RE.pattern)
    scanned_kinds = {branch.kind for branch in patterns.PROVIDER_META.values()}
    for key in (*patterns.PROVIDER_KEYS, patterns.SLACK_WEBHOOK, patterns.JWT, patterns.PRIVATE_KEY):
        # the regex text appears in one place (the private key's is written in three literals)
        assert source.count(key.pattern) == 1 or key is patterns.PRIVATE_KEY, key.kind
        assert key.full.pattern == key.pattern
        template, branch = key.branch()
        head, _, tail = template.partition("(?P<G>")  # branches sharing a head are merged
        assert head in scan and f"(?P<G>{tail}" in scan and branch.kind in scanned_kinds


def test_one_walk_treats_log_bodies_event_and_link_attributes_alike() -> None:
    flat = {"m": f"mail {EMAIL}", "t": ("ok", f"key {AWS_ACCESS_KEY}"), "n": 1}
    flat_redacted = {"m": "mail [REDACTED:email]", "t": ("ok", "key [REDACTED:aws_access_key]"), "n": 1}
    nested = {"outer": [flat, {"deeper": (f"to {EMAIL}",)}], "raw": b"bytes"}
    nested_redacted = {"outer": [flat_redacted, {"deeper": ("to [REDACTED:email]",)}], "raw": b"bytes"}

    counts: Counter[str] = Counter()
    assert walk(nested, Redactor().leaf(counts)) == nested_redacted
    assert counts == Counter({"email": 2, "aws_access_key": 1})
    clean = {"a": ["x", ("y", 1)]}
    assert walk(clean, Redactor().leaf(Counter())) is clean

    before = redaction_counts()
    spans = InMemorySpanExporter()
    linked = SpanContext(0x1, 0x2, is_remote=True)
    span = ReadableSpan("s", attributes={"k": "v"}, events=[Event("e", flat)], links=[Link(linked, flat)])
    assert RedactingSpanExporter(spans, Redactor()).export([span]) is SpanExportResult.SUCCESS
    (exported,) = spans.get_finished_spans()
    assert dict(exported.events[0].attributes or {}) == flat_redacted
    assert dict(exported.links[0].attributes or {}) == flat_redacted
    assert (exported.attributes or {})["k"] == "v"

    logs = InMemoryLogRecordExporter()
    RedactingLogExporter(logs, Redactor()).export([_readable(nested, flat)])
    (record,) = logs.get_finished_logs()
    assert record.log_record.body == nested_redacted
    attrs = dict(record.log_record.attributes or {})
    assert {k: attrs[k] for k in flat} == flat_redacted
    assert _counted_since(before) == Counter({"email": 5, "aws_access_key": 4})


def test_fail_closed_uses_the_same_walk_for_links_and_log_bodies() -> None:
    counts: Counter[str] = Counter()
    assert walk({"a": ["x", 1, ("y",)]}, fail_closed_leaf(counts)) == {
        "a": ["[REDACTED:error]", 1, ("[REDACTED:error]",)]
    }
    assert counts == Counter({"error": 2})

    spans = InMemorySpanExporter()
    linked = SpanContext(0x1, 0x2, is_remote=True)
    span = ReadableSpan("s", attributes={"n": 1}, links=[Link(linked, {"why": "boom", "n": 2})])
    RedactingSpanExporter(spans, _ExplodingRedactor()).export([span])
    (exported,) = spans.get_finished_spans()
    assert dict(exported.links[0].attributes or {}) == {"why": "[REDACTED:error]", "n": 2}
    assert (exported.attributes or {})[REDACTED_COUNT_ATTRIBUTE] == 2  # the link's string and the span name
