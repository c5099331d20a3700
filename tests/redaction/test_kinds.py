"""Redaction, pinned down where mutation testing found gaps (docs/mutation.md).

Validator boundaries (card networks, IBAN lengths, phone digit counts, bearer values), overlapping
and adjacent replacements, the e-mail local part, the helpers that build the combined scanners (they
run at import time, so only a test calling them again exercises them), the secrets registry, and
everything a redacted span or log record copy must keep from the original.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags

import otel_ai.privacy
from otel_ai import guard
from otel_ai.errors import ConfigError
from otel_ai.privacy import patterns, secrets
from otel_ai.privacy.exporters import RedactingLogExporter, RedactingSpanExporter, redaction_counts
from otel_ai.privacy.patterns import Branch, KeyFormat, classify_bearer, iban_valid, number_gate, parse_patterns
from otel_ai.privacy.redactor import Redactor

EMAIL = "ann.lee@example.com"


def redact(text: str, *secret_literals: str) -> str:
    redactor = Redactor()
    for literal in secret_literals:
        redactor.add_secret(literal)
    return redactor.redact(text)[0]


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    """A clean guard: its failure counts (returned) and first-failure log start empty."""
    failures: dict[str, int] = {}
    monkeypatch.setattr(guard, "failures", failures)
    monkeypatch.setattr(guard, "_seen", set())
    caplog.set_level(logging.DEBUG, logger="otel_ai")
    return failures


def logged_exception(caplog: pytest.LogCaptureFixture, where: str) -> BaseException | None:
    [record] = [r for r in caplog.records if f"in {where};" in r.getMessage()]
    return record.exc_info[1] if record.exc_info else None


# --- card numbers: issuer prefixes and lengths ------------------------------------------------------


def card(prefix: str, length: int) -> str:
    """A Luhn-valid number of `length` digits starting with `prefix`."""
    body = prefix + "0" * (length - len(prefix) - 1)
    return next(body + d for d in "0123456789" if patterns.luhn_valid(body + d))


CARDS = [
    ("4", 13), ("4", 16), ("4", 19),  # Visa
    ("51", 16), ("55", 16),  # Mastercard 51-55
    ("50", 13), ("50", 19), ("56", 13), ("59", 19),  # Maestro
    ("2221", 16), ("2720", 16),  # Mastercard 2-series
    ("34", 15), ("37", 15),  # American Express
    ("36", 14), ("38", 14), ("39", 14), ("300", 14), ("301", 14), ("305", 14), ("36", 19),  # Diners Club
    ("3528", 16), ("3589", 16), ("3528", 19),  # JCB
    ("6011", 16), ("6011", 19),  # Discover and friends
]
NOT_CARDS = [
    ("4", 14), ("4", 15), ("4", 17),
    ("51", 15), ("51", 17), ("55", 19),
    ("2220", 16), ("2721", 16), ("2221", 15), ("2221", 17),
    ("34", 14), ("34", 16), ("37", 16),
    ("36", 13), ("306", 14),
    ("3527", 16), ("3590", 16), ("3528", 15),
    ("6011", 15),
    ("1", 16), ("7", 16), ("8", 16), ("9", 16),
]


@pytest.mark.parametrize(("prefix", "length"), CARDS)
def test_card_network_prefixes_and_lengths_are_cards(prefix, length):
    number = card(prefix, length)
    assert patterns._card_ok(number)
    assert redact(f"paid with {number} today") == "paid with [REDACTED:card_number] today"


@pytest.mark.parametrize(("prefix", "length"), NOT_CARDS)
def test_other_prefixes_and_lengths_are_not_cards(prefix, length):
    assert not patterns._card_ok(card(prefix, length))


def test_luhn_decides_between_neighbours():
    number = card("4", 16)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert patterns._card_ok(number) and not patterns._card_ok(wrong)


# --- phone numbers: digit counts ----------------------------------------------------------------------


@pytest.mark.parametrize(("digits", "ok"), [(8, False), (9, True), (15, True), (16, False)])
def test_international_phone_digit_count(digits, ok):
    assert patterns._phone_ok("3" + "1" * (digits - 1)) is ok


@pytest.mark.parametrize(("digits", "ok"), [(8, False), (9, True), (13, True), (14, False)])
def test_national_phone_digit_count(digits, ok):
    assert patterns._national_phone_ok("0" + "1" * (digits - 1)) is ok


def test_a_nine_digit_international_number_is_a_phone():
    assert redact("call +33 1 23 45 67 now") == "call [REDACTED:phone] now"


def test_a_short_digit_run_before_a_phone_does_not_stop_the_scan():
    text = "ids 12 34 56 78 then +33 1 23 45 67"
    assert redact(text) == "ids 12 34 56 78 then [REDACTED:phone]"


def test_a_lone_surrogate_does_not_break_the_number_scan():
    assert redact("\ud800 call +33 1 23 45 67") == "\ud800 call [REDACTED:phone]"


def test_number_gate_says_exactly_what_may_be_present():
    assert number_gate("no digits at all, 12345678 is only eight") == (False, False)
    assert number_gate("call 030 1234 5678") == (True, False)
    assert number_gate("pay to GB82 WEST 1234 5698 7654 32") == (True, True)


# --- IBAN ----------------------------------------------------------------------------------------------


def iban(country: str, bban: str) -> str:
    """An IBAN with correct check digits for `country` + `bban`."""
    numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


@pytest.mark.parametrize(
    ("candidate", "valid"),
    [
        (iban("NO", "86011117947"), True),  # 15 characters: the shortest country
        (iban("ZZ", "1" * 30), True),  # 34: the longest any IBAN may be
        (iban("ZZ", "1" * 31), False),  # 35
        (iban("ZZ", "1" * 10), False),  # 14
        (iban("ZZ", "1234567890123456"), True),  # unknown country: only the general bounds apply
        (iban("GB", "WEST12345698765432"), True),  # 22, GB's length
        (iban("GB", "WEST123456987654321"), False),  # 23: valid checksum, wrong length for GB
    ],
)
def test_iban_lengths(candidate, valid):
    assert iban_valid(candidate) is valid


# --- provider keys and bearer values --------------------------------------------------------------------


def test_an_openai_key_whose_only_capital_comes_first_is_still_a_key():
    assert redact("key sk-A" + "b" * 20) == "key [REDACTED:openai_key]"
    assert redact("key sk-" + "b" * 21) == "key sk-" + "b" * 21  # prose-like: no digit, no capital


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("a" * 19, None),
        ("a" * 20, "bearer_token"),
        ("abcdefg0", "bearer_token"),
        ("abcdefg9", "bearer_token"),
        *((f"abcdefg{ch}", "bearer_token") for ch in "._~+/="),
        ("abcdefgH", None),
        ("abcdefgX", None),
    ],
)
def test_bearer_values(value, kind):
    assert classify_bearer(value) == kind


# --- literal secrets and overlapping replacements --------------------------------------------------------


def test_adjacent_replacements_are_both_made_in_either_order():
    assert redact("first-secret-1second-2", "first-secret-1", "second-2") == "[REDACTED:secret][REDACTED:secret]"
    assert redact("second-2first-secret-1", "first-secret-1", "second-2") == "[REDACTED:secret][REDACTED:secret]"


def test_a_secret_of_exactly_eight_characters_counts():
    assert redact("pin abcd1234 and abc1234", "abcd1234", "abc1234") == "pin [REDACTED:secret] and abc1234"


def test_a_longer_secret_wins_over_a_shorter_one_inside_it_whatever_their_spelling():
    # Longest first, not alphabetical: "zzzzzzzz" sorts after "aaaa-zzzzzzzz".
    assert redact("x aaaa-zzzzzzzz y", "zzzzzzzz", "aaaa-zzzzzzzz") == "x [REDACTED:secret] y"


def test_every_occurrence_of_a_secret_is_replaced():
    assert redact("s3cret-key, s3cret-key and s3cret-key", "s3cret-key") == (
        "[REDACTED:secret], [REDACTED:secret] and [REDACTED:secret]"
    )


def test_redact_value_redacts_a_plain_string():
    assert Redactor().redact_value(f"mail {EMAIL}") == ("mail [REDACTED:email]", Counter({"email": 1}))


# --- e-mail addresses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail b@example.com now", "mail [REDACTED:email] now"),
        ("x ab@example.com", "x [REDACTED:email]"),
        ("a" * 64 + "@example.com", "[REDACTED:email]"),  # the longest local part (RFC 5321)
        ("a" * 65 + "@example.com", "a[REDACTED:email]"),
        ("see .john@example.com", "see .[REDACTED:email]"),  # a local part never starts with a dot
        ("see ..john@example.com", "see ..[REDACTED:email]"),
        ("see ...john@example.com", "see ...[REDACTED:email]"),
        ("@example.com mentions", "@example.com mentions"),  # no local part: not an address
        ("x ..@example.com", "x ..@example.com"),
    ],
)
def test_email_local_part(text, expected):
    assert redact(text) == expected


# --- OTEL_AI_REDACT_PATTERNS ----------------------------------------------------------------------------------


def test_pattern_errors_name_the_variable_by_default():
    with pytest.raises(ConfigError) as excinfo:
        parse_patterns("ok;;(unclosed")
    assert str(excinfo.value).startswith("OTEL_AI_REDACT_PATTERNS: entry 2 ('(unclosed') is not a valid")


def test_a_pattern_matching_the_empty_string_is_refused_with_advice():
    with pytest.raises(ConfigError) as excinfo:
        parse_patterns("X*")
    assert str(excinfo.value) == (
        "OTEL_AI_REDACT_PATTERNS: entry 1 ('X*') matches the empty string, "
        "so it would redact everywhere; make it match at least one character"
    )


def test_a_pattern_that_only_matches_text_is_accepted():
    [pattern] = parse_patterns("X+")
    assert pattern.pattern == "X+"


# --- the helpers that build the scanners -------------------------------------------------------------------


def test_key_format_compiles_its_pattern_and_derives_its_scan_branch():
    fmt = KeyFormat("demo", r"ab[0-9]{3}", 1, "[a-z]", after="[0-9]")
    assert fmt.full.pattern == r"ab[0-9]{3}" and fmt.full.fullmatch("ab123")
    template, branch = fmt.branch()
    assert template == "b(?<=ab)(?<![a-z]ab)(?P<G>[0-9]{3})(?![0-9])"
    assert branch == Branch("demo", None, back=1)


def test_key_format_anchored_on_its_first_character_has_no_look_behind_for_the_lead():
    template, branch = KeyFormat("demo", r"q[0-9]+", 0, "[a-z]").branch()
    assert template == "q(?<![a-z]q)(?P<G>[0-9]+)"
    assert (branch.back, branch.whole) == (0, True)


def test_key_format_plausibility_check_becomes_the_branch_classifier():
    _, branch = KeyFormat("demo", r"ab[0-9]{3}", 1, "[a-z]", plausible=lambda v: v.endswith("7")).branch()
    assert branch.classify is not None
    assert (branch.classify("ab127"), branch.classify("ab123")) == ("demo", None)
    assert (branch.kind, branch.back, branch.whole) == ("demo", 1, True)


def test_key_format_lead_must_be_literal():
    with pytest.raises(ValueError, match=r"^bad: 'a\.' must be literal$"):
        KeyFormat("bad", r"a.b", 1, "[a-z]")


def test_checked_names_the_kind_only_when_the_check_passes():
    classify = patterns._checked("demo", lambda value: value == "yes")
    assert (classify("yes"), classify("no")) == ("demo", None)


def test_both_cases_makes_an_upper_and_a_lower_case_branch():
    branch = Branch("demo")
    assert patterns._both_cases("b", "earer", branch) == [("Bearer", branch), ("bearer", branch)]


def test_combine_shares_heads_names_groups_and_maps_them_to_branches():
    first, second, third = Branch("one"), Branch("two"), Branch("three")
    pattern, meta = patterns._combine("", [("a(?P<G>b)", first), ("a(?P<G>c)", second), ("d(?P<G>e)", third)], "t")
    assert pattern.pattern == "a(?:(?P<t0>b)|(?P<t1>c))|d(?P<t2>e)"
    assert meta == {"t0": first, "t1": second, "t2": third}
    assert [m.lastgroup for m in pattern.finditer("ab ac de")] == ["t0", "t1", "t2"]


def test_combine_puts_a_shared_prefix_in_front_of_the_alternation():
    branch = Branch("one")
    pattern, meta = patterns._combine("x", [("(?P<G>y)", branch), ("z(?P<G>w)", branch)], "n")
    assert pattern.pattern == "x(?:(?P<n0>y)|z(?P<n1>w))"
    assert meta == {"n0": branch, "n1": branch}


@pytest.mark.parametrize("template", ["no group", "(?P<G>a)(?P<G>b)"])
def test_combine_refuses_a_branch_without_exactly_one_group(template):
    with pytest.raises(ValueError, match=r"^branch needs exactly one \(\?P<G>\.\.\.\) group: "):
        patterns._combine("", [(template, Branch("x"))], "t")


# --- the lazily imported package names --------------------------------------------------------------------


def test_package_names_resolve_lazily_to_their_modules():
    from otel_ai.privacy.redactor import Redactor as RedactorClass

    assert otel_ai.privacy.Redactor is RedactorClass
    assert otel_ai.privacy.RedactingSpanExporter is RedactingSpanExporter
    assert otel_ai.privacy.parse_patterns is parse_patterns
    with pytest.raises(AttributeError, match=r"^module 'otel_ai.privacy' has no attribute 'Nope'$"):
        otel_ai.privacy.Nope  # noqa: B018


# --- the secrets registry ------------------------------------------------------------------------------------


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fresh secrets registry, with one listener subscribed; returns what the listener heard."""
    monkeypatch.setattr(secrets, "_known", set())
    monkeypatch.setattr(secrets, "_listeners", [])
    heard: list[str] = []
    secrets.subscribe(heard.append)
    return heard


