"""The machinery of one scan: escape-aware and URL-decoded views of a text, the accepted replacement
spans, the combined patterns' matches with their second chances, and the replacements applied.

:meth:`Redactor.redact <otel_ai.privacy.redactor.Redactor.redact>` drives it; what each kind looks
like is :mod:`otel_ai.privacy.patterns`.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Mapping

from otel_ai.privacy.patterns import Branch

__all__ = [
    "DOUBLE_ESCAPE_RE",
    "MULTI_ESCAPE_RE",
    "PERCENT_ESCAPE_RE",
    "SURROGATE_RE",
    "Spans",
    "accept",
    "apply",
    "escape_view",
    "merge_intervals",
    "scan_combined",
    "url_decoded",
    "widen",
]

# Rejected matches given a second chance per scan (real text has a handful; a string built of
# near-misses then falls back to the plain scan and stays linear).
_SECOND_CHANCES = 64

# One escape sequence of JSON, Python or C string syntax. Blanked in the scan view (see module doc).
_ESCAPE_RE = re.compile(r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|.)", re.S)
# Text escaped twice (`repr()` of a dict holding `repr()` output, JSON inside JSON) writes a newline
# as backslash, backslash, "n": there, a run of backslashes and the letter after it are one escape.
# The same characters can be a literal backslash before a secret (once escaped), so such text is
# scanned in both views.
MULTI_ESCAPE_RE = re.compile(
    r"\\+(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|[^\"'/\\])|\\.", re.S
)
DOUBLE_ESCAPE_RE = re.compile(r"\\\\+[A-Za-z0-9]")
_KEEP_AFTER_BLANK = frozenset("\"'/")
SURROGATE_RE = re.compile("[\ud800-\udfff]")
PERCENT_ESCAPE_RE = re.compile("%[0-9A-Fa-f]{2}")
_URL_DECODE_RE = re.compile(r"%[0-9A-Fa-f]{2}|\+")


def url_decoded(text: str, plus: bool = True) -> tuple[str, list[int]]:
    """``text`` URL-decoded ("%40" -> "@", "+" -> " " unless ``plus`` is false, as in a URL's path), and for
    each decoded offset the original one."""
    pieces: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _URL_DECODE_RE.finditer(text):
        start, end = m.span()
        if not plus and end - start == 1:
            continue
        pieces.append(text[pos:start])
        index.extend(range(pos, start))
        pieces.append(" " if end - start == 1 else chr(int(text[start + 1 : end], 16)))
        index.append(start)
        pos = end
    pieces.append(text[pos:])
    index.extend(range(pos, len(text) + 1))
    return "".join(pieces), index


def escape_view(text: str, escape: re.Pattern[str] = _ESCAPE_RE) -> tuple[str, list[int], list[int]]:
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


def merge_intervals(starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
    """Sorted, non-overlapping intervals covering the given ones (the escapes of two readings)."""
    merged: list[list[int]] = []
    for start, end in sorted(zip(starts, ends, strict=True)):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [m[0] for m in merged], [m[1] for m in merged]


def widen(items: list[tuple[int, int, str]], starts: list[int], ends: list[int]) -> list[tuple[int, int, str]]:
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


class Spans:
    """Accepted replacement spans; an overlapping later candidate is dropped."""

    __slots__ = ("items", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []  # sorted; items[i] starts at starts[i]
        self.items: list[tuple[int, int, str]] = []

    @classmethod
    def of(cls, items: list[tuple[int, int, str]]) -> Spans:
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


def scan_combined(
    regex: re.Pattern[str],
    meta: Mapping[str, Branch],
    view: str,
    pos: int,
    endpos: int,
    spans: Spans | None,
    *,
    trim: bool = False,
) -> Spans | None:
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
        spans, accepted = accept(m, meta, view, spans)
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
    spans: Spans | None,
    trim: bool,
) -> tuple[Spans | None, int | None]:
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
            spans, accepted = accept(whole, meta, view, spans)
            if accepted:
                return spans, whole.end()
            stop = whole.end()
        if not trim:
            continue
        for cut in range(stop - 1, start, -1):
            if view[cut] in " -" and view[cut - 1].isdigit():
                retry = alone.match(view, start, cut)
                if retry is not None:
                    spans, accepted = accept(retry, meta, view, spans)
                    if accepted:
                        return spans, retry.end()
    return spans, None


def accept(
    m: re.Match[str], meta: Mapping[str, Branch], text: str, spans: Spans | None
) -> tuple[Spans | None, bool]:
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
        spans = Spans()
    # A match inside a value already found (digits of an IBAN) is not one: the scan goes on.
    return spans, spans.add(start, end, kind)


def apply(text: str, items: list[tuple[int, int, str]]) -> tuple[str, Counter[str]]:
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
