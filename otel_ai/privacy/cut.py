"""Cutting text to a length without leaving a recognizable piece of a secret at the cut.

Used wherever text is shortened before export (captured content, a span's status description): a
cut inside an API key, a JWT or a card number would leave a prefix that no pattern and no registered
secret matches any more, so the partial token-like run is dropped whole.
"""

from __future__ import annotations

import hashlib
import string

__all__ = ["TRUNCATED", "cut_key", "truncate"]

TRUNCATED = "…[truncated]"

# Characters of a token-like run (API keys, JWTs, e-mail addresses, URLs, base64, %-escapes): a cut
# inside one drops the whole run, so no recognizable piece of a secret outlives truncation. ASCII
# only: a cut in text with no spaces (Chinese, Japanese) keeps what it keeps.
_ALNUM = frozenset(string.ascii_letters + string.digits)
_DIGITS = frozenset(string.digits)
_TOKEN = _ALNUM | frozenset("_-+/=.@:~%")
_GROUP_SEPARATORS = frozenset(" \u00a0")  # between digit groups: 4111 1111 1111 1111, IBANs, phones
_LINE_BREAKS = frozenset("\r\n")  # between lines of one token: PEM and other wrapped base64


def _in_run(text: str, i: int) -> bool:
    """Whether `text[i]` belongs to a token-like run (a space or line break only between two of its parts)."""
    char = text[i]
    if char in _TOKEN:
        return True
    if char in _GROUP_SEPARATORS:
        if 0 < i < len(text) - 1:
            before, after = text[i - 1], text[i + 1]
            return before in _ALNUM and after in _ALNUM and (before in _DIGITS or after in _DIGITS)
        return False
    if char in _LINE_BREAKS:  # one "\n", "\r\n" or "\r" between two token characters
        start = i - 1 if char == "\n" and i > 0 and text[i - 1] == "\r" else i
        end = i + 2 if char == "\r" and text[i + 1 : i + 2] == "\n" else i + 1
        return start > 0 and end < len(text) and text[start - 1] in _TOKEN and text[end] in _TOKEN
    return False


def _cut_end(text: str, limit: int) -> int:
    """Where to cut `text` to at most `limit` characters: before a token-like run the cut would split."""
    end = limit
    if end > 0 and _in_run(text, end) and _in_run(text, end - 1):
        end -= 1
        while end > 0 and _in_run(text, end - 1):
            end -= 1
    return end


def cut_key(text: str, limit: int) -> str:
    """An identifier (a conversation id, a user id) cut to at most `limit` characters, still a key.

    A plain cut inside a secret would leave a piece no pattern matches any more (found by the leak
    suite: a key across the 256th character of a conversation id). So the split run is dropped, as
    `truncate` does, and `~` and 16 hex digits of the whole id's SHA-256 end it instead, so that two long
    ids that differ only after the cut stay two keys (and an id that is one long run is not emptied).
    """
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    room = max(limit - len(digest) - 1, 0)
    return text[:_cut_end(text, room)] + "~" + digest


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters; a cut inside a token-like run drops the whole run.

    Half a key, a JWT or a card number is still recognizable, and no pattern can match it any more
    once it is cut: dropping the partial run keeps prose up to a word boundary and leaves no piece.
    """
    if len(text) <= limit:
        return text
    return text[:_cut_end(text, limit)] + TRUNCATED
