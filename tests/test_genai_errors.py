"""`error.type` and the error category, case by case (the end-to-end tests only see a few of them).

Closes the gaps mutation testing found in `otel_ai.genai.classify` (docs/mutation.md): every status
boundary, every provider error code path, and every exception class name the classifier knows.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_ai._net import LoopbackHandler, LoopbackService
from otel_ai.genai.classify import CATEGORIES, CODE_MAX_LENGTH, categorize, error_code, error_type, normalize_code
from tests.conftest import API_KEY, scenario


class StatusError(Exception):
    """An SDK-style error: an HTTP status and, optionally, a provider code and a JSON body."""

    def __init__(self, status: int | None = None, code: Any = None, body: Any = None) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.code = code
        self.body = body


class Outer:
    class NestedError(Exception):
        pass


# --- error.type ----------------------------------------------------------------------------------


def test_builtin_exceptions_are_named_bare():
    assert error_type(TimeoutError()) == "TimeoutError"
    assert error_type(ConnectionResetError()) == "ConnectionResetError"


def test_other_exceptions_are_named_by_module_and_qualified_name():
    assert error_type(StatusError()) == f"{__name__}.StatusError"
    assert error_type(Outer.NestedError()) == f"{__name__}.Outer.NestedError"
    assert error_type(httpx.ReadTimeout("slow")) == "httpx.ReadTimeout"


# --- by HTTP status ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (429, "rate_limit"),
        (401, "auth"),
        (403, "auth"),
        (498, "auth"),  # Invalid Token (Cohere: a bad or revoked key)
        (402, "quota"),
        (408, "timeout"),
        (504, "timeout"),
        (500, "server_error"),
        (502, "server_error"),
        (505, "server_error"),
        (400, "bad_request"),
        (404, "not_found"),
        (409, "bad_request"),
        (499, "bad_request"),
        (302, "other"),
    ],
)
def test_status_codes(status, category):
    assert categorize(StatusError(status)) == category


def test_a_non_integer_status_is_ignored():
    assert categorize(StatusError(status="429")) == "other"  # type: ignore[arg-type]


# --- by provider error code (before the status) -----------------------------------------------------


@pytest.mark.parametrize("code", ["insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"])
def test_quota_codes_win_over_the_rate_limit_status(code):
    assert categorize(StatusError(429, code=code)) == "quota"


@pytest.mark.parametrize("code", ["content_filter", "content_policy_violation"])
def test_content_filter_codes_win_over_the_bad_request_status(code):
    assert categorize(StatusError(400, code=code)) == "content_filter"


def test_code_is_read_from_the_error_object_in_the_body():
    assert categorize(StatusError(400, body={"error": {"code": "content_filter", "type": "invalid"}})) == (
        "content_filter"
    )


def test_code_is_read_from_a_body_without_an_error_wrapper():
    assert categorize(StatusError(429, body={"code": "insufficient_quota"})) == "quota"


def test_type_stands_in_for_a_missing_code_in_the_body():
    assert categorize(StatusError(429, body={"error": {"code": None, "type": "insufficient_quota"}})) == "quota"


def test_a_non_string_code_attribute_falls_back_to_the_body():
    assert categorize(StatusError(429, code=429, body={"error": {"code": "quota_exceeded"}})) == "quota"


@pytest.mark.parametrize("body", [{"error": "insufficient_quota"}, ["insufficient_quota"], {"error": {"code": 7}}])
def test_bodies_without_a_string_code_leave_the_status_to_decide(body):
    assert categorize(StatusError(429, body=body)) == "rate_limit"


def test_real_openai_quota_error():
    response = httpx.Response(429, request=httpx.Request("POST", "http://127.0.0.1/v1/chat/completions"))
    exc = openai.RateLimitError("quota", response=response, body={"code": "insufficient_quota", "message": "m"})
    assert (categorize(exc), error_type(exc)) == ("quota", "openai.RateLimitError")


# --- by exception class name ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["APITimeoutError", "TimeoutException", "TimeoutError", "ReadTimeout", "ConnectTimeout"]
)
def test_timeout_class_names(name):
    assert categorize(type(name, (Exception,), {})()) == "timeout"


@pytest.mark.parametrize(
    "name",
    ["APIConnectionError", "ConnectError", "RemoteProtocolError", "ReadError", "TransportError",
     "ConnectionError", "NetworkError", "ProtocolError"],
)
def test_connection_class_names(name):
    assert categorize(type(name, (Exception,), {})()) == "connection"


def test_a_base_class_name_counts():
    assert categorize(httpx.ReadTimeout("slow")) == "timeout"
    assert categorize(httpx.ConnectError("refused")) == "connection"
    assert categorize(ConnectionResetError()) == "connection"
    assert categorize(openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1"))) == "connection"


@pytest.mark.parametrize("exc", [asyncio.CancelledError(), KeyboardInterrupt(), GeneratorExit()])
def test_cancellation(exc):
    assert categorize(exc) == "cancelled"


@pytest.mark.parametrize("exc", [ValueError("bad"), RuntimeError(), Exception()])
def test_anything_else_is_other(exc):
    assert categorize(exc) == "other"


def test_every_category_returned_is_a_known_one():
    samples = [StatusError(s) for s in (302, 400, 401, 402, 408, 429, 500)] + [ValueError(), TimeoutError()]
    assert {categorize(exc) for exc in samples} <= set(CATEGORIES)


# --- provider error codes (otel_ai.error.code) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "category", "code"),
    [
        # OpenAI (developers.openai.com/docs/guides/error-codes): the SDK passes the inner error object
        (429, {"code": "insufficient_quota", "type": "insufficient_quota"}, "quota", "insufficient_quota"),
        (429, {"code": "rate_limit_exceeded", "type": "requests"}, "rate_limit", "rate_limit_exceeded"),
        (401, {"code": "invalid_api_key", "type": "invalid_request_error"}, "auth", "invalid_api_key"),
        (400, {"code": "context_length_exceeded", "type": "invalid_request_error",
               "message": "This model's maximum context length is 128000 tokens."}, "context_length",
         "context_length_exceeded"),
        (400, {"code": "content_filter"}, "content_filter", "content_filter"),
        (404, {"code": "model_not_found", "message": "The model `gpt-9` does not exist"}, "not_found",
         "model_not_found"),
        (500, {"code": None, "type": "server_error"}, "server_error", "server_error"),
        # DeepSeek (api-docs.deepseek.com/quick_start/error_codes): generic codes, the status names it
        (402, {"error": {"message": "Insufficient Balance", "type": "unknown_error", "code": "invalid_request_error"}},
         "quota", "insufficient_balance"),
        (422, {"error": {"message": "Invalid Parameters", "type": "invalid_request_error",
                         "code": "invalid_request_error"}}, "bad_request", "invalid_parameters"),
        (503, {"error": {"message": "Server overloaded", "type": "unknown_error"}}, "server_error",
         "server_overloaded"),
        (400, {"error": {"message": "This model's maximum context length is 65536 tokens. However, you requested "
                                    "70000 tokens.", "type": "invalid_request_error",
                         "code": "invalid_request_error"}}, "context_length", "context_length_exceeded"),
        (400, {"error": {"message": "Model Not Exist", "type": "invalid_request_error",
                         "code": "invalid_request_error"}}, "not_found", "model_not_found"),
        (400, {"error": {"message": "Invalid Format", "code": "invalid_request_error"}}, "bad_request",
         "invalid_request_error"),
        # ElevenLabs (help.elevenlabs.io, API error codes 400/401/429): detail.status
        (401, {"detail": {"status": "quota_exceeded", "message": "This request exceeds your quota."}}, "quota",
         "quota_exceeded"),
        (401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, "auth", "invalid_api_key"),
        (400, {"detail": {"status": "voice_not_found", "message": "A voice with voice_id x was not found."}},
         "not_found", "voice_not_found"),
        (400, {"detail": {"status": "max_character_limit_exceeded", "message": "too long"}}, "context_length",
         "max_character_limit_exceeded"),
        (429, {"detail": {"status": "too_many_concurrent_requests"}}, "rate_limit", "too_many_concurrent_requests"),
        (429, {"detail": {"status": "system_busy"}}, "rate_limit", "system_busy"),
        (422, {"detail": [{"loc": ["body", "text"], "msg": "field required"}]}, "bad_request", "invalid_parameters"),
    ],
)
def test_provider_codes(status, body, category, code):
    exc = StatusError(status, body=body)
    assert (categorize(exc), error_code(exc)) == (category, code)


def test_the_sdk_code_attribute_comes_first_and_is_lower_cased():
    assert error_code(StatusError(429, code="Insufficient_Quota", body={"error": {"code": "other"}})) == (
        "insufficient_quota")


@pytest.mark.parametrize("code", ["Rate limit reached for gpt-4o", "x" * 65, "", "ünïcode", "a/b", "-leading"])
def test_free_text_is_never_a_code(code):
    assert error_code(StatusError(400, code=code)) is None


def test_a_budget_stops_the_call_before_it_is_sent():
    from otel_ai.errors import BudgetExceeded

    exc = BudgetExceeded("monthly", 10.5, 10.0, "month")
    assert (categorize(exc), error_code(exc)) == ("budget", "budget_exceeded")


def test_an_exception_without_any_of_it_has_no_code():
    assert error_code(ValueError("boom")) is None
    assert error_code(TimeoutError()) is None


class Hostile(Exception):
    """Every attribute the classifier reads raises."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("status_code", "code", "body", "message"):
            raise RuntimeError(name)
        return super().__getattribute__(name)


