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
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

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
    Branch,
    UserPattern,
    credential_name,
    digit_count,
    iban_valid,
    number_gate,
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

ERROR_KIND = "error"
ERROR_PLACEHOLDER = "[REDACTED:error]"
CREDENTIAL_KIND = "credential"
CREDENTIAL_PLACEHOLDER = "[REDACTED:credential]"
_MIN_SECRET_LENGTH = 8
# Attributes whose value is a JSON document of message content (the conventions' parts shape):
# redacted as structure, so the result always parses.
CONTENT_ATTRIBUTES = frozenset({
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
})
# Short strings that repeat (attribute names, span names, metric attribute values) are looked up
# in a bounded cache instead of being scanned again.
_CACHE_LIMIT = 4096
_CACHE_MAX_LENGTH = 256
_SHORT = 64
# Integers of this size or more in bodies and content are checked as text (cards, phones).
_NUMBER_FLOOR = 10**8
_KEY_CLEAN, _KEY_CREDENTIAL, _KEY_CONTENT, _KEY_REDACT = 0, 1, 2, 3
# Rejected matches given a second chance per scan (real text has a handful; a string built of
# near-misses then falls back to the plain scan and stays linear).
_SECOND_CHANCES = 64
# A key in a JSON document (a string followed by a colon).
_JSON_KEY_RE = re.compile(r'"([^"\\]{1,64})"\s*:')

# One escape sequence of JSON, Python or C string syntax. Blanked in the scan view (see module doc).
_ESCAPE_RE = re.compile(r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|.)", re.S)
# Text escaped twice (`repr()` of a dict holding `repr()` output, JSON inside JSON) writes a newline
# as backslash, backslash, "n": there, a run of backslashes and the letter after it are one escape.
# The same characters can be a literal backslash before a secret (once escaped), so such text is
# scanned in both views.
_MULTI_ESCAPE_RE = re.compile(
    r"\\+(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|[^\"'/\\])|\\.", re.S
)
_DOUBLE_ESCAPE_RE = re.compile(r"\\\\+[A-Za-z0-9]")
_KEEP_AFTER_BLANK = frozenset("\"'/")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_PERCENT_ESCAPE_RE = re.compile("%[0-9A-Fa-f]{2}")
_URL_DECODE_RE = re.compile(r"%[0-9A-Fa-f]{2}|\+")


def _url_decoded(text: str) -> tuple[str, list[int]]:
    """``text`` URL-decoded ("%40" -> "@", "+" -> " "), and for each decoded offset the original one."""
    pieces: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _URL_DECODE_RE.finditer(text):
        start, end = m.span()
        pieces.append(text[pos:start])
        index.extend(range(pos, start))
        pieces.append(" " if end - start == 1 else chr(int(text[start + 1 : end], 16)))
        index.append(start)
        pos = end
    pieces.append(text[pos:])
    index.extend(range(pos, len(text) + 1))
    return "".join(pieces), index


