"""Redaction of secrets and personal data before anything leaves the process.

Every exported span attribute, span event and link attribute, span status description and log
record body and attribute passes through one :class:`Redactor`, wired in front of the real
exporters by :class:`RedactingSpanExporter` and :class:`RedactingLogExporter`.

A match is replaced by ``[REDACTED:<kind>]``. Kinds, in the order they are applied (where two
matches overlap the earlier kind wins and the later match is dropped):

1. ``secret``: exact strings registered with :meth:`Redactor.add_secret` (the API key the
   application's own client uses, say), found even where no pattern would match them.
2. Provider keys and tokens: ``deepseek_key`` (``sk-`` + 32 lowercase hex), ``openai_key``
   (``sk-``, ``sk-proj-``, ``sk-svcacct-``, ``sk-admin-``; other ``sk-`` keys too),
   ``elevenlabs_key`` (``sk_`` + 48 hex, and the value after an ``xi-api-key`` label),
   ``aws_access_key`` (``AKIA``/``ASIA`` + 16), ``aws_secret_key`` (40-character value after an
   ``aws_secret_access_key`` / ``SecretAccessKey`` style label), ``github_token`` (``ghp_ gho_
   ghu_ ghs_ ghr_ github_pat_``), ``slack_token`` (``xoxb- xoxp- xoxa- xoxr- xoxs-`` and
   ``hooks.slack.com`` webhook URLs), ``jwt``, ``bearer_token`` (``Bearer <token>``: the word
   is kept; a provider key after it is named by its provider).
3. ``url_password`` (``scheme://user:PASSWORD@host``: user and host kept), ``email``.
4. ``iban`` (country code, check digits, BBAN; mod-97 valid and of the country's length).
5. ``card_number`` (13-19 digits, optionally grouped by spaces or dashes, Luhn-valid, with the
   prefix and length of a card network), ``phone`` (``+CC`` international, US ``(415)
   555-2671`` / ``415-555-2671`` and European ``030 12345678`` / ``06 12 34 56 78`` forms;
   national forms need separators, so timestamps, ids and token counts are never phones).
6. ``custom``: the user's patterns (``OTEL_AI_REDACT_PATTERNS``, see :func:`parse_patterns`).

Performance: a string with nothing to redact is returned as the very same object after a few
C-level scans, about 3 microseconds for 200 characters of prose, JSON or URLs. The provider
pattern is one alternation whose branches all start with a literal character, so the engine's
first-character scan skips everything else; e-mail and URL-password patterns run only on text
holding "@"; the digit-led kinds run only where a byte "shape" of the text shows 9 digits in a
row, and then only inside those digit runs.
"""

from __future__ import annotations

import bisect
import copy
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AnyValue, AttributeValue

from otel_ai.errors import ConfigError
from otel_ai.sdk.guard import report

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import ReadableLogRecord
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
else:  # pragma: no cover - depends on the installed SDK
    try:  # SDK >= 1.39
        from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
    except ImportError:  # SDK 1.38: same interface under the older names, batches of LogData
        from opentelemetry.sdk._logs.export import LogExporter as LogRecordExporter
        from opentelemetry.sdk._logs.export import LogExportResult as LogRecordExportResult

__all__ = [
    "REDACTED_COUNT_ATTRIBUTE",
    "REDACTED_KINDS_ATTRIBUTE",
    "RedactingLogExporter",
    "RedactingSpanExporter",
    "Redactor",
    "parse_patterns",
]

_logger = logging.getLogger(__name__)

REDACTED_COUNT_ATTRIBUTE = "otel_ai.redacted.count"
REDACTED_KINDS_ATTRIBUTE = "otel_ai.redacted.kinds"
ERROR_KIND = "error"
_ERROR_PLACEHOLDER = "[REDACTED:error]"
_MIN_SECRET_LENGTH = 8

RedactionCallback = Callable[["Counter[str]"], None]

# --------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------

_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


_NUMBER_SEPARATORS = b" ().+/-"


def _digits(value: str) -> str:
    """The digits of a digit-and-separator run (what the number patterns match)."""
    return value.encode("ascii", "ignore").translate(None, _NUMBER_SEPARATORS).decode("ascii")