def test_attributes_that_raise_never_reach_the_app():
    assert categorize(Hostile()) == "other"
    assert error_code(Hostile()) is None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["error", "detail", "code", "type", "status", "message"]) | st.text(max_size=8), inner,
        max_size=5),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(status=st.none() | st.integers(-1, 1000) | st.text(max_size=4), code=_json, body=_json)
def test_any_error_shape_gives_a_known_category_and_a_bounded_token(status, code, body):
    exc = StatusError(status, code=code, body=body)  # type: ignore[arg-type]
    assert categorize(exc) in CATEGORIES
    found = error_code(exc)
    assert found is None or (len(found) <= CODE_MAX_LENGTH and re.fullmatch(r"[a-z0-9][a-z0-9_.\-]*", found))


@given(st.text(max_size=100))
def test_normalize_code_is_idempotent_and_bounded(text):
    once = normalize_code(text)
    assert once is None or (normalize_code(once) == once and len(once) <= CODE_MAX_LENGTH and once == once.lower())


# --- real clients over real HTTP ------------------------------------------------------------------------------


class _FixedHandler(LoopbackHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        service = self.server.owner
        assert isinstance(service, FixedErrorServer)
        payload = json.dumps(service.body).encode()
        self.send_response(service.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FixedErrorServer(LoopbackService):
    """Answers every POST with one status and JSON body: a provider's error, over real HTTP."""

    handler = _FixedHandler

    def __init__(self) -> None:
        super().__init__()
        self.status, self.body = 500, {}

    def answer(self, status: int, body: Any) -> None:
        self.status, self.body = status, body


@pytest.fixture(scope="module")
def fixed() -> Any:
    with FixedErrorServer() as server:
        yield server


def _error_attributes(span: Any) -> tuple[Any, Any]:
    attributes = span.attributes or {}
    return attributes.get("otel_ai.error.category"), attributes.get("otel_ai.error.code")


@pytest.mark.parametrize(
    ("name", "category", "code"),
    [
        ("quota", "quota", "insufficient_quota"),
        ("rate_limit", "rate_limit", "rate_limit_exceeded"),
        ("auth_error", "auth", "invalid_api_key"),
        ("content_filter", "content_filter", "content_filter"),
        ("bad_request", "bad_request", "invalid_value"),
        ("server_error", "server_error", "server_error"),
    ],
)
def test_openai_simulator_errors_on_the_span(client, telemetry, name, category, code):
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                       extra_headers=scenario(name))
    assert _error_attributes(telemetry.one_genai_span()) == (category, code)
    [labels] = [a for a, _ in telemetry.points("otel_ai.client.requests") if a["otel_ai.outcome"] == "error"]
    assert "otel_ai.error.code" not in labels  # span only: the metric keeps the category
    assert labels["otel_ai.error.category"] == category


@pytest.mark.parametrize(
    ("status", "message", "category", "code"),
    [
        (402, "Insufficient Balance", "quota", "insufficient_balance"),
        (422, "Invalid Parameters: temperature", "bad_request", "invalid_parameters"),
        (503, "Server Overloaded", "server_error", "server_overloaded"),
        (400, "This model's maximum context length is 65536 tokens. However, you requested 90000 tokens "
              "(90000 in the messages, 0 in the completion).", "context_length", "context_length_exceeded"),
    ],
)
def test_deepseek_error_bodies_through_the_openai_client(telemetry, fixed, status, message, category, code):
    fixed.answer(status, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                    "code": "invalid_request_error"}})
    with openai.OpenAI(base_url=fixed.url + "/v1", api_key=API_KEY, max_retries=0) as deepseek, pytest.raises(
            openai.APIStatusError):
        deepseek.chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "hi"}])
    assert _error_attributes(telemetry.one_genai_span()) == (category, code)


