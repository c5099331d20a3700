"""The walk over structured values: every string of a mapping, list or tuple, keys included, redacted.

:func:`walk` applies a :class:`Leaf` to each string: the redactor's (:meth:`Redactor.leaf`), or
:class:`FailClosed` when redaction failed. A value whose key names a credential is replaced whole;
the GenAI content attributes (JSON documents on spans, structured values on the details event) are
walked as structure, a document parsed and serialized again; in log bodies and content, long integers
are checked as text. Containers are copied only where something
changed.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from otel_ai.privacy.patterns import credential_name

if TYPE_CHECKING:
    from otel_ai.privacy.redactor import Redactor

__all__ = [
    "CACHE_LIMIT",
    "CACHE_MAX_LENGTH",
    "CONTENT_ATTRIBUTES",
    "CREDENTIAL_KIND",
    "CREDENTIAL_PLACEHOLDER",
    "ERROR_KIND",
    "ERROR_PLACEHOLDER",
    "KEY_CLEAN",
    "KEY_CONTENT",
    "KEY_CREDENTIAL",
    "KEY_REDACT",
    "FailClosed",
    "Leaf",
    "encodable",
    "fail_closed_leaf",
    "names_credential",
    "walk",
]

ERROR_KIND = "error"
ERROR_PLACEHOLDER = "[REDACTED:error]"
CREDENTIAL_KIND = "credential"
CREDENTIAL_PLACEHOLDER = "[REDACTED:credential]"
# Attributes of message content (the conventions' parts shape): a JSON document on spans, redacted as
# structure so the result always parses; structured values on the details event, long integers checked.
CONTENT_ATTRIBUTES = frozenset({
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
})
# Short strings that repeat (attribute names, span names, metric attribute values) are looked up
# in a bounded cache instead of being scanned again.
CACHE_LIMIT = 4096
CACHE_MAX_LENGTH = 256
_SHORT = 64
# Integers of this size or more in bodies and content are checked as text (cards, phones).
_NUMBER_FLOOR = 10**8
KEY_CLEAN, KEY_CREDENTIAL, KEY_CONTENT, KEY_REDACT = 0, 1, 2, 3
# A key in a JSON document (a string followed by a colon).
_JSON_KEY_RE = re.compile(r'"([^"\\]{1,64})"\s*:')


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
        return self.short(key) if len(key) <= CACHE_MAX_LENGTH else self(key)

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
            and not any(names_credential(m.group(1)) for m in _JSON_KEY_RE.finditer(text))
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
        return KEY_CREDENTIAL if names_credential(key) else KEY_CLEAN

    def key(self, key: str) -> str:
        return key

    def number(self, value: int) -> Any:
        return value

    def document(self, text: str) -> str:
        return self(text)


def fail_closed_leaf(counts: Counter[str]) -> Leaf:
    """A :func:`walk` leaf for when redaction failed: every string becomes ``[REDACTED:error]``."""
    return FailClosed(counts)


@functools.lru_cache(maxsize=CACHE_LIMIT)
def names_credential(key: str) -> bool:
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
                if role == KEY_REDACT:
                    new_key = leaf.key(key)
                    role = KEY_CREDENTIAL if names_credential(key) else KEY_CLEAN
                if role == KEY_CREDENTIAL and _credential_value(item):
                    new_item = leaf.credential(item)
                elif role == KEY_CONTENT:
                    # A JSON document (spans), or the same messages as structured values (the details
                    # event): long integers in content are checked either way.
                    new_item = leaf.document(item) if isinstance(item, str) else walk(item, leaf, numbers=True)
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
