"""Fake credentials, the cases of each kind and the helpers that the redaction tests share.

Every secret-looking value below is fake; tokens with well-known prefixes are assembled at run
time so that secret scanners do not flag this file.
"""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from opentelemetry._logs import LogRecord as APILogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from otel_ai.privacy.exporters import RedactingLogExporter
from otel_ai.privacy.patterns import parse_patterns
from otel_ai.privacy.redactor import Redactor

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


ANN_EMAIL = "ann.lee@example.com"


def redacted(text: str, *secret_literals: str) -> str:
    redactor = Redactor()
    for literal in secret_literals:
        redactor.add_secret(literal)
    return redactor.redact(text)[0]


def _logging(redactor: Redactor) -> tuple[LoggerProvider, InMemoryLogRecordExporter, RedactingLogExporter]:
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, redactor)
    provider = LoggerProvider(resource=Resource.create({"service.name": "redaction-test"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider, memory, exporter


def _readable(body: Any, attributes: dict[str, Any] | None = None) -> ReadableLogRecord:
    return ReadableLogRecord(
        log_record=APILogRecord(body=body, attributes=attributes, severity_number=SeverityNumber.INFO),
        resource=Resource.create({}),
        instrumentation_scope=InstrumentationScope("scope"),
    )


CUSTOM_PATTERN = "internal-ref-[A-Z0-9]{12}"
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,  # no .hypothesis directory in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
KEY_CHARS = ALNUM + "-_"

REDACTOR = Redactor(parse_patterns(CUSTOM_PATTERN))


@dataclass(frozen=True)
class Secret:
    kind: str
    value: str  # must never be in the output
    text: str  # as written (with the label or scheme that makes it recognizable)


def chars(alphabet: str, min_size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=min_size if max_size is None else max_size)


@st.composite
def huggingface_tokens(draw: st.DrawFn) -> str:
    body = list(draw(chars(string.ascii_letters, 34)))
    body[draw(st.integers(0, 33))] = draw(st.sampled_from(string.ascii_uppercase))
    body[draw(st.integers(0, 33))] = draw(st.sampled_from(string.ascii_lowercase))
    return "hf_" + "".join(body)