def _escape_view(text: str, escape: re.Pattern[str] = _ESCAPE_RE) -> tuple[str, list[int], list[int]]:
    """The text with escape sequences blanked (same length), and the escapes' start and end offsets."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in escape.finditer(text):
        start, end = m.span()
        pieces.append(text[pos:start])
        second = text[start + 1]
        pieces.append("\x00" + second if end - start == 2 and second in _KEEP_AFTER_BLANK else "\x00" * (end - start))
        starts.append(start)
        ends.append(end)
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces), starts, ends


def _merge_intervals(starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
    """Sorted, non-overlapping intervals covering the given ones (the escapes of two readings)."""
    merged: list[list[int]] = []
    for start, end in sorted(zip(starts, ends, strict=True)):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [m[0] for m in merged], [m[1] for m in merged]


def _widen(items: list[tuple[int, int, str]], starts: list[int], ends: list[int]) -> list[tuple[int, int, str]]:
    """Widen each replacement to whole escape sequences; merge any that then overlap."""
    out: list[tuple[int, int, str]] = []
    for start, end, kind in items:
        i = bisect.bisect_right(starts, start) - 1
        if i >= 0 and start < ends[i]:
            start = starts[i]
        j = bisect.bisect_left(starts, end) - 1
        if j >= 0 and end < ends[j]:
            end = ends[j]
        if out and start < out[-1][1]:
            previous = out[-1]
            out[-1] = (previous[0], max(previous[1], end), previous[2])
        else:
            out.append((start, end, kind))
    return out


class _Spans:
    """Accepted replacement spans; an overlapping later candidate is dropped."""

    __slots__ = ("items", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []  # sorted; items[i] starts at starts[i]
        self.items: list[tuple[int, int, str]] = []

    @classmethod
    def of(cls, items: list[tuple[int, int, str]]) -> _Spans:
        spans = cls()
        for start, end, kind in items:
            spans.add(start, end, kind)
        return spans

    def add(self, start: int, end: int, kind: str) -> bool:
        """Accept the span unless it overlaps one accepted before; says whether it was accepted."""
        i = bisect.bisect_right(self.starts, start)
        if i > 0 and self.items[i - 1][1] > start:
            return False
        if i < len(self.starts) and self.starts[i] < end:
            return False
        self.starts.insert(i, start)
        self.items.insert(i, (start, end, kind))
        return True


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
            if len(key) > _CACHE_MAX_LENGTH or self.redact(encodable(key))[1] is not None or not key.isprintable():
                role = _KEY_REDACT
            elif _names_credential(key):
                role = _KEY_CREDENTIAL
            elif key in CONTENT_ATTRIBUTES:
                role = _KEY_CONTENT
            else:
                role = _KEY_CLEAN
            if role != _KEY_REDACT and len(self._keys) < _CACHE_LIMIT:
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
        spans: _Spans | None = None

        for secret in self._secrets:
            i = text.find(secret)
            while i >= 0:
                if spans is None:
                    spans = _Spans()
                spans.add(i, i + len(secret), "secret")
                i = text.find(secret, i + len(secret))

        escapes: tuple[list[int], list[int]] | None = None
        view = text
        if "\\" in text:
            view, starts, ends = _escape_view(text)
            if starts:
                escapes = (starts, ends)

        spans = self._scan(view, spans)
        if escapes is not None:
            starts, ends = escapes
            if _DOUBLE_ESCAPE_RE.search(text) is not None:
                twice, starts2, ends2 = _escape_view(text, _MULTI_ESCAPE_RE)
                spans = self._scan(twice, spans)
                # Widened to the escapes of both readings, so the text stays valid at both levels
                # (a literal backslash next to a secret may go with it).
                starts, ends = _merge_intervals(starts + starts2, ends + ends2)
            if spans is not None:  # replacements cover whole escapes: redacted JSON stays JSON
                spans = _Spans.of(_widen(spans.items, starts, ends))
        if "%" in view and _PERCENT_ESCAPE_RE.search(view) is not None:
            # URL-encoded text (a query string: "jane%40example.com", "4111+1111+..."): scanned
            # decoded as well, each find mapped back to the encoded characters it came from.
            decoded, index = _url_decoded(view)
            found = self._scan(decoded, None)
            if found is not None:
                if spans is None:
                    spans = _Spans()
                for start, end, kind in found.items:
                    spans.add(index[start], index[end], kind)

        if spans is None or not spans.items:
            return text, None
        return _apply(text, spans.items)

    def _scan(self, view: str, spans: _Spans | None) -> _Spans | None:
        """Every pattern kind over ``view`` (the text, or its escape-blanked or URL-decoded view)."""
        spans = _scan_combined(PROVIDER_RE, PROVIDER_META, view, 0, len(view), spans)
        for word, regex, meta in LABEL_SCANS:  # password=..., Basic ...: only where the word is
            if word in view:
                for m in regex.finditer(view):
                    spans = _accept(m, meta, view, spans)[0]

        if "@" in view:
            if "://" in view:
                for m in URL_PASSWORD_RE.finditer(view):
                    if spans is None:
                        spans = _Spans()
                    spans.add(m.start("v"), m.end("v"), "url_password")
            for m in EMAIL_DOMAIN_RE.finditer(view):
                start = m.start()
                while start > 0 and view[start - 1] in EMAIL_LOCAL_CHARS and m.start() - start < 64:
                    start -= 1
                while start < m.start() and view[start] == ".":
                    start += 1
                if start < m.start():
                    if spans is None:
                        spans = _Spans()
                    spans.add(start, m.end(), "email")

        if "=" in view:
            first_parameter = URL_CREDENTIAL_START_RE.match(view)
            if first_parameter is not None:
                if spans is None:
                    spans = _Spans()
                spans.add(first_parameter.start("v"), first_parameter.end("v"), "url_credential")
            if "?" in view or "&" in view or ";" in view:
                for m in URL_CREDENTIAL_RE.finditer(view):
                    if spans is None:
                        spans = _Spans()
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
                    spans = _Spans()
                spans.add(start, end, "iban")
                pos = end
        if numbers:
            for cluster in NUMBER_CLUSTER_RE.finditer(view):
                if digit_count(cluster.group()) < 9:
                    continue
                # +2: the trailing look-aheads must see the real characters after the cluster
                spans = _scan_combined(
                    NUMBER_RE, NUMBER_META, view, cluster.start(), cluster.end() + 2, spans, trim=True
                )

        if self._custom and not view.isascii():
            view = _SURROGATE_RE.sub("\ufffd", view)  # RE2 takes UTF-8; same length, same offsets
        for pattern, value_group in self._custom:
            for m in pattern.finditer(view):
                start, end = m.span(value_group)
                if start < end:
                    if spans is None:
                        spans = _Spans()
                    spans.add(start, end, "custom")

        return spans

    def redact_cached(self, text: str) -> tuple[str, Counter[str] | None]:
        """:meth:`redact` for short strings that repeat (names, metric values): answered from a cache."""
        cache = self._cache
        hit = cache.get(text)
        if hit is not None:
            return (text, None) if hit[1] is None else hit  # clean: the caller's own object
        result = self.redact(text)
        if len(text) <= _CACHE_MAX_LENGTH:
            if len(cache) >= _CACHE_LIMIT:
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


def encodable(text: str) -> str:
    """``text``, or a copy with U+FFFD for what UTF-8 cannot encode (lone surrogates)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Pairs written as two surrogates are joined; lone ones become U+FFFD.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


