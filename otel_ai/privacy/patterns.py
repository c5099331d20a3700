"""What counts as a secret or personal datum: validators, patterns and the combined scanners.

Each key format is one :class:`KeyFormat`; both the fast scan (:data:`PROVIDER_RE`) and the
classification of the value after ``Bearer`` (:func:`classify_bearer`) are derived from it, so a
format changes in one place.

Performance: the provider pattern is one alternation whose branches all start with a literal
character, so the engine's first-character scan (C code) skips everything else; the characters
before that anchor are checked with look-behinds. The digit-led kinds run only where
:func:`number_gate` sees 9 digits in a row, and then only inside runs of digits and separators.

The checks applied to each candidate are in :mod:`otel_ai.privacy.validators`; the user's patterns
(``OTEL_AI_REDACT_PATTERNS``) in :mod:`otel_ai.privacy.custom`. Both are re-exported here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from otel_ai.privacy.custom import UserPattern, parse_pattern_entries, parse_patterns
from otel_ai.privacy.validators import NUMBER_SEPARATORS, digit_count, iban_valid, luhn_valid
from otel_ai.privacy.validators import basic_credentials as _basic_credentials
from otel_ai.privacy.validators import card_ok as _card_ok
from otel_ai.privacy.validators import mixed_case as _mixed_case
from otel_ai.privacy.validators import national_phone_ok as _national_phone_ok
from otel_ai.privacy.validators import openai_plausible as _openai_plausible
from otel_ai.privacy.validators import password_value as _password_value
from otel_ai.privacy.validators import phone_ok as _phone_ok
from otel_ai.privacy.validators import ssn_ok as _ssn_ok

__all__ = [
    "EMAIL_DOMAIN_RE",
    "EMAIL_LOCAL_CHARS",
    "IBAN_RE",
    "JWT",
    "LABEL_SCANS",
    "NUMBER_CLUSTER_RE",
    "NUMBER_META",
    "NUMBER_RE",
    "PRIVATE_KEY",
    "PROVIDER_KEYS",
    "PROVIDER_META",
    "PROVIDER_RE",
    "SLACK_WEBHOOK",
    "URL_CREDENTIAL_RE",
    "URL_CREDENTIAL_START_RE",
    "URL_PASSWORD_RE",
    "Branch",
    "KeyFormat",
    "UserPattern",
    "classify_bearer",
    "credential_name",
    "digit_count",
    "iban_valid",
    "luhn_valid",
    "number_gate",
    "parse_pattern_entries",
    "parse_patterns",
]

# --------------------------------------------------------------------------------------------
# Branches of the combined patterns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    """One alternative of a combined pattern, identified by its single named group."""

    kind: str
    classify: Callable[[str], str | None] | None = None  # returns the kind, or None to reject
    back: int = 0  # characters before the match start that belong to the redacted value
    whole: bool = True  # redact from (match start - back) to match end; else just the group
    # This branch alone (set by _combine): tried where an earlier branch matched but was rejected.
    alone: re.Pattern[str] | None = field(default=None, compare=False, repr=False)


# "(?P<G>" marks the single named group of each alternative; _combine() renames it.
_Template = tuple[str, Branch]

_KEY_CHARS = r"[A-Za-z0-9_-]"
_METACHARACTERS = frozenset("\\.^$*+?{}[]|()")  # "-" is literal outside a character class


@dataclass(frozen=True)
class KeyFormat:
    """A self-identifying key or token format, written once.

    ``pattern`` is the whole token; its first ``anchor + 1`` characters are literal, and the
    character at ``anchor`` (chosen rare in prose) starts this format's branch of the fast scan.
    The scan branch and the ``fullmatch`` pattern used after ``Bearer`` are both derived here.
    """

    kind: str
    pattern: str
    anchor: int
    before: str  # character class that may not precede the token
    after: str = ""  # character class that may not follow it ("" when the pattern is greedy)
    # Extra check on free text only: after "Bearer" the word itself says it is a credential.
    plausible: Callable[[str], bool] | None = None
    full: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lead = self.pattern[: self.anchor + 1]
        if any(ch in _METACHARACTERS for ch in lead):  # pragma: no cover - a mistake in the table below
            raise ValueError(f"{self.kind}: {lead!r} must be literal")
        object.__setattr__(self, "full", re.compile(self.pattern))

    def branch(self) -> _Template:
        """The scan alternative: the anchor character, look-behinds, then the rest as group G."""
        lead = self.pattern[: self.anchor + 1]
        rest = self.pattern[self.anchor + 1 :]
        behind = f"(?<={lead})" if self.anchor else ""
        ahead = f"(?!{self.after})" if self.after else ""
        classify = None if self.plausible is None else _checked(self.kind, self.plausible)
        template = f"{lead[-1]}{behind}(?<!{self.before}{lead})(?P<G>{rest}){ahead}"
        return template, Branch(self.kind, classify, back=self.anchor)


def _checked(kind: str, ok: Callable[[str], bool]) -> Callable[[str], str | None]:
    """A branch classifier that names ``kind`` when ``ok`` accepts the value, else rejects it."""
    return lambda value: kind if ok(value) else None


# Provider keys: named by their provider wherever they appear, "Bearer <key>" included. The
# first format that matches wins, so DeepSeek's shape comes before the general "sk-" one.
PROVIDER_KEYS: tuple[KeyFormat, ...] = (
    # Anthropic: sk-ant-api03-..., sk-ant-admin01-..., sk-ant-oat01-... (before the general "sk-" one).
    KeyFormat("anthropic_key", r"sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{20,}", 1, _KEY_CHARS),
    KeyFormat("deepseek_key", r"sk-[0-9a-f]{32}", 1, _KEY_CHARS, after=_KEY_CHARS),
    KeyFormat("openai_key", r"sk-[A-Za-z0-9_-]{20,}", 1, _KEY_CHARS, plausible=_openai_plausible),
    KeyFormat("elevenlabs_key", r"sk_[0-9a-f]{48}", 1, _KEY_CHARS, after=_KEY_CHARS),
    # Stripe secret and restricted keys, live, test and prod (test keys still open the account's
    # test data); publishable pk_ keys are public by design.
    KeyFormat("stripe_key", r"sk_(?:live|test|prod)_[A-Za-z0-9]{10,99}", 1, _KEY_CHARS, after=_KEY_CHARS),
    KeyFormat("stripe_key", r"rk_(?:live|test|prod)_[A-Za-z0-9]{10,99}", 1, _KEY_CHARS, after=_KEY_CHARS),
    KeyFormat(
        "github_token",
        r"g(?:h[pousr]_[A-Za-z0-9]{36,251}|ithub_pat_[A-Za-z0-9_]{22,245})",
        0,
        "[A-Za-z0-9_]",
        after="[A-Za-z0-9_]",
    ),
    # GitLab: personal (glpat-, also the routable form ending ".<2><7>"), deploy, runner, pipeline
    # trigger, CI job, feed, incoming mail, agent, OAuth app, SCIM and feature-flag tokens; and
    # runner registration tokens (GR1348941...).
    KeyFormat(
        "gitlab_token",
        r"gl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|oas|soat|ffct)-[A-Za-z0-9_-]{20,300}(?:\.[0-9a-z]{2,16})?",
        0,
        "[A-Za-z0-9_]",
    ),
    KeyFormat("gitlab_token", r"GR1348941[A-Za-z0-9_-]{20,}", 1, "[A-Za-z0-9_]"),
    KeyFormat("slack_token", r"xox[abprs]-[A-Za-z0-9-]{10,}", 0, "[A-Za-z0-9]"),
    KeyFormat("aws_access_key", r"A(?:KIA|SIA)[A-Z0-9]{16}", 0, "[A-Za-z0-9]", after="[A-Za-z0-9]"),
    KeyFormat("google_api_key", r"AIza[A-Za-z0-9_-]{35}", 2, _KEY_CHARS, after=_KEY_CHARS),
    # Google OAuth 2.0 access tokens (Vertex AI and every Google Cloud API): ya29. + base64url.
    KeyFormat("google_oauth_token", r"ya29\.[A-Za-z0-9_-]{20,}", 3, _KEY_CHARS),
    # Hugging Face user tokens: hf_ + 34 letters of both cases (names such as hf_hub_download
    # hold an underscore or are shorter; a placeholder is all one case).
    KeyFormat("huggingface_token", r"hf_[A-Za-z]{34}", 2, _KEY_CHARS, after=_KEY_CHARS, plausible=_mixed_case),
    KeyFormat("sendgrid_key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", 1, _KEY_CHARS, after=_KEY_CHARS),
    KeyFormat("npm_token", r"npm_[A-Za-z0-9]{36}", 3, _KEY_CHARS, after=_KEY_CHARS),
    KeyFormat(
        "pypi_token", r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}", 7, _KEY_CHARS
    ),
)
# Scanned like keys but not renamed after "Bearer" (there the value stays a bearer_token).
SLACK_WEBHOOK = KeyFormat(  # the scheme stays visible
    "slack_token", r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]+", 3, "[A-Za-z0-9.-]"
)
JWT = KeyFormat("jwt", r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", 2, _KEY_CHARS)
# A PEM private key, the whole block: "-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP ...]PRIVATE
# KEY[ BLOCK]-----", the body (base64, and the Proc-Type / DEK-Info or armor header lines of
# encrypted and PGP keys), and the END line. Newlines may be escapes (blanked to NUL in the scan
# view, or a literal backslash-n where the escape view does not apply, as in a URL-decoded path).
# Without its END line (a key cut by the content limit) the block runs to the first character no
# key holds. The body never holds "--", so a match never rescans: linear time.
PRIVATE_KEY = KeyFormat(
    "private_key",
    r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[A-Za-z0-9+/=\s\x00:,.()_\\]|-(?!-))*"
    r"(?:-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----)?",
    7,
    "-",
)


def classify_bearer(value: str) -> str | None:
    """Kind of the value after ``Bearer``: a provider key by its provider, else a bearer token."""
    for key in PROVIDER_KEYS:
        if key.full.fullmatch(value):
            return key.kind
    # Real tokens are long or hold digits or token punctuation; "bearer instruments" is prose.
    if len(value) >= 20 or any(("0" <= ch <= "9") or ch in "._~+/=" for ch in value):
        return "bearer_token"
    return None


def _both_cases(first: str, rest: str, branch: Branch) -> list[_Template]:
    """A case-insensitive label as two literal-led branches (keeps the first-character scan)."""
    return [(c + rest, branch) for c in (first.upper(), first.lower())]


# A label's quotes may be JSON-escaped, even twice: in the scan view ``\\"`` reads as NUL + quote.
_LABEL_VALUE_SEP = r"""(?:\x00*["'])?[ \t]*[:=][ \t]*(?:\x00*["'])?"""
_LABEL_VALUE_SEP_QUOTED = r"""(?:\x00*["'])?[ \t]*[:=][ \t]*\x00*["']"""  # the value is quoted
_PROVIDER_BRANCHES: list[_Template] = [
    *(key.branch() for key in (*PROVIDER_KEYS, SLACK_WEBHOOK, JWT, PRIVATE_KEY)),
    # Labelled values: only the value is replaced
    *_both_cases(
        "b",
        r"(?<![A-Za-z0-9_].)(?i:earer)[ \t]+(?P<G>[A-Za-z0-9._~+/-]{8,}=*)",
        Branch("bearer_token", classify_bearer, whole=False),
    ),
    *_both_cases(
        "x",
        rf"(?<!{_KEY_CHARS}.)(?i:i[-_]api[-_]key){_LABEL_VALUE_SEP}(?P<G>[A-Za-z0-9_-]{{16,}})",
        Branch("elevenlabs_key", whole=False),
    ),
    *_both_cases(  # aws_secret_access_key, SecretAccessKey, ...: anchored on the "c" of "sec"
        "c",
        rf"(?<=[sS][eE][cC])(?i:ret[-_]?(?:access[-_]?)?key){_LABEL_VALUE_SEP}"
        r"(?P<G>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        Branch("aws_secret_key", whole=False),
    ),
]

# Labels common in prose ("pass", "basic"): in the combined scan they would stop it at every "p"
# and "b" of the text (that doubled the cost of a clean page of prose). Each word below has its own
# pattern that starts with the word itself, so the engine's literal-prefix search skips to it, and
# it runs only when ``word in text``. A label in odd mixed case ("pASSWORD") is not looked for.
_PASSWORD = Branch("password", _checked("password", _password_value), whole=False)
_PASSWORD_VALUES: tuple[tuple[str, Branch], ...] = (
    # password=..., "password": "...", PGPASSWORD=..., db_pwd: ...: a quoted value runs to its
    # quote (spaces and all), an unquoted one up to a space, quote, "&", "," or ";".
    (rf"{_LABEL_VALUE_SEP_QUOTED}(?P<G>[^\"'\x00\r\n]{{1,256}})", _PASSWORD),
    (rf"{_LABEL_VALUE_SEP}(?P<G>[^\s\"'\x00&,;]{{1,256}})", _PASSWORD),
)
_BASIC_VALUE: tuple[tuple[str, Branch], ...] = (  # Authorization: Basic base64(user:password)
    (r"[ \t]+(?P<G>[A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=_.-])",
     Branch("basic_auth", _checked("basic_auth", _basic_credentials), whole=False)),
)


_LabelScan = tuple[str, re.Pattern[str], dict[str, Branch]]


def _label_scan(word: str, after: str, values: Sequence[tuple[str, Branch]]) -> _LabelScan:
    """(word, the pattern ``word`` + ``after`` + one of ``values``, its branches by group name)."""
    meta = {f"l{i}": branch for i, (_, branch) in enumerate(values)}
    tails = "|".join(tail.replace("(?P<G>", f"(?P<l{i}>") for i, (tail, _) in enumerate(values))
    return word, re.compile(f"{re.escape(word)}{after}(?:{tails})"), meta


LABEL_SCANS: tuple[_LabelScan, ...] = (
    *(_label_scan(word, "(?i:word|wd|phrase)", _PASSWORD_VALUES) for word in ("pass", "Pass", "PASS")),
    *(_label_scan(word, "", _PASSWORD_VALUES) for word in ("pwd", "Pwd", "PWD")),
    *(_label_scan(word, f"(?<![A-Za-z0-9_]{word})", _BASIC_VALUE) for word in ("basic", "Basic", "BASIC")),
)

# Digit-led kinds share one first-character class; a digit in the middle of a run never starts
# a match. The combined pattern only runs inside clusters of digits and separators found by
# NUMBER_CLUSTER_RE (cheap), and only when number_gate() says such a cluster can exist.
_NUMBER_PREFIX = r"[0-9+(](?<![0-9].)"
_NOT_AFTER = r"(?![\w]|[.,/-][0-9])"
_NUMBER_BRANCHES: list[_Template] = [
    (
        r"(?<=\+)(?<![\w+]\+)(?P<G>[1-9][0-9]{0,2}(?:[ .-]?\([0-9]{1,4}\))?[ .-]?[0-9]+(?:[ .-][0-9]+){0,5})"
        r"(?![\w])",
        Branch("phone", lambda v: "phone" if _phone_ok(v) else None),
    ),
    (
        rf"(?<=\()(?<![\w]\()(?P<G>[0-9]{{3}}\)[ .-]?[0-9]{{3}}[ .-][0-9]{{4}}){_NOT_AFTER}",
        Branch("phone"),
    ),
    (
        rf"(?<=[0-9])(?<![\w.+-].)(?P<G>(?:[ -]?[0-9]){{12,18}}){_NOT_AFTER}",
        Branch("card_number", lambda v: "card_number" if _card_ok(v) else None),
    ),
    (  # US social security number, written with dashes or spaces (AAA-GG-SSSS)
        rf"(?<=[0-9])(?<![\w.+-].)(?P<G>[0-9]{{2}}(?:-[0-9]{{2}}-|[ ][0-9]{{2}}[ ])[0-9]{{4}}){_NOT_AFTER}",
        Branch("us_ssn", _checked("us_ssn", _ssn_ok)),
    ),
    (
        rf"(?<=[0-9])(?<![\w.+-].)(?P<G>[0-9]{{2}}[ .-][0-9]{{3}}[ .-][0-9]{{4}}){_NOT_AFTER}",
        Branch("phone"),
    ),
    (
        rf"(?<=1)(?<![\w.+-].)(?P<G>[ .-][0-9]{{3}}[ .-][0-9]{{3}}[ .-][0-9]{{4}}){_NOT_AFTER}",
        Branch("phone"),
    ),
    (
        r"(?<=0)(?<![\w.+-].)(?P<G>[1-9](?:[ .-][0-9]{2}){4}|[0-9]{1,4}[ /-][0-9]{3,8}(?:[ -][0-9]{2,5})?)"
        + _NOT_AFTER,
        Branch("phone", lambda v: "phone" if _national_phone_ok(v) else None),
    ),
]


def _combine(prefix: str, branches: Sequence[_Template], tag: str) -> tuple[re.Pattern[str], dict[str, Branch]]:
    """One alternation; the named group that matched (``m.lastgroup``) says which branch it was.

    Consecutive branches with the same head (anchor and look-behinds, all before ``(?P<G>``) share
    it: ``head(?:a|b)`` fails once where ``head a|head b`` would fail twice, at every "k" of the
    text for the three "sk" formats. Heads match in one way only, so the two forms are equivalent.
    """
    heads: list[tuple[str, list[str]]] = []
    meta: dict[str, Branch] = {}
    for i, (template, branch) in enumerate(branches):
        head, marker, tail = template.partition("(?P<G>")
        if not marker or "(?P<G>" in tail:  # pragma: no cover - a mistake in the tables above
            raise ValueError(f"branch needs exactly one (?P<G>...) group: {template}")
        name = f"{tag}{i}"
        meta[name] = dataclasses.replace(branch, alone=re.compile(f"{prefix}{head}(?P<{name}>{tail}"))
        if heads and heads[-1][0] == head:
            heads[-1][1].append(f"(?P<{name}>{tail}")
        else:
            heads.append((head, [f"(?P<{name}>{tail}"]))
    body = "|".join(head + (tails[0] if len(tails) == 1 else f"(?:{'|'.join(tails)})") for head, tails in heads)
    return re.compile(f"{prefix}(?:{body})" if prefix else body), meta


PROVIDER_RE, PROVIDER_META = _combine("", _PROVIDER_BRANCHES, "p")
NUMBER_RE, NUMBER_META = _combine(_NUMBER_PREFIX, _NUMBER_BRANCHES, "n")
# A run of digits and separators (at least 8 characters); the detailed pattern runs inside the
# runs that hold 9 digits or more (every phone number and card number does: international
# numbers count the country code), so dates, versions, IPs and short numbers never reach it.
NUMBER_CLUSTER_RE = re.compile(r"[0-9+(][0-9 ().+/-]{7,}")
IBAN_RE = re.compile(r"[A-Z](?<![A-Za-z0-9].)[A-Z][0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")
# Cheap gate for the digit-led kinds, on a byte "shape" of the text: digits -> "0", capitals ->
# "A", separators dropped, anything else -> "x". Every phone or card number then shows 9 digits
# in a row; so does every IBAN (its account number), which also shows "AA00" and 11 or more
# capitals or digits after it.
_GATE_TABLE = bytes(48 if 48 <= c <= 57 else 65 if 65 <= c <= 90 else 120 for c in range(256))
_IBAN_SHAPE_RE = re.compile(rb"AA00[A0]{11}")


def number_gate(text: str) -> tuple[bool, bool]:
    """(may hold a phone or card number, may hold an IBAN)."""
    shape = text.encode("utf-8", "surrogatepass").translate(_GATE_TABLE, NUMBER_SEPARATORS)
    if b"000000000" not in shape:
        return False, False
    return True, _IBAN_SHAPE_RE.search(shape) is not None


URL_PASSWORD_RE = re.compile(r"""://[^\s:/?#@"'<>\[\]]*:(?P<v>[^\s/?#"'<>]+)@""")
EMAIL_DOMAIN_RE = re.compile(r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])")
# A query parameter named like a credential: its value goes, whatever its format. After "?", "&"
# or ";" anywhere, or at the very start (`url.query` holds the query without its "?").
_URL_CREDENTIAL = (
    r"(?i:[a-z0-9_.-]*?(?:key|token|secret|password|passwd|pwd|signature|sig|auth|credentials?))"
    r"=(?P<v>[^&#\s\"'<>\x00]+)"
)
URL_CREDENTIAL_RE = re.compile(r"[?&;]" + _URL_CREDENTIAL)
URL_CREDENTIAL_START_RE = re.compile(_URL_CREDENTIAL)
EMAIL_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


# --------------------------------------------------------------------------------------------
# Names that say "credential"
# --------------------------------------------------------------------------------------------

_CREDENTIAL_ENDINGS = (
    "apikey", "authorization", "password", "passwd", "passphrase", "secret", "token", "cookie",
    "privatekey", "secretkey", "credential", "credentials", "signature",
)  # fmt: skip
_CREDENTIAL_NAMES = frozenset({"auth", "pwd", "xauth", "sessionid"})


def credential_name(key: str) -> bool:
    """Whether a key names a credential (``x-api-key``, ``http.request.header.authorization``, ...).

    The last dotted segment is compared with ``-`` and ``_`` removed, so header attributes, JSON
    keys and log attributes are judged alike; ``gen_ai.usage.input_tokens`` is not a credential.
    """
    name = key.rpartition(".")[2]
    if len(name) > 64:
        return False
    compact = name.lower().replace("-", "").replace("_", "")
    return compact.endswith(_CREDENTIAL_ENDINGS) or compact in _CREDENTIAL_NAMES
