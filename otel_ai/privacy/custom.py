"""The user's own patterns (``OTEL_AI_REDACT_PATTERNS``): parsed, checked and compiled for RE2.

Kept apart from the built-in kinds of :mod:`otel_ai.privacy.patterns`: these come from settings,
fail with a problem line naming the entry, and run on a linear-time engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from otel_ai.errors import ConfigError

__all__ = ["UserPattern", "parse_pattern_entries", "parse_patterns"]


class UserPattern(Protocol):
    """A compiled user pattern: RE2 from :func:`parse_patterns`; a ``re.Pattern`` works as well."""

    @property
    def groupindex(self) -> Mapping[str, int]: ...

    def finditer(self, text: str, /) -> Iterator[Any]: ...

    def search(self, text: str, /) -> Any: ...


def _re2_options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is raised, and reported by us in one line
    return options


def parse_patterns(value: str | None, variable: str = "OTEL_AI_REDACT_PATTERNS") -> list[UserPattern]:
    """Parse user redaction patterns from an environment variable; they run on RE2.

    RE2 matches in time linear in the text, so no pattern can freeze the app the way a
    backtracking one (``(a+)+$``) does with Python's engine; the price is no look-around and no
    backreferences. Syntax is otherwise Python's: ``(?P<name>...)``, ``(?i)``, ``\\d``, ``\\b``.

    Format: one regular expression per entry; entries are separated by newlines or by ``;;``.
    A comma or a single ``;`` cannot be the separator because both are common inside regular
    expressions (``\\d{3,4}``, ``[,;]``), while ``;;`` practically never is and still lets the
    value sit on one line in a ``.env`` file or a ``docker run -e``. Whitespace around each entry
    is stripped (write ``\\s`` or ``[ ]`` for a leading or trailing space) and empty entries are
    skipped; empty or unset means no patterns. Inline flags work, e.g. ``(?i)customer-\\d{6}``.

    Each match is replaced by ``[REDACTED:custom]``; if the pattern has a group named ``value``
    only that group is replaced (``token=(?P<value>\\w+)`` keeps ``token=``).

    Raises ConfigError, naming the variable and the 1-based entry number, for an invalid or
    unsupported regular expression or one that matches the empty string (it would redact everywhere).
    """
    patterns, problems = parse_pattern_entries(value, variable)
    if problems:
        raise ConfigError(problems[0])
    return patterns


def parse_pattern_entries(
    value: str | None, variable: str = "OTEL_AI_REDACT_PATTERNS"
) -> tuple[list[UserPattern], list[str]]:
    """Like :func:`parse_patterns`, but returns the good patterns and one problem line per bad entry."""
    if not value or not value.strip():
        return [], []
    import re2

    options = _re2_options()
    entries = [part.strip() for line in value.splitlines() for part in line.split(";;")]
    patterns: list[UserPattern] = []
    problems: list[str] = []
    for number, entry in enumerate((e for e in entries if e), start=1):
        try:
            re.compile(entry)
        except re.error as exc:
            problems.append(f"{variable}: entry {number} ({entry!r}) is not a valid regular expression: {exc}")
            continue
        try:
            pattern = re2.compile(entry, options)
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            problems.append(
                f"{variable}: entry {number} ({entry!r}) is not supported: patterns run on RE2 "
                f"(linear-time matching; no look-around or backreferences): {reason}"
            )
            continue
        if pattern.search("") is not None:
            problems.append(
                f"{variable}: entry {number} ({entry!r}) matches the empty string, "
                "so it would redact everywhere; make it match at least one character"
            )
            continue
        patterns.append(pattern)
    return patterns, problems