class Leaf:
    """What :func:`walk` does with each string, key, number and credential-named value."""

    __slots__ = ("counts", "redactor")

    def __init__(self, redactor: Redactor | None, counts: Counter[str]) -> None:
        self.redactor = redactor
        self.counts = counts

    def __call__(self, text: str) -> str:
        assert self.redactor is not None
        new, found = self.redactor.redact(encodable(text))
        if found:
            self.counts.update(found)
        return new

    def short(self, text: str) -> str:
        """A short string that repeats (a name, a key, a metric value): cached."""
        assert self.redactor is not None
        new, found = self.redactor.redact_cached(encodable(text))
        if found:
            self.counts.update(found)
        return new

    def key_role(self, key: str) -> int:
        assert self.redactor is not None
        return self.redactor.key_role(key)

    def key(self, key: str) -> str:
        return self.short(key) if len(key) <= _CACHE_MAX_LENGTH else self(key)

    def credential(self, value: Any) -> Any:
        """A value whose key names a credential: replaced whole."""
        self.counts[CREDENTIAL_KIND] += 1
        if isinstance(value, str):
            return CREDENTIAL_PLACEHOLDER
        return type(value)(CREDENTIAL_PLACEHOLDER for _ in value)

    def number(self, value: int) -> Any:
        text = str(value)
        new = self(text)
        return value if new is text else new

    def document(self, text: str) -> str:
        """A JSON document (content attributes): redacted as structure, serialized again if changed.

        Fast path: the document scanned as one string (escape-aware) finds nothing and holds no
        key named like a credential, and there are no user patterns (which could match across
        the JSON syntax): then the structure walk would find nothing either.
        """
        assert self.redactor is not None
        text = encodable(text)
        if (
            not self.redactor.has_custom
            and not any(_names_credential(m.group(1)) for m in _JSON_KEY_RE.finditer(text))
            and self.redactor.redact(text)[1] is None
        ):
            return text
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return self(text)
        new = walk(parsed, self, numbers=True)
        return text if new is parsed else json.dumps(new, ensure_ascii=False)


class FailClosed(Leaf):
    """The leaf for when redaction failed: every string becomes ``[REDACTED:error]`` (keys stay)."""

    __slots__ = ()

    def __init__(self, counts: Counter[str]) -> None:
        super().__init__(None, counts)

    def __call__(self, text: str) -> str:
        self.counts[ERROR_KIND] += 1
        return ERROR_PLACEHOLDER

    def short(self, text: str) -> str:
        return self(text)

    def key_role(self, key: str) -> int:
        return _KEY_CREDENTIAL if _names_credential(key) else _KEY_CLEAN

    def key(self, key: str) -> str:
        return key

    def number(self, value: int) -> Any:
        return value

    def document(self, text: str) -> str:
        return self(text)


def fail_closed_leaf(counts: Counter[str]) -> Leaf:
    """A :func:`walk` leaf for when redaction failed: every string becomes ``[REDACTED:error]``."""
    return FailClosed(counts)


@functools.lru_cache(maxsize=_CACHE_LIMIT)
def _names_credential(key: str) -> bool:
    return credential_name(key)


def _credential_value(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, str) for v in value)