def test_each_new_secret_reaches_the_listeners_once(registry):
    secrets.remember("key-one")
    secrets.remember("key-one")
    secrets.remember("key-two")
    assert registry == ["key-one", "key-two"]


@pytest.mark.parametrize("value", ["", None, 12345678, b"bytes-key"])
def test_non_strings_and_empty_strings_are_not_secrets(registry, value):
    secrets.remember(value)
    assert registry == []


def test_a_late_subscriber_hears_the_secrets_known_so_far(registry):
    secrets.remember("key-one")
    late: list[str] = []
    secrets.subscribe(late.append)
    secrets.remember("key-two")
    assert late == ["key-one", "key-two"]


# --- what a redacted span copy keeps ------------------------------------------------------------------------


class _Keeping(RedactingSpanExporter):
    """Remembers the spans the SDK handed over, to compare the exported copies with."""

    def __init__(self, inner: SpanExporter) -> None:
        super().__init__(inner, Redactor())
        self.received: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.received.extend(spans)
        return super().export(spans)


def context(n: int) -> SpanContext:
    return SpanContext(n, n, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))


def test_a_redacted_span_copy_keeps_everything_but_the_values():
    limits = SpanLimits(max_span_attributes=3, max_events=2, max_links=2,
                        max_event_attributes=2, max_link_attributes=2)
    provider = TracerProvider(span_limits=limits)
    memory = InMemorySpanExporter()
    keeping = _Keeping(memory)
    provider.add_span_processor(SimpleSpanProcessor(keeping))
    tracer = provider.get_tracer("scope", "1.0")
    links = [
        Link(context(3)),  # a third link: the first is dropped
        Link(context(1), {"a": 1, "b": 2, "mail": EMAIL}),  # one attribute dropped, one redacted
        Link(context(2), {"clean": "nothing here"}),
    ]
    with tracer.start_as_current_span("parent"), tracer.start_as_current_span(
        "child", kind=SpanKind.CLIENT, links=links
    ) as span:
        for key in ("dropped", "x", "y"):
            span.set_attribute(key, 1)
        span.set_attribute("mail", EMAIL)  # the oldest attribute is dropped
        span.add_event("dropped")
        span.add_event("leaky", {"a": 1, "b": 2, "mail": EMAIL})
        span.add_event("clean", {"m": "fine"})
    provider.shutdown()

    original = next(s for s in keeping.received if s.name == "child")
    [exported] = [s for s in memory.get_finished_spans() if s.name == "child"]
    assert exported is not original
    assert exported.attributes["mail"] == "[REDACTED:email]"
    for field in ("name", "context", "parent", "kind", "resource", "instrumentation_scope",
                  "start_time", "end_time", "dropped_attributes", "dropped_events", "dropped_links"):
        assert getattr(exported, field) == getattr(original, field), field
    assert (original.dropped_attributes, original.dropped_events, original.dropped_links) == (1, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert exported.instrumentation_info == original.instrumentation_info
        assert original.instrumentation_info is not None
    assert exported.status.status_code == original.status.status_code

    leaky, clean = exported.events
    assert clean is original.events[1]  # unchanged events and links are kept as they are
    assert (leaky.name, leaky.timestamp, leaky.dropped_attributes) == ("leaky", original.events[0].timestamp, 1)
    assert dict(leaky.attributes) == {"b": 2, "mail": "[REDACTED:email]"}
    changed_link, clean_link = exported.links
    assert clean_link is original.links[1]
    assert (changed_link.context, changed_link.dropped_attributes) == (context(1), 1)
    assert dict(changed_link.attributes) == {"b": 2, "mail": "[REDACTED:email]"}
    for attributes in (exported.attributes, leaky.attributes, changed_link.attributes):
        with pytest.raises(TypeError):
            attributes["added"] = "later"  # type: ignore[index]


def test_a_span_with_clean_events_and_links_keeps_them_when_only_its_attributes_change():
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Redactor())))
    with provider.get_tracer("t").start_as_current_span("op", links=[Link(context(4), {"k": "v"})]) as span:
        span.set_attribute("mail", EMAIL)
        span.add_event("clean", {"m": "fine"})
    [exported] = memory.get_finished_spans()
    assert [e.name for e in exported.events] == ["clean"]
    assert [link.context for link in exported.links] == [context(4)]