def luhn_valid(number: str) -> bool:
    """Luhn (mod 10) check of a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616 check: country length (where known) and mod-97 == 1."""
    iban = candidate.replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and expected != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _issuer_length_ok(digits: str) -> bool:
    """Issuer prefix and length of the major card networks (so timestamps and ids rarely qualify)."""
    n = len(digits)
    first = digits[0]
    if first == "4":  # Visa
        return n in (13, 16, 19)
    if first == "5":  # Mastercard 51-55; Maestro 50, 56-59
        return n == 16 if digits[1] in "12345" else 12 <= n <= 19
    if first == "2":  # Mastercard 2221-2720
        return n == 16 and 2221 <= int(digits[:4]) <= 2720
    if first == "3":
        if digits[:2] in ("34", "37"):  # American Express
            return n == 15
        if digits[:2] in ("36", "38", "39") or 300 <= int(digits[:3]) <= 305:  # Diners Club
            return 14 <= n <= 19
        return 3528 <= int(digits[:4]) <= 3589 and 16 <= n <= 19  # JCB
    if first == "6":  # Discover, UnionPay, Maestro, RuPay
        return 16 <= n <= 19
    return False


def _card_ok(value: str) -> bool:
    if value[0] not in "23456":  # no card network: cheap exit for timestamps and ids
        return False
    digits = _digits(value)
    return 13 <= len(digits) <= 19 and _issuer_length_ok(digits) and luhn_valid(digits)


def _phone_ok(value: str) -> bool:
    return 9 <= len(_digits(value)) <= 15


def _national_phone_ok(value: str) -> bool:
    return 9 <= len(_digits(value)) <= 13


# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

_DEEPSEEK_FULL = re.compile(r"sk-[0-9a-f]{32}")
_OPENAI_BODY_SIGNAL = re.compile(r"[0-9A-Z]")  # real keys are random: digits or capitals
_TOKEN_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_DEEPSEEK_FULL, "deepseek_key"),
    (re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), "openai_key"),
    (re.compile(r"sk_[0-9a-f]{48}"), "elevenlabs_key"),
    (re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,245})"), "github_token"),
    (re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}"), "slack_token"),
    (re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}"), "aws_access_key"),
)


def _classify_sk(value: str) -> str | None:
    if _DEEPSEEK_FULL.fullmatch(value):
        return "deepseek_key"
    body = value[3:]
    if body.startswith(("proj-", "svcacct-", "admin-")):
        return "openai_key"
    return "openai_key" if _OPENAI_BODY_SIGNAL.search(body) else None


def _classify_bearer(value: str) -> str | None:
    for pattern, kind in _TOKEN_KINDS:
        if pattern.fullmatch(value):
            return kind
    # Real tokens are long or hold digits or token punctuation; "bearer instruments" is prose.
    if len(value) >= 20 or any(("0" <= ch <= "9") or ch in "._~+/=" for ch in value):
        return "bearer_token"
    return None


@dataclass(frozen=True)
class _Branch:
    """One alternative of a combined pattern, identified by its single named group."""

    kind: str
    classify: Callable[[str], str | None] | None = None  # returns the kind, or None to reject
    back: int = 0  # characters before the match start that belong to the redacted value
    whole: bool = True  # redact from (match start - back) to match end; else just the group


