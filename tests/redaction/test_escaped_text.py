"""Secrets inside escaped text: JSON, repr() and URL encoding, and characters UTF-8 cannot carry.

Each test reproduces one bypass found by the adversarial review (issue 7) and would fail if the
defence were removed.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from otel_ai.privacy.exporters import REDACTED_COUNT_ATTRIBUTE
from otel_ai.privacy.patterns import parse_patterns
from otel_ai.privacy.redactor import Redactor, encodable
from tests.redaction.common import (
    KIND_CASES,
    _logging,
    _readable,
)

# --------------------------------------------------------------------------------------------
# Escaped text: a secret after "\n" in JSON or repr() output
# --------------------------------------------------------------------------------------------

# Values that are a kind by themselves at the start of a line (labelled kinds need their label:
# the label then starts the line).
_LINE_STARTS = sorted({(kind, template.format(value) if "{" in template and kind in (
    "aws_secret_key", "elevenlabs_key") and not value.startswith("sk_") else value, value)
    for kind, template, value in KIND_CASES})


@pytest.mark.parametrize(("kind", "line", "value"), _LINE_STARTS)
@pytest.mark.parametrize("escape", ["\n", "\t", "\r\n", '"', "\\"])
def test_a_secret_after_an_escape_in_json_is_redacted_and_the_json_stays_valid(kind, line, value, escape):
    text = f"first line{escape}{line}{escape}last line"
    encoded = json.dumps({"content": text}, ensure_ascii=False)
    out, counts = Redactor().redact(encoded)
    assert value not in out, out
    assert counts is not None and counts[kind] >= 1, (out, counts)
    decoded = json.loads(out)["content"]
    if escape != "\\":  # a literal backslash next to a secret may be taken with it (it reads as an escape too)
        assert decoded.startswith(f"first line{escape}") and decoded.endswith(f"{escape}last line")


@pytest.mark.parametrize(("kind", "line", "value"), _LINE_STARTS)
def test_a_secret_at_a_line_start_in_repr_output_is_redacted(kind, line, value):
    out, _ = Redactor().redact(repr(f"header\n{line}\nfooter"))
    assert value not in out


def test_a_line_start_email_keeps_the_escape_before_it():
    encoded = json.dumps("to:\njane@example.com")
    out, _ = Redactor().redact(encoded)
    assert out == '"to:\\n[REDACTED:email]"'
    assert json.loads(out) == "to:\n[REDACTED:email]"


@pytest.mark.parametrize(
    ("label", "value", "kind"),
    [
        ("aws_secret_access_key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKEKEY123", "aws_secret_key"),
        ("xi-api-key", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "elevenlabs_key"),
    ],
)
@pytest.mark.parametrize("depth", [0, 1, 2])
def test_json_escaped_labels_are_recognized(label, value, kind, depth):
    text = json.dumps({label: value})
    for _ in range(depth):  # a JSON document pasted into a prompt, then captured as JSON again
        text = json.dumps(text)
    out, counts = Redactor().redact(text)
    assert value not in out
    assert counts == Counter({kind: 1})
    for _ in range(depth):
        out = json.loads(out)
    assert json.loads(out) == {label: f"[REDACTED:{kind}]"}


def test_a_replacement_never_splits_an_escape_sequence():
    """A user pattern may end inside an escape; the replacement widens to the whole escape."""
    redactor = Redactor(parse_patterns("ticket-[0-9]+."))  # "." ends on the backslash of "\\n"
    encoded = json.dumps("ticket-12\nnext")
    out, _ = redactor.redact(encoded)
    assert out == '"[REDACTED:custom]next"'
    assert json.loads(out) == "[REDACTED:custom]next"


def test_a_query_parameter_named_like_a_credential_is_redacted_whatever_its_value():
    url = "https://gw.example.com/v1/chat?api_key=plainvalue123&model=x&X-Amz-Signature=abc%2Fdef&page=2"
    out, counts = Redactor().redact(url)
    assert out == (
        "https://gw.example.com/v1/chat?api_key=[REDACTED:url_credential]&model=x"
        "&X-Amz-Signature=[REDACTED:url_credential]&page=2"
    )
    assert counts == Counter({"url_credential": 2})
    assert Redactor().redact("what is 2+2? x=4 & y=5")[1] is None
    # url.query holds the query without its "?"
    assert Redactor().redact("api_key=plainvalue123&model=x")[0] == "api_key=[REDACTED:url_credential]&model=x"


# --------------------------------------------------------------------------------------------
# Characters UTF-8 cannot carry
# --------------------------------------------------------------------------------------------


def test_encodable_replaces_lone_surrogates_and_joins_pairs():
    assert encodable("ok") == "ok"
    assert encodable("caf\u00e9") == "caf\u00e9"
    assert encodable("a\ud83db") == "a\ufffdb"
    assert encodable("\ud83d\ude00") == "\U0001f600"


def test_a_lone_surrogate_costs_one_value_never_the_batch():
    _, memory, exporter = _logging(Redactor())
    records = [_readable(f"record {i}") for i in range(5)]
    records[2] = _readable({"text": "model said \ud83d", "n": 1}, {"gen_ai.output": "also \ud83d"})
    assert exporter.export(records).name == "SUCCESS"
    exported = memory.get_finished_logs()
    assert len(exported) == 5
    assert exported[0] is records[0]
    bad = exported[2].log_record
    assert bad.body == {"text": "model said \ufffd", "n": 1}
    attrs = dict(bad.attributes or {})
    assert attrs["gen_ai.output"] == "also \ufffd"
    assert REDACTED_COUNT_ATTRIBUTE not in attrs  # nothing was redacted, only made encodable
    for record in exported:
        record.to_json().encode("utf-8")


def test_url_encoded_values_are_found_and_the_encoded_characters_replaced():
    url = (
        "https://gw.example.com/v1?q=call+%2B44+20+7946+0958&m=jane%40example.com&c=4111+1111+1111+1111"
        "&h=https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0FAKE000%2FB0FAKE000%2FFakeWebhookSecret0123456"
    )
    out, counts = Redactor().redact(url)
    assert out == (
        "https://gw.example.com/v1?q=call+[REDACTED:phone]&m=[REDACTED:email]&c=[REDACTED:card_number]"
        "&h=https%3A%2F%2F[REDACTED:slack_token]"
    )
    assert counts == Counter({"phone": 1, "email": 1, "card_number": 1, "slack_token": 1})
    clean = "https://gw.example.com/search?q=caf%C3%A9+au+lait&page=2"
    assert Redactor().redact(clean) == (clean, None)


def test_a_key_with_a_plus_in_a_url_path_is_found_as_the_path_reads_it():
    """A path keeps "+" as itself ("/models/gemini:aws_secret_access_key%3DAbc+def"): the query-string
    reading ("+" is a space) breaks the key apart, so the path reading is scanned too."""
    secret = "x+iCmPMctmuU1tAB" + "Q7vR9sLk2Jd4Fh8Wn0ZyAbCd"  # 40 characters, as AWS writes them
    url = f"http://127.0.0.1:8080/v1/models/gemini:aws_secret_access_key%3D{secret}:generateContent"
    out, counts = Redactor().redact(url)
    assert secret not in out and "x+iC" not in out and counts == Counter({"aws_secret_key": 1})
    assert out.startswith("http://127.0.0.1:8080/v1/models/gemini:aws_secret_access_key%3D[REDACTED")


@pytest.mark.parametrize(("kind", "line", "value"), _LINE_STARTS)
def test_a_secret_after_a_twice_escaped_newline_is_redacted(kind, line, value):
    """repr() of a dict holding repr() output (an SDK error's str): the newline is backslash, backslash, n."""
    text = repr({"message": repr(f"first\n{line}\tlast")})
    out, _ = Redactor().redact(text)
    assert value not in out
    twice = json.dumps(json.dumps({"content": f"first\n{line}\nlast"}))
    out, _ = Redactor().redact(twice)
    assert value not in out
    # Valid at both levels; the escape right before the secret may go with it (it reads both ways).
    assert json.loads(json.loads(out))["content"].startswith("first")


def test_a_literal_backslash_before_a_secret_may_go_but_the_json_stays_valid():
    out, _ = Redactor().redact(json.dumps("path\\jane@example.com"))
    assert json.loads(out) in ("path\\[REDACTED:email]", "path[REDACTED:email]")
