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
6. ``url_credential``: the value of a URL query parameter named like a credential
   (``?api_key=``, ``&token=``, ``&sig=``, ...), whatever its format.
7. ``custom``: the user's patterns (``OTEL_AI_REDACT_PATTERNS``, run on RE2, see
   :func:`otel_ai.privacy.patterns.parse_patterns`).

Escaped text: exported strings are often JSON or ``repr()`` output, where a newline is the two
characters ``\\n`` and a secret at the start of a line follows the letter ``n``. The scan runs on a
*view* of the text in which every escape sequence is blanked to NUL characters of the same length
(``\\"`` keeps its quote), so escapes are word boundaries; replacements are then widened to whole
escape sequences, so a redacted JSON string stays valid JSON.

Walking values (:func:`walk`): mapping keys are redacted like values; a value whose key names a
credential (``x-api-key``, ``authorization``, ``*_token``, ``password``, ``cookie``, ...; the
last dotted segment of attribute names such as ``http.request.header.x-internal-token``) is
replaced whole by ``[REDACTED:credential]``; the GenAI content attributes (JSON documents) are
parsed, walked and serialized again, so their result is always valid JSON; in log bodies and
content, integers long enough to be a card or phone number are checked as text. Strings that
cannot be encoded as UTF-8 (lone surrogates) get U+FFFD in place of the bad characters, so one
bad value never fails a whole export batch.

Performance: a string with nothing to redact is returned as the very same object after a few
C-level scans, about 3 microseconds for 200 characters of prose, JSON or URLs (see
:mod:`otel_ai.privacy.patterns` for how); e-mail and URL-password patterns run only on text
holding "@".

Modules: this one (the :class:`Redactor` and its scan of one string), :mod:`~otel_ai.privacy.scan`
(escape views, spans, second chances), :mod:`~otel_ai.privacy.structure` (the walk over values and
its leaves); the names of :mod:`~otel_ai.privacy.structure` are re-exported here.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from opentelemetry.util.types import AttributeValue

from otel_ai.privacy.patterns import (
    EMAIL_DOMAIN_RE,
    EMAIL_LOCAL_CHARS,
    IBAN_RE,
    LABEL_SCANS,
    NUMBER_CLUSTER_RE,
    NUMBER_META,
    NUMBER_RE,
    PROVIDER_META,
    PROVIDER_RE,
    URL_CREDENTIAL_RE,
    URL_CREDENTIAL_START_RE,
    URL_PASSWORD_RE,
    UserPattern,
    digit_count,
    iban_valid,
    number_gate,
)
from otel_ai.privacy.scan import (
    DOUBLE_ESCAPE_RE,
    MULTI_ESCAPE_RE,
    PERCENT_ESCAPE_RE,
    SURROGATE_RE,
    Spans,
    accept,
    apply,
    escape_view,
    merge_intervals,
    scan_combined,
    url_decoded,
    widen,
)
from otel_ai.privacy.structure import (
    CACHE_LIMIT,
    CACHE_MAX_LENGTH,
    CONTENT_ATTRIBUTES,
    CREDENTIAL_PLACEHOLDER,
    ERROR_KIND,
    ERROR_PLACEHOLDER,
    KEY_CLEAN,
    KEY_CONTENT,
    KEY_CREDENTIAL,
    KEY_REDACT,
    FailClosed,
    Leaf,
    encodable,
    fail_closed_leaf,
    names_credential,
    walk,
)

__all__ = [
    "CONTENT_ATTRIBUTES",
    "CREDENTIAL_PLACEHOLDER",
    "ERROR_KIND",
    "ERROR_PLACEHOLDER",
    "FailClosed",
    "Leaf",
    "Redactor",
    "encodable",
    "fail_closed_leaf",
    "walk",
]

_MIN_SECRET_LENGTH = 8


class Redactor:
    """Replaces secrets and personal data in strings with ``[REDACTED:<kind>]``.

    Thread-safe: :meth:`add_secret` may run while other threads call :meth:`redact`.
    """

    def __init__(self, extra_patterns: Sequence[UserPattern] = ()) -> None:
        self._custom: tuple[tuple[UserPattern, int], ...] = tuple(
            (pattern, pattern.groupindex.get("value", 0)) for pattern in extra_patterns
        )
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, Counter[str] | None]] = {}
        # Mapping keys that repeat (attribute names): key -> (what the walk does with its value).
        self._keys: dict[str, int] = {}

    def key_role(self, key: str) -> int:
        """How the walk treats a key: 0 clean, 1 names a credential, 2 a content document, 3 redact it.

        Attribute names are few and repeat on every span: answered from a bounded cache.
        """
        role = self._keys.get(key)
        if role is None:
            if len(key) > CACHE_MAX_LENGTH or self.redact(encodable(key))[1] is not None or not key.isprintable():
                role = KEY_REDACT
            elif names_credential(key):
                role = KEY_CREDENTIAL
            elif key in CONTENT_ATTRIBUTES:
                role = KEY_CONTENT
            else:
                role = KEY_CLEAN
            if role != KEY_REDACT and len(self._keys) < CACHE_LIMIT:
                self._keys[key] = role
        return role

    def add_secret(self, literal: str) -> None:
        """Never export ``literal`` (exact match). Strings shorter than 8 characters are ignored."""
        if not isinstance(literal, str) or len(literal) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            if literal in self._secrets:
                return
            # Longest first, so that a secret containing another one is replaced whole.
            self._secrets = tuple(sorted((*self._secrets, literal), key=len, reverse=True))
            self._cache = {}  # a cached "clean" answer may hold the new secret
            self._keys = {}

    @property
    def has_custom(self) -> bool:
        return bool(self._custom)

    def redact(self, text: str) -> tuple[str, Counter[str] | None]:
        """Return ``(redacted text, replacements by kind)``; ``(text, None)``, same object, if clean."""
        spans: Spans | None = None

        for secret in self._secrets:
            i = text.find(secret)
            while i >= 0:
                if spans is None:
                    spans = Spans()
                spans.add(i, i + len(secret), "secret")
                i = text.find(secret, i + len(secret))

        escapes: tuple[list[int], list[int]] | None = None
        view = text
        if "\\" in text:
            view, starts, ends = escape_view(text)
            if starts:
                escapes = (starts, ends)

        spans = self._scan(view, spans)
        if escapes is not None:
            starts, ends = escapes
            if DOUBLE_ESCAPE_RE.search(text) is not None:
                twice, starts2, ends2 = escape_view(text, MULTI_ESCAPE_RE)
                spans = self._scan(twice, spans)
                # Widened to the escapes of both readings, so the text stays valid at both levels
                # (a literal backslash next to a secret may go with it).
                starts, ends = merge_intervals(starts + starts2, ends + ends2)
            if spans is not None:  # replacements cover whole escapes: redacted JSON stays JSON
                spans = Spans.of(widen(spans.items, starts, ends))
        if "%" in view and PERCENT_ESCAPE_RE.search(view) is not None:
            # URL-encoded text (a query string: "jane%40example.com", "4111+1111+..."): scanned
            # decoded as well, each find mapped back to the encoded characters it came from.
            readings = [url_decoded(view)]
            if "+" in view and escapes is None:  # a URL path keeps "+" as itself (a key with "+" in it)
                readings.append(url_decoded(view, plus=False))
            for decoded, index in readings:
                found = self._scan(decoded, None)
                if found is not None:
                    if spans is None:
                        spans = Spans()
                    for start, end, kind in found.items:
                        spans.add(index[start], index[end], kind)

        if spans is None or not spans.items:
            return text, None
        return apply(text, spans.items)

    def _scan(self, view: str, spans: Spans | None) -> Spans | None:
        """Every pattern kind over ``view`` (the text, or its escape-blanked or URL-decoded view)."""
        spans = scan_combined(PROVIDER_RE, PROVIDER_META, view, 0, len(view), spans)
        for word, regex, meta in LABEL_SCANS:  # password=..., Basic ...: only where the word is
            if word in view:
                for m in regex.finditer(view):
                    spans = accept(m, meta, view, spans)[0]

        if "@" in view:
            if "://" in view:
                for m in URL_PASSWORD_RE.finditer(view):
                    if spans is None:
                        spans = Spans()
                    spans.add(m.start("v"), m.end("v"), "url_password")
            for m in EMAIL_DOMAIN_RE.finditer(view):
                start = m.start()
                while start > 0 and view[start - 1] in EMAIL_LOCAL_CHARS and m.start() - start < 64:
                    start -= 1
                while start < m.start() and view[start] == ".":
                    start += 1
                if start < m.start():
                    if spans is None:
                        spans = Spans()
                    spans.add(start, m.end(), "email")

        if "=" in view:
            first_parameter = URL_CREDENTIAL_START_RE.match(view)
            if first_parameter is not None:
                if spans is None:
                    spans = Spans()
                spans.add(first_parameter.start("v"), first_parameter.end("v"), "url_credential")
            if "?" in view or "&" in view or ";" in view:
                for m in URL_CREDENTIAL_RE.finditer(view):
                    if spans is None:
                        spans = Spans()
                    spans.add(m.start("v"), m.end("v"), "url_credential")

        numbers, ibans = number_gate(view)
        if ibans:
            pos = 0
            while (candidate := IBAN_RE.search(view, pos)) is not None:
                # The pattern may run on into what follows (another IBAN, a number's groups):
                # shorter candidates, cut at a space, longest first, get their check too.
                start, stop = candidate.span()
                ends = [stop, *(i for i in range(stop - 1, start, -1) if view[i] == " ")]
                end = next((e for e in ends if iban_valid(view[start:e])), None)
                if end is None:
                    pos = stop
                    continue
                if spans is None:
                    spans = Spans()
                spans.add(start, end, "iban")
                pos = end
        if numbers:
            for cluster in NUMBER_CLUSTER_RE.finditer(view):
                if digit_count(cluster.group()) < 9:
                    continue
                # +2: the trailing look-aheads must see the real characters after the cluster
                spans = scan_combined(
                    NUMBER_RE, NUMBER_META, view, cluster.start(), cluster.end() + 2, spans, trim=True
                )

        if self._custom and not view.isascii():
            view = SURROGATE_RE.sub("\ufffd", view)  # RE2 takes UTF-8; same length, same offsets
        for pattern, value_group in self._custom:
            for m in pattern.finditer(view):
                start, end = m.span(value_group)
                if start < end:
                    if spans is None:
                        spans = Spans()
                    spans.add(start, end, "custom")

        return spans

    def redact_cached(self, text: str) -> tuple[str, Counter[str] | None]:
        """:meth:`redact` for short strings that repeat (names, metric values): answered from a cache."""
        cache = self._cache
        hit = cache.get(text)
        if hit is not None:
            return (text, None) if hit[1] is None else hit  # clean: the caller's own object
        result = self.redact(text)
        if len(text) <= CACHE_MAX_LENGTH:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()  # unique values (ids) filled it: start again, the repeating ones come back
            cache[text] = result
        return result

    def redact_value(self, value: AttributeValue) -> tuple[AttributeValue, Counter[str] | None]:
        """Redact a str, or the strings inside a sequence or mapping value; others are untouched.

        When nothing changed the very same object is returned with ``None``.
        """
        if isinstance(value, str):
            fixed = encodable(value)
            new, counts = self.redact(fixed)
            return new, (counts if counts or fixed is value else Counter())
        found: Counter[str] = Counter()
        new_value = walk(value, self.leaf(found))
        return (value, None) if new_value is value else (new_value, found)

    def leaf(self, counts: Counter[str]) -> Leaf:
        """The :func:`walk` leaf that redacts each string and adds what it found to ``counts``."""
        return Leaf(self, counts)