# Each alternative starts with one literal character so that the engine's first-character scan
# (C code, no per-position matching) can skip everything else; the characters before it are
# checked with look-behinds and folded into the replaced span with ``back``.
_KEY_CHARS = r"[A-Za-z0-9_-]"
_LABEL_VALUE_SEP = r"""["']?[ \t]*[:=][ \t]*["']?"""
# "(?P<G>" marks the single named group of each alternative.
_PROVIDER_BRANCHES: list[tuple[str, _Branch]] = [
    # sk- keys (OpenAI, DeepSeek), sk_ keys (ElevenLabs): anchored on the "k"
    (rf"k(?<=sk)(?<!{_KEY_CHARS}sk)(?P<G>-[A-Za-z0-9_-]{{20,}})", _Branch("openai_key", _classify_sk, 1)),
    (
        rf"k(?<=sk)(?<!{_KEY_CHARS}sk)(?P<G>_[0-9a-f]{{48}})(?!{_KEY_CHARS})",
        _Branch("elevenlabs_key", back=1),
    ),
    # Slack webhook URL: anchored on the "k" of "hooks"; the scheme stays visible
    (
        r"k(?<=hook)(?<![A-Za-z0-9.-]hook)(?P<G>s\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]+)",
        _Branch("slack_token", back=3),
    ),
    (r"A(?<![A-Za-z0-9].)(?P<G>(?:KIA|SIA)[A-Z0-9]{16})(?![A-Za-z0-9])", _Branch("aws_access_key")),
    (
        r"g(?<![A-Za-z0-9_].)(?P<G>h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{22,245})"
        r"(?![A-Za-z0-9_])",
        _Branch("github_token"),
    ),
    (r"x(?<![A-Za-z0-9].)(?P<G>ox[abprs]-[A-Za-z0-9-]{10,})", _Branch("slack_token")),
    # JWT: anchored on the "J" of "eyJ"
    (
        rf"J(?<=eyJ)(?<!{_KEY_CHARS}eyJ)(?P<G>[A-Za-z0-9_-]{{5,}}\.[A-Za-z0-9_-]{{5,}}\.[A-Za-z0-9_-]*)",
        _Branch("jwt", back=2),
    ),
    # Labelled values: only the value is replaced
    *[
        (
            rf"{first}(?<![A-Za-z0-9_].)(?i:earer)[ \t]+(?P<G>[A-Za-z0-9._~+/-]{{8,}}=*)",
            _Branch("bearer_token", _classify_bearer, whole=False),
        )
        for first in "Bb"
    ],
    *[
        (
            rf"{first}(?<!{_KEY_CHARS}.)(?i:i[-_]api[-_]key){_LABEL_VALUE_SEP}(?P<G>[A-Za-z0-9_-]{{16,}})",
            _Branch("elevenlabs_key", whole=False),
        )
        for first in "xX"
    ],
    *[
        (
            rf"{first}(?<=[sS][eE][cC])(?i:ret[-_]?(?:access[-_]?)?key){_LABEL_VALUE_SEP}"
            r"(?P<G>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
            _Branch("aws_secret_key", whole=False),
        )
        for first in "cC"
    ],
]

# Digit-led kinds share one first-character class; a digit in the middle of a run never starts
# a match. The combined pattern only runs inside clusters of digits and separators found by
# _NUMBER_CLUSTER_RE (cheap), and only when _number_gate() says such a cluster can exist.
_NUMBER_PREFIX = r"[0-9+(](?<![0-9].)"
_NOT_AFTER = r"(?![\w]|[.,/-][0-9])"
_NUMBER_BRANCHES: list[tuple[str, _Branch]] = [
    (
        r"(?<=\+)(?<![\w+]\+)(?P<G>[1-9][0-9]{0,2}(?:[ .-]?\([0-9]{1,4}\))?[ .-]?[0-9]+(?:[ .-][0-9]+){0,5})"
        r"(?![\w])",
        _Branch("phone", lambda v: "phone" if _phone_ok(v) else None),
    ),
    (
        rf"(?<=\()(?<![\w]\()(?P<G>[0-9]{{3}}\)[ .-]?[0-9]{{3}}[ .-][0-9]{{4}}){_NOT_AFTER}",
        _Branch("phone"),
    ),
    (
        rf"(?<=[0-9])(?<![\w.+-].)(?P<G>(?:[ -]?[0-9]){{12,18}}){_NOT_AFTER}",
        _Branch("card_number", lambda v: "card_number" if _card_ok(v) else None),
    ),
    (
        rf"(?<=[0-9])(?<![\w.+-].)(?P<G>[0-9]{{2}}[ .-][0-9]{{3}}[ .-][0-9]{{4}}){_NOT_AFTER}",
        _Branch("phone"),
    ),
    (
        rf"(?<=1)(?<![\w.+-].)(?P<G>[ .-][0-9]{{3}}[ .-][0-9]{{3}}[ .-][0-9]{{4}}){_NOT_AFTER}",
        _Branch("phone"),
    ),
    (
        r"(?<=0)(?<![\w.+-].)(?P<G>[1-9](?:[ .-][0-9]{2}){4}|[0-9]{1,4}[ /-][0-9]{3,8}(?:[ -][0-9]{2,5})?)"
        + _NOT_AFTER,
        _Branch("phone", lambda v: "phone" if _national_phone_ok(v) else None),
    ),
]


