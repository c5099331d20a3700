"""Property tests for :class:`otel_ai.privacy.redactor.Redactor` (hypothesis).

(a) A secret or personal datum of each kind the redactor knows, generated as a valid instance
    (random key bodies, Luhn-valid card numbers, mod-97-valid IBANs, e-mail addresses, phone
    numbers in international and national forms, labelled values), embedded in random text at
    any position with a boundary character on each side (space, newline, tab, quotes, brackets,
    punctuation, typographic quotes, a no-break space), then given to the redactor as is,
    JSON-escaped (``json.dumps(text)``, with and without ``ensure_ascii``, and inside an object)
    or as ``repr(text)``: the value is never in the output, and output of JSON input still parses
    as JSON, to the same structure.
(b) Text with nothing to redact (prose, JSON documents, URLs, numbers that cannot be cards or
    phones; the strategies below say why each cannot hold a secret) comes back unchanged, as the
    very same object.

The random text around a secret is built from letters and punctuation without digits, ``@``,
``-``, ``_`` or ``.``: it cannot form a secret of its own, nor extend the planted one (a key
glued to letters, or a card number followed by more digits, is a different value on purpose).
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from otel_ai.privacy.patterns import parse_patterns
from otel_ai.privacy.redactor import Redactor
from tests.support.leak_app import with_luhn

CUSTOM_PATTERN = "internal-ref-[A-Z0-9]{12}"
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,  # no .hypothesis directory in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
KEY_CHARS = ALNUM + "-_"

REDACTOR = Redactor(parse_patterns(CUSTOM_PATTERN))


@dataclass(frozen=True)
class Secret:
    kind: str
    value: str  # must never be in the output
    text: str  # as written (with the label or scheme that makes it recognizable)


# --------------------------------------------------------------------------------------------
# Valid instances of each kind
# --------------------------------------------------------------------------------------------


def chars(alphabet: str, min_size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=min_size if max_size is None else max_size)


@st.composite
def key_body(draw: st.DrawFn, alphabet: str, min_size: int, max_size: int) -> str:
    """A random key body holding a capital and a digit, as every real random key does."""
    body = list(draw(chars(alphabet, min_size, max_size)))
    body[draw(st.integers(0, len(body) - 1))] = draw(st.sampled_from(string.ascii_uppercase))
    body[draw(st.integers(0, len(body) - 1))] = draw(st.sampled_from(string.digits))
    return "".join(body)


def digits(n: int, first: str = string.digits) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(first), chars(string.digits, n - 1)).map("".join)


def same(kind: str, strategy: st.SearchStrategy[str]) -> st.SearchStrategy[Secret]:
    return strategy.map(lambda value: Secret(kind, value, value))


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


def with_iban_check(country: str, bban: str) -> str:
    numeric = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


def grouped(text: str, sizes: list[int], sep: str) -> str:
    out, pos = [], 0
    for size in sizes:
        out.append(text[pos : pos + size])
        pos += size
    if pos < len(text):
        out.append(text[pos:])
    return sep.join(part for part in out if part)


openai_keys = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["sk-", "sk-proj-", "sk-svcacct-", "sk-admin-"]),
    key_body(KEY_CHARS, 20, 120),
)
deepseek_keys = chars(HEX, 32).map(lambda body: "sk-" + body)
elevenlabs_keys = chars(HEX, 48).map(lambda body: "sk_" + body)
aws_access_keys = st.builds(lambda p, b: p + b, st.sampled_from(["AKIA", "ASIA"]), chars(UPPER_DIGITS, 16))
github_tokens = st.one_of(
    st.builds(lambda p, b: p + b, st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), key_body(ALNUM, 36, 60)),
    st.builds(lambda a, b: f"github_pat_{a}_{b}", key_body(ALNUM, 22, 22), key_body(ALNUM, 59, 59)),
)
slack_tokens = st.builds(
    lambda c, a, b, rest: f"xox{c}-{a}-{b}-{rest}",
    st.sampled_from("abprs"),
    digits(11),
    digits(13),
    key_body(ALNUM, 24, 32),
)
slack_webhooks = st.builds(
    lambda path, team, bot, token: Secret("slack_webhook", f"hooks.slack.com/{path}/T{team}/B{bot}/{token}",
                                          f"https://hooks.slack.com/{path}/T{team}/B{bot}/{token}"),
    st.sampled_from(["services", "workflows", "triggers"]),
    chars(UPPER_DIGITS, 8, 10),
    chars(UPPER_DIGITS, 8, 10),
    key_body(ALNUM, 24, 24),
)


def _b64url(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode()


jwts = st.builds(
    lambda header, payload, signature: f"{_b64url(header)}.{_b64url(payload)}.{signature}",
    st.builds(
        lambda alg, kid: json.dumps({"alg": alg, "typ": "JWT", "kid": kid}, separators=(",", ":")),
        st.sampled_from(["HS256", "RS256", "ES256"]),
        chars(ALNUM, 1, 20),
    ),
    st.builds(
        lambda sub, iat: json.dumps({"sub": sub, "iat": iat}),
        chars(ALNUM, 1, 30),
        st.integers(1_000_000_000, 2_000_000_000),
    ),
    chars(ALNUM + "-_", 16, 86),
)
bearer_tokens = st.builds(
    lambda word, token, pad: Secret("bearer_token", token + pad, f"{word} {token}{pad}"),
    st.sampled_from(["Bearer", "bearer", "BEARER"]),
    key_body(ALNUM + "._~+/-", 20, 80),
    st.sampled_from(["", "=", "=="]),
)
url_passwords = st.builds(
    lambda scheme, user, password, host: Secret(
        "url_password", password, f"{scheme}://{user}:{password}@{host}/db"
    ),
    st.sampled_from(["https", "postgres", "redis", "amqp", "mongodb+srv"]),
    chars(string.ascii_lowercase + "_", 1, 12),
    key_body(ALNUM + "!$*~._-", 8, 40),
    st.sampled_from(["db.internal.example", "localhost:5432", "10.0.0.7", "cache.example.com:6379"]),
)
elevenlabs_labelled = st.builds(
    lambda label, sep, value: Secret("elevenlabs_labelled_key", value, f"{label}{sep}{value}"),
    st.sampled_from(["xi-api-key", "xi_api_key", "XI-API-KEY", "Xi-Api-Key"]),
    st.sampled_from([": ", "=", " = ", ":", '": "', "': '", '="']),
    key_body(ALNUM, 16, 64),
)
aws_secret_keys = st.builds(
    lambda label, sep, value: Secret("aws_secret_key", value, f"{label}{sep}{value}"),
    st.sampled_from(["aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "SecretAccessKey", "secret_key",
                     "aws-secret-access-key"]),
    st.sampled_from([": ", "=", " = ", ":", '": "', "': '", '="']),
    key_body(ALNUM + "/+", 40, 40),
)


@st.composite
def emails(draw: st.DrawFn) -> str:
    local_chars = string.ascii_lowercase + string.digits
    local = draw(chars(local_chars, 1, 1)) + draw(chars(local_chars + "._%+-", 0, 30)) + draw(chars(local_chars, 1, 1))
    local = local.replace("..", ".")
    labels = draw(st.lists(chars(string.ascii_lowercase + string.digits, 1, 15), min_size=1, max_size=3))
    tld = draw(chars(string.ascii_lowercase, 2, 10))
    return f"{local}@{'.'.join(labels)}.{tld}"


# (country, BBAN: letters, digits); lengths as ISO 13616 registers them
_IBAN_COUNTRIES = [("DE", 0, 18), ("FR", 0, 23), ("ES", 0, 20), ("BE", 0, 12), ("CH", 0, 17), ("PL", 0, 24),
                   ("GB", 4, 14), ("NL", 4, 10), ("IE", 4, 14), ("AT", 0, 16)]


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country, letters, numbers = draw(st.sampled_from(_IBAN_COUNTRIES))
    bban = draw(chars(string.ascii_uppercase, letters)) + draw(chars(string.digits, numbers))
    iban = with_iban_check(country, bban)
    assert iban_valid(iban)
    return grouped(iban, [4] * 9, " ") if draw(st.booleans()) else iban


# (prefix, total length, grouping)
_CARDS = [
    ("4", 16, [4, 4, 4, 4]), ("4", 13, [4, 4, 5]), ("51", 16, [4, 4, 4, 4]), ("55", 16, [4, 4, 4, 4]),
    ("2221", 16, [4, 4, 4, 4]), ("34", 15, [4, 6, 5]), ("37", 15, [4, 6, 5]), ("6011", 16, [4, 4, 4, 4]),
    ("3530", 16, [4, 4, 4, 4]), ("36", 14, [4, 6, 4]),
]


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix, length, groups = draw(st.sampled_from(_CARDS))
    number = with_luhn(prefix + draw(chars(string.digits, length - len(prefix) - 1)))
    sep = draw(st.sampled_from(["", " ", "-"]))
    return grouped(number, groups, sep) if sep else number


@st.composite
def international_phones(draw: st.DrawFn) -> str:
    country = draw(digits(draw(st.integers(1, 3)), "123456789"))
    groups = draw(st.lists(st.integers(2, 4), min_size=2, max_size=5))
    total = len(country) + sum(groups)
    if not 9 <= total <= 15:
        groups = [3, 3, 4] if len(country) <= 3 else [3, 3]
    sep = draw(st.sampled_from([" ", "-", "."]))
    numbers = [draw(chars(string.digits, size)) for size in groups]
    return "+" + country + sep + sep.join(numbers)


@st.composite
def us_phones(draw: st.DrawFn) -> str:
    area, exchange, line = draw(digits(3, "23456789")), draw(digits(3, "23456789")), draw(chars(string.digits, 4))
    template = draw(st.sampled_from([
        "({a}) {e}-{l}", "({a}) {e} {l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "{a} {e} {l}", "1-{a}-{e}-{l}",
        "+1 {a} {e} {l}",
    ]))
    return template.format(a=area, e=exchange, l=line)


@st.composite
def european_national_phones(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(["area", "pairs", "slash"]))
    if form == "pairs":  # 06 12 34 56 78
        return "0" + draw(digits(1, "123456789")) + "".join(" " + draw(chars(string.digits, 2)) for _ in range(4))
    area = draw(digits(draw(st.integers(1, 4)), "123456789"))
    rest = draw(chars(string.digits, max(3, 9 - len(area)), min(8, 12 - len(area))))
    return f"0{area}{' ' if form == 'area' else '/'}{rest}"


customs = chars(UPPER_DIGITS, 12).map(lambda s: "internal-ref-" + s)


@st.composite
def private_keys(draw: st.DrawFn) -> Secret:
    """A whole PEM block; the value checked is its first body line (the key material)."""
    kind = draw(st.sampled_from(["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", "PGP "]))
    block = " BLOCK" if kind == "PGP " and draw(st.booleans()) else ""
    lines = draw(st.lists(key_body(ALNUM + "+/", 64, 64), min_size=1, max_size=4))
    headers = ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC,5E6B1A2B3C4D5E6F"] if draw(st.booleans()) else []
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    body = newline.join([*headers, *([""] if headers else []), *lines, draw(key_body(ALNUM + "+/", 4, 60)) + "=="])
    end = "" if draw(st.booleans()) and not block else f"{newline}-----END {kind}PRIVATE KEY{block}-----"  # cut
    text = f"-----BEGIN {kind}PRIVATE KEY{block}-----{newline}{body}{end}"
    return Secret("private_key", lines[0], text)


stripe_keys = st.builds(
    lambda kind, env, body: f"{kind}_{env}_{body}",
    st.sampled_from(["sk", "rk"]), st.sampled_from(["live", "test", "prod"]), key_body(ALNUM, 24, 99),
)
google_api_keys = key_body(KEY_CHARS, 35, 35).map(lambda body: "AIza" + body)
gitlab_tokens = st.one_of(
    st.builds(lambda p, b: f"{p}-{b}",
              st.sampled_from(["glpat", "gldt", "glrt", "glptt", "glcbt", "glft", "glimt", "glagent", "gloas"]),
              key_body(KEY_CHARS, 20, 64)),
    st.builds(lambda b, c: f"glpat-{b}.01{c}", key_body(KEY_CHARS, 27, 60),
              chars(string.ascii_lowercase + string.digits, 7)),
    key_body(KEY_CHARS, 20, 30).map(lambda b: "GR1348941" + b),
)


@st.composite
def huggingface_tokens(draw: st.DrawFn) -> str:
    body = list(draw(chars(string.ascii_letters, 34)))
    body[draw(st.integers(0, 33))] = draw(st.sampled_from(string.ascii_uppercase))
    body[draw(st.integers(0, 33))] = draw(st.sampled_from(string.ascii_lowercase))
    return "hf_" + "".join(body)


sendgrid_keys = st.builds(lambda a, b: f"SG.{a}.{b}", key_body(KEY_CHARS, 22, 22), key_body(KEY_CHARS, 43, 43))
npm_tokens = key_body(ALNUM, 36, 36).map(lambda body: "npm_" + body)
basic_credentials = st.builds(
    lambda word, user, password: (lambda value: Secret("basic_auth", value, f"Authorization: {word} {value}"))(
        base64.b64encode(f"{user}:{password}".encode()).decode()
    ),
    st.sampled_from(["Basic", "basic", "BASIC"]),
    chars(ALNUM + "._-@", 1, 20),
    key_body(ALNUM + "!$*~.:@#%^&()", 6, 40),
)
def _password_pair(label: str, sep: str, value: str) -> Secret:
    quote = sep[-1] if sep[-1] in "\"'" else ""  # a quoted value is closed by its quote
    return Secret("password", value, f"{label}{sep}{value}{quote}")


password_pairs = st.builds(
    _password_pair,
    st.sampled_from(["password", "PASSWORD", "Password", "passwd", "pwd", "passphrase", "db_password", "PGPASSWORD"]),
    st.sampled_from(["=", ": ", " = ", ":", '": "', "': '", '="']),
    key_body(ALNUM + "!$*~.@#%^", 6, 40),
)


@st.composite
def ssns(draw: st.DrawFn) -> str:
    area = draw(st.integers(1, 899).filter(lambda a: a != 666))
    sep = draw(st.sampled_from(["-", " "]))
    return f"{area:03d}{sep}{draw(st.integers(1, 99)):02d}{sep}{draw(st.integers(1, 9999)):04d}"

KINDS: dict[str, st.SearchStrategy[Secret]] = {
    "openai_key": same("openai_key", openai_keys),
    "deepseek_key": same("deepseek_key", deepseek_keys),
    "elevenlabs_key": same("elevenlabs_key", elevenlabs_keys),
    "elevenlabs_labelled_key": elevenlabs_labelled,
    "aws_access_key": same("aws_access_key", aws_access_keys),
    "aws_secret_key": aws_secret_keys,
    "github_token": same("github_token", github_tokens),
    "slack_token": same("slack_token", slack_tokens),
    "slack_webhook": slack_webhooks,
    "jwt": same("jwt", jwts),
    "bearer_token": bearer_tokens,
    "url_password": url_passwords,
    "email": same("email", emails()),
    "iban": same("iban", ibans()),
    "card_number": same("card_number", cards()),
    "phone_international": same("phone_international", international_phones()),
    "phone_us": same("phone_us", us_phones()),
    "phone_european": same("phone_european", european_national_phones()),
    "custom": same("custom", customs),
    "private_key": private_keys(),
    "stripe_key": same("stripe_key", stripe_keys),
    "google_api_key": same("google_api_key", google_api_keys),
    "gitlab_token": same("gitlab_token", gitlab_tokens),
    "huggingface_token": same("huggingface_token", huggingface_tokens()),
    "sendgrid_key": same("sendgrid_key", sendgrid_keys),
    "npm_token": same("npm_token", npm_tokens),
    "basic_auth": basic_credentials,
    "password": password_pairs,
    "us_ssn": same("us_ssn", ssns()),
}

# --------------------------------------------------------------------------------------------
# Text around a secret
# --------------------------------------------------------------------------------------------

# Filler: letters (some outside ASCII), spaces and punctuation; no digits, "@", "-", "_", ".",
# "/", "+", "=" or "%": it can neither form a secret nor extend the planted one.
FILLER = st.text(
    alphabet=st.one_of(
        st.sampled_from(string.ascii_letters + " \n\t,;:!?()[]{}<>'\""),
        st.sampled_from("éüßøçñжΩλ日本語€…“”"),
    ),
    max_size=40,
)
# One character that ends a word on each side of the secret.
NEIGHBOURS = [" ", "\n", "\t", "\r\n", '"', "'", "(", ")", "[", "]", "{", "}", "<", ">", ",", ";", ":", "!", "?",
              "“", "”", "«", "»", "\u00a0", "—", "\r"]

ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda text: text,
    "json": json.dumps,
    "json_unicode": lambda text: json.dumps(text, ensure_ascii=False),
    "json_object": lambda text: json.dumps({"k": text, "n": 1}),
    "repr": repr,
}


def embed(data: st.DataObject, secret: Secret, *, edges: bool = True) -> str:
    """Filler, a neighbour, the secret, a neighbour, filler; or the secret at the very start or end."""
    before = data.draw(FILLER, label="before") + data.draw(st.sampled_from(NEIGHBOURS), label="left")
    after = data.draw(st.sampled_from(NEIGHBOURS), label="right") + data.draw(FILLER, label="after")
    at_start = edges and data.draw(st.booleans(), label="at the very start")
    at_end = edges and data.draw(st.booleans(), label="at the very end")
    return ("" if at_start else before) + secret.text + ("" if at_end else after)


def problems(secret: Secret, text: str, encoding: str) -> list[str]:
    """What is wrong with the redaction of ``text`` given as ``encoding`` (nothing: [])."""
    encoded = ENCODINGS[encoding](text)
    out, counts = REDACTOR.redact(encoded)
    if secret.value in out:
        return [f"{encoding}: {secret.kind} kept in {out!r}"]
    if not counts:
        return [f"{encoding}: nothing counted"]
    if encoding.startswith("json"):
        try:
            decoded = json.loads(out)
        except ValueError as exc:
            return [f"{encoding}: no longer JSON ({exc}): {out!r}"]
        original = json.loads(encoded)
        if isinstance(original, dict):
            if not (isinstance(decoded, dict) and set(decoded) == set(original) and decoded["n"] == 1):
                return [f"{encoding}: JSON structure changed: {out!r}"]
            decoded = decoded["k"]
        if not isinstance(decoded, str) or secret.value in decoded:
            return [f"{encoding}: kept once decoded: {decoded!r}"]
    return []


def check_redacted(secret: Secret, text: str, encodings: list[str] | None = None) -> None:
    """The value is gone, in every encoding of ``text``; every failing encoding is listed."""
    found = [line for encoding in encodings or ENCODINGS for line in problems(secret, text, encoding)]
    assert not found, "\n".join(found)


# --------------------------------------------------------------------------------------------
# (a) secrets are always redacted
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
@SETTINGS
@given(data=st.data())
def test_a_secret_anywhere_in_text_is_redacted(kind: str, data: st.DataObject) -> None:
    """As is, JSON-escaped (three ways) and as repr(): see ENCODINGS."""
    secret = data.draw(KINDS[kind], label="secret")
    check_redacted(secret, embed(data, secret))


@SETTINGS
@given(data=st.data())
def test_several_secrets_of_any_kinds_in_one_text_are_all_redacted(data: st.DataObject) -> None:
    secrets = data.draw(st.lists(st.one_of(*KINDS.values()), min_size=2, max_size=5), label="secrets")
    text = " and ".join(embed(data, secret, edges=False) for secret in secrets)
    for encoding, encode in ENCODINGS.items():
        out, _ = REDACTOR.redact(encode(text))
        kept = [s.kind for s in secrets if s.value in out]
        assert not kept, f"{encoding}: kept {kept} in {out!r}"
        if encoding.startswith("json"):
            json.loads(out)


NUMBERS = st.one_of(
    same("card_number", cards()),
    same("phone_international", international_phones()),
    same("phone_us", us_phones()),
    same("phone_european", european_national_phones()),
    same("iban", ibans()),
)


_CARD = Secret("card_number", "4000000000000002", "4000000000000002")
_PHONE_13 = Secret("phone_european", "01000 00000000", "01000 00000000")  # 13 digits: the most a national number has
_PHONE_10 = Secret("phone_european", "01 00000000", "01 00000000")


@SETTINGS
@given(first=NUMBERS, second=NUMBERS, joiner=st.sampled_from([" ", ", ", "; ", "\n", " / ", "\t", " or "]))
@example(first=_CARD, second=_PHONE_10, joiner=" ")  # found by hypothesis
@example(first=_PHONE_13, second=_PHONE_13, joiner=", ")  # found by hypothesis (one such number alone)
def test_numbers_next_to_each_other_are_each_redacted(first: Secret, second: Secret, joiner: str) -> None:
    """A card number then a phone number ("4000000000000002 201 200 0000"): both are found; a
    candidate rejected by its check (Luhn, length) must not hide the value after it."""
    out, _ = REDACTOR.redact(f"call {first.text}{joiner}{second.text} now")
    kept = [s.kind for s in (first, second) if s.value in out]
    assert not kept, f"kept {kept} in {out!r}"


@SETTINGS
@given(
    secret=key_body(ALNUM + "._-", 8, 64),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_a_registered_secret_is_redacted_even_inside_a_word(secret: str, before: str, after: str) -> None:
    redactor = Redactor()
    redactor.add_secret(secret)
    for encoding, encode in ENCODINGS.items():
        out, _ = redactor.redact(encode(before + secret + after))
        assert secret not in out, encoding
        if encoding.startswith("json"):
            json.loads(out)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["aws_secret_key", "elevenlabs_labelled_key", "bearer_token"]))
def test_a_labelled_secret_pasted_as_json_is_redacted(data: st.DataObject, kind: str) -> None:
    """``{"aws_secret_access_key": "..."}`` pasted into a prompt, which is then JSON-escaped."""
    secret = data.draw(KINDS[kind])
    labels = {"aws_secret_key": "aws_secret_access_key", "elevenlabs_labelled_key": "xi-api-key"}
    label = labels.get(kind, "authorization")
    value = secret.value if kind != "bearer_token" else secret.text
    pasted = json.dumps({label: value, "region": "eu"}, indent=data.draw(st.sampled_from([None, 2])))
    text = data.draw(FILLER) + "\n" + pasted + "\n" + data.draw(FILLER)
    check_redacted(secret, text)


@SETTINGS
@given(card=cards(), email=emails(), indent=st.sampled_from([None, 2]))
def test_numbers_and_keys_in_json_are_redacted(card: str, email: str, indent: int | None) -> None:
    """A card number given as a JSON number, an e-mail address as a JSON key: redacted in the text,
    and in a captured content document (a JSON attribute), which still parses after."""
    number = int("".join(ch for ch in card if ch.isdigit()))
    document = json.dumps({"card": number, email: "a key", "nested": [{"card": number}]}, indent=indent)
    out, _ = REDACTOR.redact(document)
    assert str(number) not in out and email not in out
    attributes, _ = REDACTOR.redact_value({"gen_ai.input.messages": document})  # type: ignore[arg-type]
    assert isinstance(attributes, dict)
    redacted = attributes["gen_ai.input.messages"]
    assert str(number) not in redacted and email not in redacted
    json.loads(redacted)


# --------------------------------------------------------------------------------------------
# (b) clean text is returned as the very same object
# --------------------------------------------------------------------------------------------

# Words of at most 12 letters between separators that are not token characters: no digits (no
# numbers, IBANs, keys with digits), no "@" (e-mail, URL password), no "-", "_", ".", "/", "+",
# "=" (every provider key, webhook and JWT needs one; a bearer token needs 20 characters or one
# of them; labelled AWS and ElevenLabs values need 16 or 40 in a row).
LETTERS = st.sampled_from(string.ascii_letters + "éüßøçñжΩλ日本語")
WORDS = st.text(alphabet=LETTERS, min_size=1, max_size=12)
SEPARATORS = st.sampled_from([" ", ", ", "\n", "; ", "! ", "? ", ": ", " (", ") ", "\t", '"', "'", " “", "” "])
prose = st.lists(st.tuples(WORDS, SEPARATORS), max_size=40).map(lambda pairs: "".join(w + s for w, s in pairs))

# Integers below 10**6: JSON puts ", " or ": " between numbers, so no run of digits and number
# separators reaches the 9 digits every phone and card number has.
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), prose),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(WORDS, children, max_size=5)),
    max_leaves=20,
)

# Fixed hosts; lowercase path segments of at most 8 letters; query parameters from names that
# name no credential.
urls = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}/{'/'.join(path)}" + (f"?{'&'.join(query)}" if query else ""),
    st.sampled_from(["https", "http"]),
    st.sampled_from(["example.com", "api.openai.com", "docs.python.org", "opentelemetry.io", "localhost:8080"]),
    st.lists(chars(string.ascii_lowercase, 1, 8), max_size=4),
    st.lists(
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["q", "page", "lang", "sort", "view", "limit", "format"]),
                  chars(string.ascii_lowercase, 0, 8)),
        max_size=3,
    ),
)

# At most 8 digits in any run of digits and number separators (" ().+/-"): never a card (13+),
# an IBAN account or a phone number (9+). Numbers are joined by ", " (the comma is no separator).
numbers = st.lists(
    st.one_of(
        st.integers(0, 99_999_999).map(str),
        st.builds(lambda a, b: f"{a}.{b}", st.integers(0, 9999), st.integers(0, 9999)),
        st.dates().map(lambda d: d.isoformat() + "T12:30:00Z"),
        st.builds(lambda a, b, c: f"v{a}.{b}.{c}", st.integers(0, 99), st.integers(0, 99), st.integers(0, 999)),
        st.integers(0, 100).map(lambda n: f"{n}%"),
        st.integers(1, 10**6).map(lambda n: f"{n} tokens"),
    ),
    max_size=12,
).map(", ".join)

clean_texts = st.one_of(
    prose,
    json_values.map(json.dumps),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    urls,
    numbers,
    st.lists(st.one_of(prose, urls, numbers), max_size=6).map("\n".join),
    prose.map(repr),
)


@settings(max_examples=300, deadline=None, database=None)
@given(text=clean_texts)
def test_text_with_nothing_to_redact_comes_back_as_the_same_object(text: str) -> None:
    out, counts = REDACTOR.redact(text)
    assert counts is None, f"redacted {dict(counts)}: {text!r} -> {out!r}"
    assert out is text


@settings(max_examples=100, deadline=None, database=None)
@given(texts=st.lists(clean_texts, max_size=5), as_tuple=st.booleans())
@example(texts=["A ", "".join(["A", " "])], as_tuple=False)  # found by hypothesis: equal, not identical
def test_clean_sequences_come_back_as_the_same_object(texts: list[str], as_tuple: bool) -> None:
    value = tuple(texts) if as_tuple else texts
    out, counts = REDACTOR.redact_value(value)
    assert counts is None
    assert out is value


# --------------------------------------------------------------------------------------------
# (c) look-alikes of the formats added with issue 15 are left alone
# --------------------------------------------------------------------------------------------


def _untouched(text: str) -> None:
    out, counts = REDACTOR.redact(text)
    assert counts is None, f"redacted {dict(counts)}: {text!r} -> {out!r}"


@SETTINGS
@given(number=st.integers(0, 999_999_999), words=prose)
def test_a_bare_nine_digit_number_is_not_a_social_security_number(number: int, words: str) -> None:
    """Only the written form (AAA-GG-SSSS) is an SSN: ids, amounts and counts of 9 digits are not."""
    _untouched(f"{words} order {number:09d} for {number} units")


@SETTINGS
@given(
    area=st.one_of(st.just(0), st.just(666), st.integers(900, 999), st.integers(1, 899)),
    group=st.integers(0, 99),
    serial=st.integers(0, 9999),
    sep=st.sampled_from(["-", " "]),
)
def test_numbers_in_the_ssn_shape_are_ssns_only_when_valid(area: int, group: int, serial: int, sep: str) -> None:
    text = f"ref {area:03d}{sep}{group:02d}{sep}{serial:04d} ok"
    valid = area not in (0, 666) and area < 900 and group != 0 and serial != 0
    _, counts = REDACTOR.redact(text)
    assert (counts is not None and counts["us_ssn"] == 1) == valid, (text, counts)


@SETTINGS
@given(date=st.dates(), zip_code=st.integers(10000, 99999), plus4=st.integers(0, 9999))
def test_dates_and_zip_codes_are_not_social_security_numbers(date: object, zip_code: int, plus4: int) -> None:
    _untouched(f"shipped {date} to 94105, ZIP+4 {zip_code}-{plus4:04d}")


@SETTINGS
@given(
    name=st.lists(chars(string.ascii_lowercase, 1, 10), min_size=1, max_size=5).map("_".join),
    letters=st.sampled_from([string.ascii_lowercase, string.ascii_uppercase]),
    data=st.data(),
)
def test_hf_identifiers_and_placeholders_are_not_tokens(name: str, letters: str, data: st.DataObject) -> None:
    """Snake-case names (hf_hub_download), one-case runs of 34 letters (hf_xxxx... placeholders)
    and longer runs are not Hugging Face tokens."""
    one_case = data.draw(chars(letters, 34))
    longer = data.draw(huggingface_tokens()) + data.draw(chars(string.ascii_letters, 1, 5))
    _untouched(f"call hf_{name}() with hf_{one_case} or {longer}")


@SETTINGS
@given(words=st.lists(WORDS, min_size=1, max_size=4), a=chars(KEY_CHARS, 1, 21), b=chars(KEY_CHARS, 1, 42))
def test_sg_abbreviations_are_not_sendgrid_keys(words: list[str], a: str, b: str) -> None:
    """"SG." in prose (Singapore, a sergeant) and two parts shorter than a key's (22 and 43) are left."""
    _untouched(f"SG. {' '.join(words)}; SG.{a}.{b} and SG.{''.join(words)}")


@SETTINGS
@given(word=st.sampled_from([
    "authentication", "auth", "settings", "plan", "usage", "English", "tier", "example", "idea", "rules",
    "income", "needs", "research", "training", "Python", "HTML", "setup",
]), words=prose)
def test_basic_in_prose_is_not_a_credential(word: str, words: str) -> None:
    _untouched(f"{words} Basic {word} and basic {word}: BASIC {word}.")


@SETTINGS
@given(words=st.lists(WORDS, min_size=1, max_size=6).map(" ".join))
def test_the_word_password_in_prose_is_not_a_pair(words: str) -> None:
    """Only a label followed by ``=`` or ``:`` and a value is a pair; JSON literals are no passwords."""
    _untouched(f"the password is {words}; passwords {words}. Password:\nreset your pwd {words}")
    _untouched('{"password": null, "passwd": true, "pwd": false}')