# --- failures inside the exporters --------------------------------------------------------------------------


class _Unreadable:
    name = "broken"

    @property
    def attributes(self) -> Any:
        raise RuntimeError("cannot read")


def test_an_unreadable_span_is_dropped_counted_and_both_failures_reported(reports, caplog):
    before = redaction_counts()
    memory = InMemorySpanExporter()
    assert RedactingSpanExporter(memory, Redactor()).export([_Unreadable()]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
    assert memory.get_finished_spans() == ()
    assert Counter(redaction_counts()) - Counter(before) == Counter({"error": 1})
    assert reports == {"redaction.span": 1, "redaction.span_fail_closed": 1}
    for where in reports:
        assert isinstance(logged_exception(caplog, where), RuntimeError)


class _BrokenShape:
    name = "span"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def redact_batch(self, items: Any, redactor: Redactor) -> Any:
        raise self.exc


def test_a_batch_that_cannot_be_redacted_is_not_exported_and_is_reported(reports, caplog, monkeypatch):
    exc = RuntimeError("batch unusable")
    memory = InMemorySpanExporter()
    exporter = RedactingSpanExporter(memory, Redactor())
    monkeypatch.setattr(exporter, "_shape", _BrokenShape(exc))
    assert exporter.export([]) is SpanExportResult.FAILURE
    assert reports == {"redaction.span_batch": 1}
    assert logged_exception(caplog, "redaction.span_batch") is exc


class _DownExporter(SpanExporter):
    def __init__(self) -> None:
        self.flushed: list[int] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        raise ConnectionError("collector down")

    def force_flush(self, timeout_millis: int = 1) -> bool:
        self.flushed.append(timeout_millis)
        return True


def test_a_failing_exporter_is_named_in_the_error_log(caplog):
    caplog.set_level(logging.ERROR, logger="otel_ai.privacy.exporters")
    exporter = RedactingSpanExporter(_DownExporter(), Redactor())
    assert exporter.export([ReadableSpan("x")]) is SpanExportResult.FAILURE
    [record] = caplog.records
    assert record.getMessage() == "otel_ai: span exporter _DownExporter failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ConnectionError)


def test_force_flush_passes_the_sdk_default_timeout():
    inner = _DownExporter()
    assert RedactingSpanExporter(inner, Redactor()).force_flush() is True
    assert inner.flushed == [30000]


# --- what a redacted log record copy keeps ----------------------------------------------------------------------


def test_a_redacted_log_record_keeps_mutable_attributes_like_the_sdks_own():
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(RedactingLogExporter(memory, Redactor())))
    provider.get_logger("t").emit(body=f"mail {EMAIL}", attributes={"clean": "yes"})
    [exported] = memory.get_finished_logs()
    attributes = exported.log_record.attributes
    assert exported.log_record.body == "mail [REDACTED:email]"
    assert attributes["clean"] == "yes"
    attributes["added"] = "by a later processor"
    assert attributes["added"] == "by a later processor"


def test_log_exporter_drops_and_counts_a_record_that_cannot_be_read():
    class Unreadable:
        @property
        def log_record(self) -> Any:
            raise RuntimeError("cannot read")

    before = redaction_counts()
    memory = InMemoryLogRecordExporter()
    exporter = RedactingLogExporter(memory, Redactor())
    assert exporter.export([Unreadable()]) is LogRecordExportResult.SUCCESS  # type: ignore[list-item]
    assert memory.get_finished_logs() == ()
    assert Counter(redaction_counts()) - Counter(before) == Counter({"error": 1})