def _combine(
    prefix: str, branches: list[tuple[str, _Branch]], tag: str
) -> tuple[re.Pattern[str], dict[str, _Branch]]:
    parts: list[str] = []
    meta: dict[str, _Branch] = {}
    for i, (template, branch) in enumerate(branches):
        name = f"{tag}{i}"
        assert template.count("(?P<G>") == 1, template
        parts.append(template.replace("(?P<G>", f"(?P<{name}>"))
        meta[name] = branch
    body = "|".join(parts)
    return re.compile(f"{prefix}(?:{body})" if prefix else body), meta


_PROVIDER_RE, _PROVIDER_META = _combine("", _PROVIDER_BRANCHES, "p")
_NUMBER_RE, _NUMBER_META = _combine(_NUMBER_PREFIX, _NUMBER_BRANCHES, "n")
# A run of digits and separators (at least 8 characters); the detailed pattern runs inside the
# runs that hold 9 digits or more (every phone number and card number does: international
# numbers count the country code), so dates, versions, IPs and short numbers never reach it.
_NUMBER_CLUSTER_RE = re.compile(r"[0-9+(][0-9 ().+/-]{7,}")
_IBAN_RE = re.compile(
    r"[A-Z](?<![A-Za-z0-9].)[A-Z][0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"
)
# Cheap gate for the digit-led kinds, on a byte "shape" of the text: digits -> "0", capitals ->
# "A", separators dropped, anything else -> "x". Every phone or card number then shows 9 digits
# in a row; so does every IBAN (its account number), which also shows "AA00" and 11 or more
# capitals or digits after it.
_GATE_TABLE = bytes(48 if 48 <= c <= 57 else 65 if 65 <= c <= 90 else 120 for c in range(256))
_IBAN_SHAPE_RE = re.compile(rb"AA00[A0]{11}")


def _number_gate(text: str) -> tuple[bool, bool]:
    """(may hold a phone or card number, may hold an IBAN)."""
    shape = text.encode("utf-8", "surrogatepass").translate(_GATE_TABLE, _NUMBER_SEPARATORS)
    if b"000000000" not in shape:
        return False, False
    return True, _IBAN_SHAPE_RE.search(shape) is not None


_URL_PASSWORD_RE = re.compile(r"""://[^\s:/?#@"'<>\[\]]*:(?P<v>[^\s/?#"'<>]+)@""")
_EMAIL_DOMAIN_RE = re.compile(
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)
_EMAIL_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


# --------------------------------------------------------------------------------------------
# Redactor
# --------------------------------------------------------------------------------------------