@pytest.fixture
def speech(telemetry: Any) -> Any:
    from otel_ai.instrumentation.elevenlabs import ElevenLabsInstrumentor

    ElevenLabsInstrumentor().instrument(**telemetry.providers)
    try:
        yield telemetry
    finally:
        ElevenLabsInstrumentor().uninstrument()


@pytest.fixture(scope="module")
def speech_sim() -> Any:
    from otel_ai.testing.elevenlabs_simulator import ElevenLabsSimulator

    with ElevenLabsSimulator() as sim:
        yield sim


@pytest.mark.parametrize(
    ("name", "category", "code"),
    [
        ("auth_error", "auth", "invalid_api_key"),
        ("quota_exceeded", "quota", "quota_exceeded"),  # a 401 that is not a bad key
        ("rate_limit", "rate_limit", "too_many_concurrent_requests"),
        ("server_error", "server_error", "internal_error"),
        ("unprocessable", "bad_request", "invalid_parameters"),
    ],
)
def test_elevenlabs_simulator_errors_on_the_span(speech, speech_sim, name, category, code):
    import elevenlabs

    client = elevenlabs.ElevenLabs(api_key="sk_" + "0" * 48, **speech_sim.client_options())
    with pytest.raises(elevenlabs.core.ApiError):
        b"".join(client.text_to_speech.convert("21m00Tcm4TlvDq8ikWAM", text="Hello there",
                                               request_options={"additional_headers": scenario(name)}))
    [span] = [s for s in speech.genai_spans() if (s.attributes or {}).get("gen_ai.provider.name") == "elevenlabs"]
    assert _error_attributes(span) == (category, code)


