"""A valid secret of any built-in kind, anywhere in any text, in any encoding, is redacted (hypothesis).

A secret or personal datum of each kind the redactor knows, generated as a valid instance (random
key bodies, Luhn-valid card numbers, mod-97-valid IBANs, e-mail addresses, phone numbers in
international and national forms, labelled values), embedded in random text at any position with a
boundary character on each side (space, newline, tab, quotes, brackets, punctuation, typographic
quotes, a no-break space), then given to the redactor as is, JSON-escaped (``json.dumps(text)``,
with and without ``ensure_ascii``, and inside an object) or as ``repr(text)``: the value is never in
the output, and output of JSON input still parses as JSON, to the same structure. The converse, text
with nothing to redact coming back as the same object, is in test_clean_text.py.

The random text around a secret is built from letters and punctuation without digits, ``@``,
``-``, ``_`` or ``.``: it cannot form a secret of its own, nor extend the planted one (a key
glued to letters, or a card number followed by more digits, is a different value on purpose).
"""

from __future__ import annotations

import base64
import json
import string
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from otel_ai.privacy.redactor import Redactor
from tests.redaction.common import (
    ALNUM,
    HEX,
    KEY_CHARS,
    REDACTOR,
    SETTINGS,
    UPPER_DIGITS,
    Secret,
    chars,
    huggingface_tokens,
)
from tests.support.leak_app import with_luhn

# --------------------------------------------------------------------------------------------
# Valid instances of each kind
# --------------------------------------------------------------------------------------------


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
google_oauth_tokens = key_body(KEY_CHARS, 20, 200).map(lambda body: "ya29." + body)
gitlab_tokens = st.one_of(
    st.builds(lambda p, b: f"{p}-{b}",
              st.sampled_from(["glpat", "gldt", "glrt", "glptt", "glcbt", "glft", "glimt", "glagent", "gloas"]),
              key_body(KEY_CHARS, 20, 64)),
    st.builds(lambda b, c: f"glpat-{b}.01{c}", key_body(KEY_CHARS, 27, 60),
              chars(string.ascii_lowercase + string.digits, 7)),
    key_body(KEY_CHARS, 20, 30).map(lambda b: "GR1348941" + b),
)


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
    "google_oauth_token": same("google_oauth_token", google_oauth_tokens),
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
# Secrets are always redacted
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