class _Spans:
    """Accepted replacement spans; an overlapping later candidate is dropped."""

    __slots__ = ("items", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []  # sorted; items[i] starts at starts[i]
        self.items: list[tuple[int, int, str]] = []

    def add(self, start: int, end: int, kind: str) -> None:
        i = bisect.bisect_right(self.starts, start)
        if i > 0 and self.items[i - 1][1] > start:
            return
        if i < len(self.starts) and self.starts[i] < end:
            return
        self.starts.insert(i, start)
        self.items.insert(i, (start, end, kind))


class Redactor:
    """Replaces secrets and personal data in strings with ``[REDACTED:<kind>]``.

    Thread-safe: :meth:`add_secret` may run while other threads call :meth:`redact`.
    """

    def __init__(self, extra_patterns: Sequence[re.Pattern[str]] = ()) -> None:
        self._custom: tuple[re.Pattern[str], ...] = tuple(extra_patterns)
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add_secret(self, literal: str) -> None:
        """Never export ``literal`` (exact match). Strings shorter than 8 characters are ignored."""
        if not isinstance(literal, str) or len(literal) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            if literal in self._secrets:
                return
            # Longest first, so that a secret containing another one is replaced whole.
            self._secrets = tuple(sorted((*self._secrets, literal), key=len, reverse=True))

    def redact(self, text: str) -> tuple[str, Counter[str] | None]:
        """Return ``(redacted text, replacements by kind)``; ``(text, None)``, same object, if clean."""
        spans: _Spans | None = None

        for secret in self._secrets:
            i = text.find(secret)
            while i >= 0:
                if spans is None:
                    spans = _Spans()
                spans.add(i, i + len(secret), "secret")
                i = text.find(secret, i + len(secret))

        first = _PROVIDER_RE.search(text)
        if first is not None:
            for m in _PROVIDER_RE.finditer(text, first.start()):
                spans = _accept(m, _PROVIDER_META, text, spans)

        if "@" in text:
            if "://" in text:
                for m in _URL_PASSWORD_RE.finditer(text):
                    if spans is None:
                        spans = _Spans()
                    spans.add(m.start("v"), m.end("v"), "url_password")
            for m in _EMAIL_DOMAIN_RE.finditer(text):
                start = m.start()
                while start > 0 and text[start - 1] in _EMAIL_LOCAL_CHARS and m.start() - start < 64:
                    start -= 1
                while start < m.start() and text[start] == ".":
                    start += 1
                if start < m.start():
                    if spans is None:
                        spans = _Spans()
                    spans.add(start, m.end(), "email")

        numbers, ibans = _number_gate(text)
        if ibans:
            for m in _IBAN_RE.finditer(text):
                if iban_valid(m.group()):
                    if spans is None:
                        spans = _Spans()
                    spans.add(m.start(), m.end(), "iban")
        if numbers:
            for cluster in _NUMBER_CLUSTER_RE.finditer(text):
                if len(cluster.group().encode("ascii").translate(None, _NUMBER_SEPARATORS)) < 9:
                    continue
                # +2: the trailing look-aheads must see the real characters after the cluster
                for m in _NUMBER_RE.finditer(text, cluster.start(), cluster.end() + 2):
                    spans = _accept(m, _NUMBER_META, text, spans)

        for pattern in self._custom:
            value_group = "value" if "value" in pattern.groupindex else 0
            for m in pattern.finditer(text):
                start, end = m.span(value_group)
                if start < end:
                    if spans is None:
                        spans = _Spans()
                    spans.add(start, end, "custom")

        if spans is None or not spans.items:
            return text, None
        return _apply(text, spans.items)

    def redact_value(self, value: AttributeValue) -> tuple[AttributeValue, Counter[str] | None]:
        """Redact a str, or the strings inside a sequence or mapping value; others are untouched.

        When nothing changed the very same object is returned with ``None``.
        """
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, (bool, int, float, bytes)):
            return value, None
        counts: Counter[str] = Counter()
        new = _redact_nested(self, value, counts)
        return (value, None) if new is value else (new, counts)


def _accept(m: re.Match[str], meta: Mapping[str, _Branch], text: str, spans: _Spans | None) -> _Spans | None:
    group = m.lastgroup
    if group is None:  # pragma: no cover - every alternative has one named group
        return spans
    branch = meta[group]
    if branch.whole:
        start, end = m.start() - branch.back, m.end()
    else:
        start, end = m.span(group)
    kind = branch.kind if branch.classify is None else branch.classify(text[start:end])
    if kind is None:
        return spans
    if spans is None:
        spans = _Spans()
    spans.add(start, end, kind)
    return spans


def _apply(text: str, items: list[tuple[int, int, str]]) -> tuple[str, Counter[str]]:
    out: list[str] = []
    pos = 0
    counts: Counter[str] = Counter()
    for start, end, kind in items:
        out.append(text[pos:start])
        out.append(f"[REDACTED:{kind}]")
        counts[kind] += 1
        pos = end
    out.append(text[pos:])
    return "".join(out), counts


