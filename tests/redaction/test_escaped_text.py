"""Redaction against adversarial content: escaped text, structure, names, metrics, bad characters.

Each test reproduces one bypass found by the adversarial review (issue 7) and would fail if the
defence were removed. Fake credentials come from tests/test_redaction.py.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai.privacy.exporters import (
    REDACTED_COUNT_ATTRIBUTE,
    RedactingMetricExporter,
    RedactingSpanExporter,
    protect_metric_readers,
)
from otel_ai.privacy.patterns import credential_name, parse_patterns
from otel_ai.privacy.redactor import Redactor, encodable, walk
from tests.test_redaction import KIND_CASES, _logging, _readable

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
# Structure: keys, numbers, credential names, content documents
# --------------------------------------------------------------------------------------------


def _walked(value: Any, *, numbers: bool = False, redactor: Redactor | None = None) -> tuple[Any, Counter[str]]:
    counts: Counter[str] = Counter()
    return walk(value, (redactor or Redactor()).leaf(counts), numbers=numbers), counts


def test_dict_keys_and_long_integers_in_bodies_are_redacted():
    body = {"jane@example.com": {"card": 4770310296826624, "count": 12, "flag": True}, "ok": 1.5}
    new, counts = _walked(body, numbers=True)
    assert new == {"[REDACTED:email]": {"card": "[REDACTED:card_number]", "count": 12, "flag": True}, "ok": 1.5}
    assert counts == Counter({"email": 1, "card_number": 1})
    assert body["jane@example.com"]["card"] == 4770310296826624  # the app's object is untouched


def test_integers_in_span_attributes_are_not_touched():
    new, counts = _walked({"gen_ai.request.seed": 4770310296826624})
    assert new == {"gen_ai.request.seed": 4770310296826624} and not counts


def test_two_keys_redacted_alike_stay_two_entries():
    new, _ = _walked({"a@example.com": 1, "b@example.com": 2})
    assert sorted(new.values()) == [1, 2]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("http.request.header.x-internal-token", True),
        ("http.request.header.authorization", True),
        ("http.response.header.set-cookie", True),
        ("x-api-key", True),
        ("client_secret", True),
        ("apiKey", True),
        ("db_password", True),
        ("gen_ai.usage.input_tokens", False),
        ("gen_ai.token.type", False),
        ("max_tokens", False),
        ("gen_ai.request.model", False),
        ("key", False),
    ],
)
def test_credential_names(key, expected):
    assert credential_name(key) is expected


def test_values_named_like_credentials_are_replaced_whole():
    attrs = {
        "http.request.header.x-internal-token": ("opaque-but-secret",),
        "http.request.header.x-request-id": ("req-123",),
        "gen_ai.usage.input_tokens": 12,
    }
    new, counts = _walked(attrs)
    assert new == {
        "http.request.header.x-internal-token": ("[REDACTED:credential]",),
        "http.request.header.x-request-id": ("req-123",),
        "gen_ai.usage.input_tokens": 12,
    }
    assert counts == Counter({"credential": 1})


def test_content_attributes_are_redacted_as_json_and_always_parse():
    """A user pattern crossing JSON quotes would break a string scan; the document walk cannot."""
    redactor = Redactor(parse_patterns('secret.*'))
    messages = [{"role": "user", "parts": [{"type": "text", "content": "my secret is x\"y"}]}]
    attrs = {"gen_ai.input.messages": json.dumps(messages), "note": "plain"}
    new, counts = _walked(attrs, redactor=redactor)
    decoded = json.loads(new["gen_ai.input.messages"])
    assert decoded[0]["parts"][0]["content"] == "my [REDACTED:custom]"
    assert decoded[0]["role"] == "user"
    assert counts == Counter({"custom": 1})


def test_content_document_with_a_card_number_as_a_json_integer():
    arguments = [{"role": "assistant", "parts": [{"type": "tool_call", "arguments": {"card": 4770310296826624}}]}]
    new, _ = _walked({"gen_ai.output.messages": json.dumps(arguments)})
    assert "4770310296826624" not in new["gen_ai.output.messages"]
    assert json.loads(new["gen_ai.output.messages"])[0]["parts"][0]["arguments"] == {"card": "[REDACTED:card_number]"}


def test_a_clean_content_document_is_the_same_string():
    text = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hello"}]}])
    attrs = {"gen_ai.input.messages": text}
    new, _ = _walked(attrs)
    assert new is attrs


# --------------------------------------------------------------------------------------------
# Names: span names, metric attribute values
# --------------------------------------------------------------------------------------------


def test_span_names_are_redacted():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Redactor())))
    with provider.get_tracer("t").start_as_current_span("chat ft:gpt-4o-mini:acme:jane@example.com"):
        pass
    (span,) = memory.get_finished_spans()
    assert span.name == "chat ft:gpt-4o-mini:acme:[REDACTED:email]"
    assert span.attributes[REDACTED_COUNT_ATTRIBUTE] == 1


class _Capture(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def _labels(data: MetricsData) -> list[dict[str, Any]]:
    return [
        dict(point.attributes or {})
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.data.data_points
    ]


def test_metric_attribute_values_are_redacted_by_the_wrapped_exporter():
    inner = _Capture()
    reader = PeriodicExportingMetricReader(inner, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({}))
    assert protect_metric_readers(provider, Redactor()) == 1
    assert protect_metric_readers(provider, Redactor()) == 0  # never wrapped twice
    counter = provider.get_meter("m").create_counter("calls")
    counter.add(1, {"gen_ai.request.model": "ft:gpt-4o-mini:acme:jane@example.com", "n": 1})
    counter.add(1, {"gen_ai.request.model": "gpt-4o-mini"})
    reader.force_flush()
    labels = _labels(inner.batches[-1])
    models = sorted(str(label["gen_ai.request.model"]) for label in labels)
    assert models == ["ft:gpt-4o-mini:acme:[REDACTED:email]", "gpt-4o-mini"]
    assert "jane@example.com" not in inner.batches[-1].to_json()
    provider.shutdown()


def test_clean_metrics_pass_through_as_the_same_object():
    inner = _Capture()
    exporter = RedactingMetricExporter(inner, Redactor())
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("m").create_counter("calls").add(1, {"gen_ai.request.model": "gpt-4o-mini"})
    data = reader.get_metrics_data()
    assert data is not None
    exporter.export(data)
    assert inner.batches[-1] is data


def test_recorder_metric_labels_are_cleaned_for_pull_readers():
    """Prometheus reads metric attributes without an exporter: the recorder cleans them per shape."""
    from otel_ai.genai.model import GenAIRequest, GenAIResponse
    from otel_ai.genai.recorder import GenAIRecorder

    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    redactor = Redactor()
    recorder = GenAIRecorder(
        None, tracer_provider=TracerProvider(), meter_provider=meter_provider,
        clean=lambda value: redactor.redact_cached(value)[0],
    )
    inv = recorder.start(GenAIRequest(operation="chat", provider="openai", model="ft:x:jane@example.com"))
    assert inv is not None
    recorder.end(inv, GenAIResponse(model="ft:x:jane@example.com"))
    data = reader.get_metrics_data()
    assert data is not None
    assert "jane@example.com" not in data.to_json()
    assert "ft:x:[REDACTED:email]" in data.to_json()


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
