"""Bedrock errors pass through unchanged with `error.type`, the AWS code and a category; budgets block first."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from opentelemetry.trace import StatusCode

import otel_ai.budgets as B
from otel_ai.errors import BudgetExceeded
from tests.bedrock.conftest import NOVA, bedrock_span, scenario, user
from tests.conftest import exception_type_of

MESSAGES = [user("Hello the simulator")]

CASES = [
    ("throttling", 429, "ThrottlingException", "rate_limit"),
    ("access_denied", 403, "AccessDeniedException", "auth"),
    ("unrecognized_client", 403, "UnrecognizedClientException", "auth"),
    ("validation", 400, "ValidationException", "bad_request"),
    ("not_found", 404, "ResourceNotFoundException", "not_found"),
    ("model_timeout", 408, "ModelTimeoutException", "timeout"),
    ("service_unavailable", 503, "ServiceUnavailableException", "server_error"),
    ("internal_error", 500, "InternalServerException", "server_error"),
]


def _check(br, exc: ClientError, status: int, code: str, category: str) -> None:
    assert exc.response["Error"]["Code"] == code  # passed through as botocore raised it
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == status
    span = bedrock_span(br)
    assert span.status.status_code is StatusCode.ERROR
    # botocore's modeled class (a `ClientError` made per service model), as the SDK's exception event names it
    cls = type(exc)
    assert span.attributes["error.type"] == exception_type_of(span) == f"{cls.__module__}.{cls.__qualname__}"
    assert span.attributes["error.type"] in (f"botocore.errorfactory.{code}", "botocore.exceptions.ClientError")
    assert span.attributes["otel_ai.error.code"] == code.lower()
    assert span.attributes["otel_ai.error.category"] == category
    [(labels, point)] = br.points("otel_ai.client.requests")
    assert (point.value, labels["otel_ai.outcome"], labels["otel_ai.error.category"]) == (1, "error", category)


@pytest.mark.parametrize(("name", "status", "code", "category"), CASES, ids=[c[0] for c in CASES])
def test_converse_errors(client, br, name, status, code, category):
    undo = scenario(client, name)
    try:
        with pytest.raises(ClientError) as caught:
            client.converse(modelId=NOVA, messages=MESSAGES)
    finally:
        undo()
    # botocore's modeled class where the service model names the error, else a plain ClientError, unchanged
    expected = "ClientError" if name == "unrecognized_client" else code
    assert type(caught.value).__name__ == expected
    _check(br, caught.value, status, code, category)


@pytest.mark.parametrize(("name", "status", "code", "category"), CASES[:2], ids=[c[0] for c in CASES[:2]])
def test_stream_errors_before_the_first_event(client, br, name, status, code, category):
    undo = scenario(client, name)
    try:
        with pytest.raises(ClientError) as caught:
            client.converse_stream(modelId=NOVA, messages=MESSAGES)
    finally:
        undo()
    _check(br, caught.value, status, code, category)


def test_invoke_model_errors(client, br):
    undo = scenario(client, "throttling")
    try:
        with pytest.raises(ClientError) as caught:
            client.invoke_model(modelId=NOVA, body=b"{}")
    finally:
        undo()
    _check(br, caught.value, 429, "ThrottlingException", "rate_limit")


def test_a_blocking_budget_stops_calls_before_they_are_sent(client, br, bedrock_sim):
    tracker = B.install(
        B.BudgetConfig((B.Budget("tiny", 1e-9, scope={"provider": "aws.bedrock"}, action="block"),)),
        meter_provider=br.providers["meter_provider"], tracer_provider=br.providers["tracer_provider"],
    )
    assert tracker is not None
    try:
        bedrock_sim.clear()
        client.converse(modelId=NOVA, messages=MESSAGES)  # under the limit: sent, and spends it
        with pytest.raises(BudgetExceeded):
            client.converse(modelId=NOVA, messages=MESSAGES)
        with pytest.raises(BudgetExceeded):
            client.converse_stream(modelId=NOVA, messages=MESSAGES)
        with pytest.raises(BudgetExceeded):
            client.invoke_model(modelId=NOVA, body=b"{}")
        assert len(bedrock_sim.requests) == 1  # the provider saw nothing more
    finally:
        B.uninstall()


@pytest.mark.parametrize(("code", "category"), [
    ("ThrottlingException", "rate_limit"), ("ServiceQuotaExceededException", "rate_limit"),
    ("AccessDeniedException", "auth"), ("ValidationException", "bad_request"),
    ("ModelTimeoutException", "timeout"), ("modelStreamErrorException", "server_error"),
    ("internalServerException", "server_error"), ("ResourceNotFoundException", "not_found"),
])
def test_the_classifier_reads_an_aws_code_without_a_status(code, category):
    from botocore.exceptions import EventStreamError

    from otel_ai.genai.classify import categorize, error_code

    exc = EventStreamError({"Error": {"Code": code, "Message": "m"}}, "ConverseStream")  # mid-stream: no status
    assert (error_code(exc), categorize(exc)) == (code.lower(), category)


def test_the_classifier_falls_back_to_the_aws_status():
    from otel_ai.genai.classify import categorize

    exc = ClientError({"Error": {"Code": "SomethingNewException", "Message": "m"},
                       "ResponseMetadata": {"HTTPStatusCode": 429}}, "Converse")
    assert categorize(exc) == "rate_limit"