def _redact_nested(redactor: Redactor, value: Any, counts: Counter[str]) -> Any:
    """Redact strings inside str / sequence / mapping values; return ``value`` itself if clean."""
    if isinstance(value, str):
        new, found = redactor.redact(value)
        if found:
            counts.update(found)
        return new
    if isinstance(value, Mapping):
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            new_item = _redact_nested(redactor, item, counts)
            if new_item is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = new_item
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        items: list[Any] | None = None
        for i, item in enumerate(value):
            new_item = _redact_nested(redactor, item, counts)
            if new_item is not item:
                if items is None:
                    items = list(value)
                items[i] = new_item
        if items is None:
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def _error_nested(value: Any) -> tuple[Any, int]:
    """Fail-closed replacement: every string becomes ``[REDACTED:error]``."""
    if isinstance(value, str):
        return _ERROR_PLACEHOLDER, 1
    if isinstance(value, Mapping):
        total = 0
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key], n = _error_nested(item)
            total += n
        return out, total
    if isinstance(value, (list, tuple)):
        total = 0
        new_items: list[Any] = []
        for item in value:
            new_item, n = _error_nested(item)
            new_items.append(new_item)
            total += n
        return (new_items if isinstance(value, list) else tuple(new_items)), total
    return value, 0


# --------------------------------------------------------------------------------------------
# OTEL_AI_REDACT_PATTERNS
# --------------------------------------------------------------------------------------------


def parse_patterns(value: str | None, variable: str = "OTEL_AI_REDACT_PATTERNS") -> list[re.Pattern[str]]:
    """Parse user redaction patterns (Python regular expressions) from an environment variable.

    Format: one regular expression per entry; entries are separated by newlines or by ``;;``.
    A comma or a single ``;`` cannot be the separator because both are common inside regular
    expressions (``\\d{3,4}``, ``[,;]``), while ``;;`` practically never is and still lets the
    value sit on one line in a ``.env`` file or a ``docker run -e``. Whitespace around each entry
    is stripped (write ``\\s`` or ``[ ]`` for a leading or trailing space) and empty entries are
    skipped; empty or unset means no patterns. Inline flags work, e.g. ``(?i)customer-\\d{6}``.

    Each match is replaced by ``[REDACTED:custom]``; if the pattern has a group named ``value``
    only that group is replaced (``token=(?P<value>\\w+)`` keeps ``token=``).

    Raises ConfigError, naming the variable and the 1-based entry number, for an invalid
    regular expression or one that matches the empty string (it would redact everywhere).
    """
    if not value or not value.strip():
        return []
    entries = [part.strip() for line in value.splitlines() for part in line.split(";;")]
    patterns: list[re.Pattern[str]] = []
    for number, entry in enumerate((e for e in entries if e), start=1):
        try:
            pattern = re.compile(entry)
        except re.error as exc:
            raise ConfigError(
                f"{variable}: entry {number} ({entry!r}) is not a valid regular expression: {exc}"
            ) from None
        if pattern.search("") is not None:
            raise ConfigError(
                f"{variable}: entry {number} ({entry!r}) matches the empty string, "
                "so it would redact everywhere; make it match at least one character"
            )
        patterns.append(pattern)
    return patterns


# --------------------------------------------------------------------------------------------
# Exporters
# --------------------------------------------------------------------------------------------

def _notify(callback: RedactionCallback | None, counts: Counter[str]) -> None:
    if callback is None or not counts:
        return
    try:
        callback(counts)
    except Exception as exc:
        report("redaction.callback", exc)


_Item = TypeVar("_Item")


def _redact_batch(
    items: Sequence[_Item],
    redact_one: Callable[[_Item], tuple[_Item | None, Counter[str] | None]],
    on_redacted: RedactionCallback | None,
) -> Sequence[_Item]:
    """Redact a batch; returns the very same sequence when nothing changed (the common case).

    `redact_one` returns the item itself when clean, a copy when redacted, or None to drop it.
    """
    out: list[_Item] | None = None
    total: Counter[str] = Counter()
    for i, item in enumerate(items):
        new, counts = redact_one(item)
        if new is item:
            if out is not None:
                out.append(item)
            continue
        if out is None:
            out = list(items[:i])
        if new is not None:
            out.append(new)
        if counts:
            total.update(counts)
    _notify(on_redacted, total)
    return items if out is None else out


def _summary(counts: Counter[str]) -> dict[str, AnyValue]:
    return {
        REDACTED_COUNT_ATTRIBUTE: sum(counts.values()),
        REDACTED_KINDS_ATTRIBUTE: tuple(sorted(counts)),
    }


