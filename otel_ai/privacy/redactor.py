"""The :class:`Redactor`, and the one walk that applies it to attribute-like values.

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
6. ``custom``: the user's patterns (``OTEL_AI_REDACT_PATTERNS``, see
   :func:`otel_ai.privacy.patterns.parse_patterns`).

Performance: a string with nothing to redact is returned as the very same object after a few
C-level scans, about 3 microseconds for 200 characters of prose, JSON or URLs (see
:mod:`otel_ai.privacy.patterns` for how); e-mail and URL-password patterns run only on text
holding "@".
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_ai.privacy.patterns import (
    EMAIL_DOMAIN_RE,
    EMAIL_LOCAL_CHARS,
    IBAN_RE,
    NUMBER_CLUSTER_RE,
    NUMBER_META,
    NUMBER_RE,
    PROVIDER_META,
    PROVIDER_RE,
    URL_PASSWORD_RE,
    Branch,
    digit_count,
    iban_valid,
    number_gate,
)

__all__ = ["ERROR_KIND", "ERROR_PLACEHOLDER", "Leaf", "Redactor", "fail_closed_leaf", "walk"]

ERROR_KIND = "error"
ERROR_PLACEHOLDER = "[REDACTED:error]"
_MIN_SECRET_LENGTH = 8

Leaf = Callable[[str], str]


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

        first = PROVIDER_RE.search(text)
        if first is not None:
            for m in PROVIDER_RE.finditer(text, first.start()):
                spans = _accept(m, PROVIDER_META, text, spans)

        if "@" in text:
            if "://" in text:
                for m in URL_PASSWORD_RE.finditer(text):
                    if spans is None:
                        spans = _Spans()
                    spans.add(m.start("v"), m.end("v"), "url_password")
            for m in EMAIL_DOMAIN_RE.finditer(text):
                start = m.start()
                while start > 0 and text[start - 1] in EMAIL_LOCAL_CHARS and m.start() - start < 64:
                    start -= 1
                while start < m.start() and text[start] == ".":
                    start += 1
                if start < m.start():
                    if spans is None:
                        spans = _Spans()
                    spans.add(start, m.end(), "email")

        numbers, ibans = number_gate(text)
        if ibans:
            for m in IBAN_RE.finditer(text):
                if iban_valid(m.group()):
                    if spans is None:
                        spans = _Spans()
                    spans.add(m.start(), m.end(), "iban")
        if numbers:
            for cluster in NUMBER_CLUSTER_RE.finditer(text):
                if digit_count(cluster.group()) < 9:
                    continue
                # +2: the trailing look-aheads must see the real characters after the cluster
                for m in NUMBER_RE.finditer(text, cluster.start(), cluster.end() + 2):
                    spans = _accept(m, NUMBER_META, text, spans)

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
        counts: Counter[str] = Counter()
        new = walk(value, self.leaf(counts))
        return (value, None) if new is value else (new, counts)

    def leaf(self, counts: Counter[str]) -> Leaf:
        """A :func:`walk` leaf that redacts each string and adds what it found to ``counts``."""
        redact = self.redact

        def redact_counting(text: str) -> str:
            new, found = redact(text)
            if found:
                counts.update(found)
            return new

        return redact_counting


def fail_closed_leaf(counts: Counter[str]) -> Leaf:
    """A :func:`walk` leaf for when redaction failed: every string becomes ``[REDACTED:error]``."""

    def replace(_: str) -> str:
        counts[ERROR_KIND] += 1
        return ERROR_PLACEHOLDER

    return replace


def walk(value: Any, leaf: Leaf) -> Any:
    """Apply ``leaf`` to every string inside str / mapping / list / tuple values.

    Containers are copied only where a string changed, so a clean value comes back as the very
    same object and the caller's data (which other processors may hold) is never mutated.
    """
    if isinstance(value, str):
        return leaf(value)
    if isinstance(value, Mapping):
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            new_item = walk(item, leaf)
            if new_item is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = new_item
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        items: list[Any] | None = None
        for i, item in enumerate(value):
            new_item = walk(item, leaf)
            if new_item is not item:
                if items is None:
                    items = list(value)
                items[i] = new_item
        if items is None:
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def _accept(m: re.Match[str], meta: Mapping[str, Branch], text: str, spans: _Spans | None) -> _Spans | None:
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
