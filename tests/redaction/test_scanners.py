"""How the scanners are built and how fast they run.

One table of key formats from which both matchers derive, the helpers that compile and combine
them (they run at import time, so only a test calling them again exercises them), the lazily
imported package names, and linear time on pathological input.
"""

from __future__ import annotations

import inspect
import re
import time
from collections import Counter

import pytest

import otel_ai.privacy
from otel_ai.privacy import patterns
from otel_ai.privacy.exporters import RedactingSpanExporter
from otel_ai.privacy.patterns import (
    Branch,
    KeyFormat,
    parse_patterns,
)
from otel_ai.privacy.redactor import Redactor
from tests.redaction.common import (
    AWS_ACCESS_KEY,
    DEEPSEEK_KEY,
    ELEVENLABS_KEY,
    GITHUB_PAT_CLASSIC,
    JWT,
    OPENAI_PROJECT_KEY,
    SLACK_BOT,
    SLACK_WEBHOOK_PATH,
    redact,
)

# --------------------------------------------------------------------------------------------
# Performance and pathological input
# --------------------------------------------------------------------------------------------

TYPICAL = (
    "The user asked about the quarterly report for 2024 and the model gpt-4o-mini-2024-07-18 answered with "
    "a summary of 3 key points, using 1532 input tokens and 211 output tokens in about 2.4 seconds total!"
)


def test_no_match_returns_the_same_object() -> None:
    """Clean text is handed back as the very object it was (no copy): the exporters rely on it."""
    redactor = Redactor()
    redactor.add_secret(OPENAI_PROJECT_KEY)
    text, found = redactor.redact(TYPICAL)
    assert text is TYPICAL
    assert found is None


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "1" * 200_000,
        "1 " * 100_000,
        "+1 " * 60_000,
        "sk-a" * 50_000,
        "eyJaaaaa." * 20_000,
        "a@" * 100_000,
        "x@" + "a." * 100_000,
        "://a:" + "b@" * 100_000,
        "GB82 " + "ABCD " * 40_000,
        "Bearer " * 30_000,
        "4111 " * 40_000,
        "(" * 200_000,
    ],
)
def test_pathological_input_stays_linear(text: str) -> None:
    start = time.perf_counter()
    Redactor().redact(text)
    assert time.perf_counter() - start < 2.0


def test_many_matches_in_one_string() -> None:
    text = f"mail ann.lee@example.com key {OPENAI_PROJECT_KEY} " * 5000
    start = time.perf_counter()
    out, counts = Redactor().redact(text)
    assert time.perf_counter() - start < 2.0
    assert counts == Counter({"email": 5000, "openai_key": 5000})
    assert OPENAI_PROJECT_KEY not in out


# --------------------------------------------------------------------------------------------
# One table of key formats
# --------------------------------------------------------------------------------------------

# One example per entry of patterns.PROVIDER_KEYS, in its order (a kind may have several entries).
PROVIDER_KEY_EXAMPLES = [
    ("anthropic_key", "sk-ant-api03-" + "Xy7kP2mQ9rT4vW1zB5nCaB3dE6gH9jK2mN5pQ8sT" + "AA"),
    ("deepseek_key", DEEPSEEK_KEY),
    ("openai_key", OPENAI_PROJECT_KEY),
    ("elevenlabs_key", ELEVENLABS_KEY),
    ("stripe_key", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe_key", "rk_test_" + "51HxQ2vLkJ8mN3pR6tY9wZ1a"),
    ("github_token", GITHUB_PAT_CLASSIC),
    ("gitlab_token", "glpat-" + "Xy7kP2mQ9rT4vW1zB5nC"),
    ("gitlab_token", "GR1348941" + "aB3dE6gH9jK2mN5pQ8sT"),
    ("slack_token", SLACK_BOT),
    ("aws_access_key", AWS_ACCESS_KEY),
    ("google_api_key", "AIza" + "SyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0"),
    ("google_oauth_token", "ya29." + "a0AfB_byC7kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cE7xYz"),
    ("huggingface_token", "hf_" + "jCBaQngSHiHDRYOcsMcifUcysGyaiybUWz"),
    ("sendgrid_key", "SG." + "ngeVfQFYQlKU0ufo8x5d1A" + "." + "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
    ("npm_token", "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("pypi_token", "pypi-AgEIcHlwaS5vcmc" + "CJGRhNjE2MTQ5LWZhYTEtNDI0Ny05ZjY1LTMwZDNkZTFjMjQ1OQACKlszLCJmMGE4"),
]


def test_bearer_names_exactly_the_provider_key_kinds() -> None:
    # the kinds recognised inside "Bearer ..." are the provider key kinds: one table drives both
    assert [key.kind for key in patterns.PROVIDER_KEYS] == [kind for kind, _ in PROVIDER_KEY_EXAMPLES]
    for (kind, token), key in zip(PROVIDER_KEY_EXAMPLES, patterns.PROVIDER_KEYS, strict=True):
        assert key.full.fullmatch(token), kind
        assert patterns.classify_bearer(token) == kind
        assert redact(f"Authorization: Bearer {token}") == (
            f"Authorization: Bearer [REDACTED:{kind}]",
            Counter({kind: 1}),
        )
        assert redact(f"key {token}; next") == (f"key [REDACTED:{kind}]; next", Counter({kind: 1}))
    # other token shapes after the word stay bearer tokens, as before
    assert patterns.classify_bearer(JWT) == "bearer_token"
    assert patterns.classify_bearer("hooks.slack.com/" + SLACK_WEBHOOK_PATH) == "bearer_token"


def test_each_key_format_is_written_once_and_both_matchers_derive_from_it() -> None:
    source = inspect.getsource(patterns)
    scan = re.sub(r"\(\?P<p\d+>", "(?P<G>", patterns.PROVIDER_RE.pattern)
    scanned_kinds = {branch.kind for branch in patterns.PROVIDER_META.values()}
    for key in (*patterns.PROVIDER_KEYS, patterns.SLACK_WEBHOOK, patterns.JWT, patterns.PRIVATE_KEY):
        # the regex text appears in one place (the private key's is written in three literals)
        assert source.count(key.pattern) == 1 or key is patterns.PRIVATE_KEY, key.kind
        assert key.full.pattern == key.pattern
        template, branch = key.branch()
        head, _, tail = template.partition("(?P<G>")  # branches sharing a head are merged
        assert head in scan and f"(?P<G>{tail}" in scan and branch.kind in scanned_kinds


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
