"""`aws.bedrock.guardrail.id`: the guardrail a Bedrock call applies, from the real boto3 client's request.

`converse` / `converse_stream` name it in `guardrailConfig`, `invoke_model` / `invoke_model_with_response_stream`
in `guardrailIdentifier` (botocore sends it as the `X-Amzn-Bedrock-GuardrailIdentifier` header). An ARN is
recorded as its id (its last part), so the account number is not exported. A call without one has none.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from otel_ai.instrumentation.bedrock import guardrail_id
from tests.bedrock.conftest import SONNET, bedrock_span, user
from tests.conftest import Telemetry

MESSAGES = [user("Hello the simulator")]
GUARDRAIL = "sgi5gkybzqak"
ARN = f"arn:aws:bedrock:us-east-1:123456789012:guardrail/{GUARDRAIL}"
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64,
                   "messages": [{"role": "user", "content": "Hello the simulator"}]})
KEY = "aws.bedrock.guardrail.id"


@pytest.mark.parametrize("identifier", [GUARDRAIL, ARN])
def test_converse_records_the_guardrail_of_its_config(client: Any, br: Telemetry, identifier: str) -> None:
    result = client.converse(modelId=SONNET, messages=MESSAGES,
                             guardrailConfig={"guardrailIdentifier": identifier, "guardrailVersion": "1"})
    assert result["output"]["message"]["content"]  # the call went through unchanged
    assert bedrock_span(br).attributes[KEY] == GUARDRAIL


def test_a_converse_stream_records_it_too(client: Any, br: Telemetry) -> None:
    response = client.converse_stream(modelId=SONNET, messages=MESSAGES, guardrailConfig={
        "guardrailIdentifier": GUARDRAIL, "guardrailVersion": "DRAFT", "streamProcessingMode": "async"})
    events = list(response["stream"])
    assert events
    assert bedrock_span(br).attributes[KEY] == GUARDRAIL


def test_invoke_model_records_the_guardrail_it_sends_as_a_header(client: Any, br: Telemetry) -> None:
    result = client.invoke_model(modelId=SONNET, body=BODY, guardrailIdentifier=ARN, guardrailVersion="2")
    assert json.loads(result["body"].read())["content"]
    assert bedrock_span(br).attributes[KEY] == GUARDRAIL


def test_a_call_without_a_guardrail_has_none(client: Any, br: Telemetry) -> None:
    client.converse(modelId=SONNET, messages=MESSAGES)
    assert KEY not in bedrock_span(br).attributes


@pytest.mark.parametrize(("params", "expected"), [
    ({}, None), ({"guardrailConfig": {}}, None), ({"guardrailConfig": "x"}, None),
    ({"guardrailConfig": {"guardrailIdentifier": 7}}, None), ({"guardrailIdentifier": "  "}, None),
    ({"guardrailIdentifier": " abc "}, "abc"), ({"guardrailConfig": {"guardrailIdentifier": ARN}}, GUARDRAIL),
])
def test_any_request_shape_is_read_without_raising(params: dict[str, Any], expected: str | None) -> None:
    assert guardrail_id(params) == expected