def _bounded(values: Mapping[str, Any], original: object, *, immutable: bool = True) -> BoundedAttributes:
    """A BoundedAttributes copy of ``values`` that keeps the original's dropped count."""
    attrs = BoundedAttributes(maxlen=None, attributes=values, immutable=immutable, max_value_len=None)
    if isinstance(original, BoundedAttributes):
        attrs.dropped = original.dropped
    return attrs


def _bounded_list(items: Sequence[Any], dropped: int) -> Sequence[Any]:
    if not dropped:
        return tuple(items)
    bounded: BoundedList[Any] = BoundedList(None)
    bounded.extend(list(items))
    bounded.dropped = dropped
    return bounded


class RedactingSpanExporter(SpanExporter):
    """Redacts spans, then hands them to ``inner``. Clean spans are passed on as the same objects.

    A changed span is exported as a copy carrying ``otel_ai.redacted.count`` (int) and
    ``otel_ai.redacted.kinds`` (sorted kind names, never values). If redaction itself fails for a
    span, every string value of that span is replaced by ``[REDACTED:error]`` (fail closed).
    """

    def __init__(
        self,
        inner: SpanExporter,
        redactor: Redactor,
        on_redacted: RedactionCallback | None = None,
    ) -> None:
        self._inner = inner
        self._redactor = redactor
        self._on_redacted = on_redacted

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            to_export = _redact_batch(spans, self._redact_or_fail_closed, self._on_redacted)
        except Exception as exc:  # the batch itself is unusable: export nothing rather than leak
            report("redaction.span_batch", exc)
            return SpanExportResult.FAILURE
        try:
            return self._inner.export(to_export)
        except Exception:
            _logger.exception("otel_ai: span exporter %s failed", type(self._inner).__name__)
            return SpanExportResult.FAILURE

    def _redact_or_fail_closed(self, span: ReadableSpan) -> tuple[ReadableSpan | None, Counter[str] | None]:
        try:
            return self._redact_span(span)
        except Exception as exc:
            report("redaction.span", exc)
        try:
            return _fail_closed_span(span)
        except Exception as exc:
            report("redaction.span_fail_closed", exc)
            return None, Counter({ERROR_KIND: 1})

    def _redact_span(self, span: ReadableSpan) -> tuple[ReadableSpan, Counter[str] | None]:
        redactor = self._redactor
        counts: Counter[str] = Counter()

        attributes = span.attributes or {}
        new_attributes = _redact_nested(redactor, attributes, counts)

        events = span.events
        new_events: list[Event] | None = None
        for i, event in enumerate(events):
            event_attrs = event.attributes or {}
            redacted = _redact_nested(redactor, event_attrs, counts)
            if redacted is not event_attrs:
                if new_events is None:
                    new_events = list(events)
                new_events[i] = Event(event.name, _bounded(redacted, event.attributes), event.timestamp)

        links = span.links
        new_links: list[Link] | None = None
        for i, link in enumerate(links):
            link_attrs = link.attributes or {}
            redacted = _redact_nested(redactor, link_attrs, counts)
            if redacted is not link_attrs:
                if new_links is None:
                    new_links = list(links)
                new_links[i] = Link(link.context, _bounded(redacted, link.attributes))

        status = span.status
        if status.description:
            description, found = redactor.redact(status.description)
            if found:
                counts.update(found)
                status = Status(status.status_code, description)

        if not counts:
            return span, None
        return _copy_span(span, new_attributes, new_events, new_links, status, counts), counts


def _fail_closed_span(span: ReadableSpan) -> tuple[ReadableSpan, Counter[str]]:
    replaced = 0
    attributes, n = _error_nested(dict(span.attributes or {}))
    replaced += n
    events: list[Event] = []
    for event in span.events:
        event_attrs, n = _error_nested(dict(event.attributes or {}))
        replaced += n
        events.append(Event(event.name, _bounded(event_attrs, event.attributes), event.timestamp))
    links: list[Link] = []
    for link in span.links:
        link_attrs, n = _error_nested(dict(link.attributes or {}))
        replaced += n
        links.append(Link(link.context, _bounded(link_attrs, link.attributes)))
    status = span.status
    if status.description:
        status = Status(status.status_code, _ERROR_PLACEHOLDER)
        replaced += 1
    counts: Counter[str] = Counter({ERROR_KIND: max(replaced, 1)})
    return _copy_span(span, attributes, events, links, status, counts), counts