def walk(value: Any, leaf: Leaf, *, numbers: bool = False) -> Any:
    """Apply ``leaf`` to every string inside str / mapping / list / tuple values (keys included).

    With ``numbers`` (log bodies, content), long integers are checked as text too. Containers are
    copied only where something changed, so a clean value comes back as the very same object and
    the caller's data (which other processors may hold) is never mutated.
    """
    if isinstance(value, str):
        # Short values repeat (operation, provider, model, host): answered from the cache.
        return leaf.short(value) if len(value) <= _SHORT else leaf(value)
    if isinstance(value, Mapping):
        changed: dict[Any, Any] | None = None
        for index, (key, item) in enumerate(value.items()):
            new_key = key
            if isinstance(key, str):
                role = leaf.key_role(key)
                if role == _KEY_REDACT:
                    new_key = leaf.key(key)
                    role = _KEY_CREDENTIAL if _names_credential(key) else _KEY_CLEAN
                if role == _KEY_CREDENTIAL and _credential_value(item):
                    new_item = leaf.credential(item)
                elif role == _KEY_CONTENT and isinstance(item, str):
                    new_item = leaf.document(item)
                else:
                    new_item = walk(item, leaf, numbers=numbers)
            else:
                new_item = walk(item, leaf, numbers=numbers)
            if changed is None:
                if new_item is item and new_key is key:
                    continue
                changed = dict(itertools.islice(value.items(), index))
            if new_key is not key and new_key in changed:
                new_key = f"{new_key}#{index}"  # two keys redacted alike stay two entries
            changed[new_key] = new_item
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        items: list[Any] | None = None
        for i, item in enumerate(value):
            new_item = walk(item, leaf, numbers=numbers)
            if new_item is not item:
                if items is None:
                    items = list(value)
                items[i] = new_item
        if items is None:
            return value
        return items if isinstance(value, list) else tuple(items)
    if numbers and type(value) is int and abs(value) >= _NUMBER_FLOOR:
        return leaf.number(value)
    if numbers and type(value) is float and value.is_integer() and abs(value) >= _NUMBER_FLOOR:
        new = leaf.number(int(value))
        return value if isinstance(new, int) else new
    return value


def _scan_combined(
    regex: re.Pattern[str],
    meta: Mapping[str, Branch],
    view: str,
    pos: int,
    endpos: int,
    spans: _Spans | None,
    *,
    trim: bool = False,
) -> _Spans | None:
    """Matches of a combined pattern, with second chances where a branch's check rejects its match.

    A rejected match is tried again shorter (with ``trim``: cut at each separator, longest first,
    so "4000 0000 0000 0002 01 ..." still yields the card) and then with the later branches at the
    same place (a 13-digit national phone that the card branch claimed first). If none is
    accepted the scan goes on after the rejected match, as a plain scan would.
    """
    names = list(meta)
    chances = _SECOND_CHANCES  # bounded, so a string of near-misses stays linear
    while True:
        m = regex.search(view, pos, endpos)
        if m is None:
            return spans
        spans, accepted = _accept(m, meta, view, spans)
        if accepted:
            pos = m.end()
            continue
        if chances <= 0:
            pos = m.end()
            continue
        chances -= 1
        spans, resume = _second_chance(m, meta, names, view, endpos, spans, trim)
        # Nothing here: go on from the next character, so a value inside the rejected match is found.
        pos = m.start() + 1 if resume is None else resume


def _second_chance(
    m: re.Match[str],
    meta: Mapping[str, Branch],
    names: list[str],
    view: str,
    endpos: int,
    spans: _Spans | None,
    trim: bool,
) -> tuple[_Spans | None, int | None]:
    """Where a rejected match started: its branch cut shorter, then each later branch (whole, then
    cut shorter). Returns the spans and where an accepted retry ended (None if none was)."""
    start, group = m.start(), m.lastgroup or ""
    for name in names[names.index(group) :]:
        alone = meta[name].alone
        if alone is None:  # pragma: no cover - _combine sets it on every branch
            continue
        stop = m.end()
        if name != group:  # the combined match already tried its own branch whole
            whole = alone.match(view, start, endpos)
            if whole is None:
                continue
            spans, accepted = _accept(whole, meta, view, spans)
            if accepted:
                return spans, whole.end()
            stop = whole.end()
        if not trim:
            continue
        for cut in range(stop - 1, start, -1):
            if view[cut] in " -" and view[cut - 1].isdigit():
                retry = alone.match(view, start, cut)
                if retry is not None:
                    spans, accepted = _accept(retry, meta, view, spans)
                    if accepted:
                        return spans, retry.end()
    return spans, None


def _accept(
    m: re.Match[str], meta: Mapping[str, Branch], text: str, spans: _Spans | None
) -> tuple[_Spans | None, bool]:
    group = m.lastgroup
    if group is None:  # pragma: no cover - every alternative has one named group
        return spans, False
    branch = meta[group]
    if branch.whole:
        start, end = m.start() - branch.back, m.end()
    else:
        start, end = m.span(group)
    kind = branch.kind if branch.classify is None else branch.classify(text[start:end])
    if kind is None:
        return spans, False
    if spans is None:
        spans = _Spans()
    # A match inside a value already found (digits of an IBAN) is not one: the scan goes on.
    return spans, spans.add(start, end, kind)


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