def test_elevenlabs_voice_not_found_over_http(speech, fixed):
    import elevenlabs

    from otel_ai.testing.elevenlabs_simulator import client_options

    fixed.answer(400, {"detail": {"status": "voice_not_found", "message": "A voice with the voice_id nope was not "
                                                                          "found."}})
    client = elevenlabs.ElevenLabs(api_key="sk_" + "0" * 48, **client_options(fixed.url))
    with pytest.raises(elevenlabs.core.ApiError):
        b"".join(client.text_to_speech.convert("nope", text="Hello there"))
    [span] = speech.genai_spans()
    assert _error_attributes(span) == ("not_found", "voice_not_found")


def test_the_status_description_is_never_cut_through_a_key():
    """512 characters of an error's text may end inside a key: the cut drops the key's piece whole."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from otel_ai.genai.model import GenAIRequest
    from otel_ai.genai.recorder import GenAIRecorder

    key = "Qz7kQ2r9XwT4bN8vL1pF6hJ3sD5gA0cEm2Yt8Ku4"
    text = "headers: " + "x" * 480 + " api key " + key + " was refused"
    assert text.index(key) < 512 < text.index(key) + len(key)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    recorder = GenAIRecorder(None, tracer_provider=provider)
    inv = recorder.start(GenAIRequest(operation="chat", provider="cohere", model="m"))
    assert inv is not None
    recorder.fail(inv, RuntimeError(text))
    [span] = spans.get_finished_spans()
    description = span.status.description or ""
    assert description.startswith("headers: x") and description.endswith("…[truncated]")
    assert key[:4] not in description


# --- codes recognised from the provider's message --------------------------------------------------------


class MessageError(StatusError):
    """An SDK error that carries the provider's message as `.message` (as the OpenAI SDK's do)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.message = message


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        # the message under `detail` (ElevenLabs-style), with no status or code beside it
        (StatusError(400, body={"detail": {"message": "The text is longer than the model's context window."}}),
         "context_length_exceeded"),
        # the message in a body without an `error` wrapper, next to a generic code
        (StatusError(400, body={"message": "The model does not exist.", "code": "invalid_request_error"}),
         "model_not_found"),
        # no body: only the exception's own `message`
        (MessageError(400, "This model's maximum context length is 8192 tokens."), "context_length_exceeded"),
        (MessageError(404, "Model Not Exist"), "model_not_found"),
    ],
)
def test_the_message_names_the_code_wherever_the_provider_puts_it(exc, code):
    assert error_code(exc) == code


def test_a_code_under_detail_counts_when_there_is_no_status_beside_it():
    exc = StatusError(401, body={"detail": {"code": "quota_exceeded", "message": "This request exceeds your quota."}})
    assert (categorize(exc), error_code(exc)) == ("quota", "quota_exceeded")


def test_a_code_of_the_maximum_length_is_kept():
    code = "x" * CODE_MAX_LENGTH
    assert error_code(StatusError(400, code=code)) == code


def test_payment_required_is_quota_whatever_the_providers_own_code():
    assert categorize(StatusError(402, code="account_on_hold")) == "quota"