def _copy_span(
    span: ReadableSpan,
    attributes: Mapping[str, Any],
    events: Sequence[Event] | None,
    links: Sequence[Link] | None,
    status: Status,
    counts: Counter[str],
) -> ReadableSpan:
    merged = dict(attributes)
    merged.update(_summary(counts))
    original_attributes = getattr(span, "_attributes", None)
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_bounded(merged, original_attributes),
        events=_bounded_list(span.events if events is None else events, span.dropped_events),
        links=_bounded_list(span.links if links is None else links, span.dropped_links),
        kind=span.kind,
        instrumentation_info=getattr(span, "_instrumentation_info", None),
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingLogExporter(LogRecordExporter):
    """Redacts log record bodies (str or nested dict/list of str) and attributes, then exports.

    Works with the SDK's ``ReadableLogRecord`` (SDK >= 1.39) and ``LogData`` (1.38) batches: a
    changed record is exported as a shallow copy with a copied API ``LogRecord``, keeping trace
    and span ids, flags, severity, timestamps, event name, resource, scope and limits.
    """

    def __init__(
        self,
        inner: LogRecordExporter,
        redactor: Redactor,
        on_redacted: RedactionCallback | None = None,
    ) -> None:
        self._inner = inner
        self._redactor = redactor
        self._on_redacted = on_redacted

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            to_export = _redact_batch(batch, self._redact_or_fail_closed, self._on_redacted)
        except Exception as exc:
            report("redaction.log_batch", exc)
            return LogRecordExportResult.FAILURE
        try:
            return self._inner.export(to_export)
        except Exception:
            _logger.exception("otel_ai: log exporter %s failed", type(self._inner).__name__)
            return LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        self._inner.shutdown()  # type: ignore[no-untyped-call]  # untyped in the SDK

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def _redact_or_fail_closed(
        self, item: ReadableLogRecord
    ) -> tuple[ReadableLogRecord | None, Counter[str] | None]:
        try:
            return self._redact_record(item)
        except Exception as exc:
            report("redaction.log", exc)
        try:
            record = item.log_record
            body, n_body = _error_nested(record.body)
            attributes, n_attrs = _error_nested(dict(record.attributes or {}))
            counts: Counter[str] = Counter({ERROR_KIND: max(n_body + n_attrs, 1)})
            return _copy_log(item, body, attributes, counts), counts
        except Exception as exc:
            report("redaction.log_fail_closed", exc)
            return None, Counter({ERROR_KIND: 1})

    def _redact_record(self, item: ReadableLogRecord) -> tuple[ReadableLogRecord, Counter[str] | None]:
        record = item.log_record
        counts: Counter[str] = Counter()
        body = _redact_nested(self._redactor, record.body, counts)
        attributes = record.attributes or {}
        new_attributes = _redact_nested(self._redactor, attributes, counts)
        if not counts:
            return item, None
        return _copy_log(item, body, new_attributes, counts), counts


def _copy_log(
    item: ReadableLogRecord, body: AnyValue, attributes: Mapping[str, Any], counts: Counter[str]
) -> ReadableLogRecord:
    record = item.log_record
    new_record = copy.copy(record)
    new_record.body = body
    merged = dict(attributes)
    merged.update(_summary(counts))
    # Log attributes may hold nested values: keep the SDK's extended-attribute cleaning (1.38
    # needs the flag; later versions always clean that way and ignore it).
    new_attributes = BoundedAttributes(
        maxlen=None, attributes=merged, immutable=False, max_value_len=None, extended_attributes=True
    )
    if isinstance(record.attributes, BoundedAttributes):
        new_attributes.dropped = record.attributes.dropped
    new_record.attributes = new_attributes
    new_item = copy.copy(item)
    # ReadableLogRecord is a frozen dataclass; LogData (SDK 1.38) is a plain object.
    object.__setattr__(new_item, "log_record", new_record)
    return new_item
