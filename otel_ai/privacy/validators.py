"""Checks that tell a real secret or personal datum from text of the same shape.

Luhn and card-network prefixes for card numbers, ISO 13616 for IBANs, digit counts for phones, SSN
ranges, and the plausibility tests of key formats (an ``sk-`` key from ``sk-learn``, ``Basic`` and a
base64 credential from the word "basic"). The patterns of :mod:`otel_ai.privacy.patterns` find the
candidates; these decide.
"""

from __future__ import annotations

import base64
import re

__all__ = [
    "NUMBER_SEPARATORS",
    "basic_credentials",
    "card_ok",
    "digit_count",
    "iban_valid",
    "luhn_valid",
    "mixed_case",
    "national_phone_ok",
    "openai_plausible",
    "password_value",
    "phone_ok",
    "ssn_ok",
]

_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

NUMBER_SEPARATORS = b" ().+/-"


def _digits(value: str) -> str:
    """The digits of a digit-and-separator run (what the number patterns match)."""
    return value.encode("ascii", "ignore").translate(None, NUMBER_SEPARATORS).decode("ascii")


def digit_count(run: str) -> int:
    """Digits in an ASCII run of digits and separators (a cluster worth scanning holds 9 or more)."""
    return len(run.encode("ascii").translate(None, NUMBER_SEPARATORS))


def luhn_valid(number: str) -> bool:
    """Luhn (mod 10) check of a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616 check: country length (where known) and mod-97 == 1."""
    iban = candidate.replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and expected != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def _issuer_length_ok(digits: str) -> bool:
    """Issuer prefix and length of the major card networks (so timestamps and ids rarely qualify)."""
    n = len(digits)
    first = digits[0]
    if first == "4":  # Visa
        return n in (13, 16, 19)
    if first == "5":  # Mastercard 51-55; Maestro 50, 56-59
        return n == 16 if digits[1] in "12345" else 12 <= n <= 19
    if first == "2":  # Mastercard 2221-2720
        return n == 16 and 2221 <= int(digits[:4]) <= 2720
    if first == "3":
        if digits[:2] in ("34", "37"):  # American Express
            return n == 15
        if digits[:2] in ("36", "38", "39") or 300 <= int(digits[:3]) <= 305:  # Diners Club
            return 14 <= n <= 19
        return 3528 <= int(digits[:4]) <= 3589 and 16 <= n <= 19  # JCB
    if first == "6":  # Discover, UnionPay, Maestro, RuPay
        return 16 <= n <= 19
    return False


def card_ok(value: str) -> bool:
    if value[0] not in "23456":  # no card network: cheap exit for timestamps and ids
        return False
    digits = _digits(value)
    return 13 <= len(digits) <= 19 and _issuer_length_ok(digits) and luhn_valid(digits)


def phone_ok(value: str) -> bool:
    return 9 <= len(_digits(value)) <= 15


def national_phone_ok(value: str) -> bool:
    return 9 <= len(_digits(value)) <= 13


_OPENAI_PREFIXES = ("sk-proj-", "sk-svcacct-", "sk-admin-")
_OPENAI_BODY_SIGNAL = re.compile(r"[0-9A-Z]")  # real keys are random: digits or capitals


def openai_plausible(value: str) -> bool:
    """Tells an ``sk-`` key from prose such as ``sk-learn-...``: a known prefix, or a random body."""
    return value.startswith(_OPENAI_PREFIXES) or _OPENAI_BODY_SIGNAL.search(value, 3) is not None


def mixed_case(value: str) -> bool:
    """Random letters hold capitals and small letters; ``hf_`` + 34 of one case is a name or a placeholder."""
    body = value[3:]  # after "hf_"
    return not body.isupper() and not body.islower()


_BASE64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def basic_credentials(value: str) -> bool:
    """Whether ``value`` (after ``Basic``) is base64 of ``user:password``: printable text with a colon.

    Tells ``Authorization: Basic dXNlcjpwYXNz`` from prose ("Basic authentication", "basic
    settings"): a word rarely decodes to valid UTF-8 at all, let alone printable text with a colon.
    """
    if not _BASE64_RE.fullmatch(value):
        return False
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        return False
    return ":" in decoded and decoded.isprintable()


_NOT_A_PASSWORD = frozenset({"null", "none", "true", "false", "nil", "undefined"})


def password_value(value: str) -> bool:
    """A value after ``password=`` / ``"password": "…"``: anything but JSON literals and our own markers."""
    literal = value.rstrip("}]),").lower()  # `"pwd": false}`: the closer is not part of the value
    return literal not in _NOT_A_PASSWORD and not value.startswith("[REDACTED")


def ssn_ok(value: str) -> bool:
    """US social security number: area 001-899 but not 666, group 01-99, serial 0001-9999.

    Only the written form (``123-45-6789``, ``123 45 6789``, one separator used twice) is matched,
    so the many 9-digit numbers of ordinary text (ids, amounts, timestamps) are never taken for one.
    """
    digits = _digits(value)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"

