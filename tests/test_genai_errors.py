"""`error.type` and the error category, case by case (the end-to-end tests only see a few of them).

Closes the gaps mutation testing found in `otel_ai.genai.errors` (docs/mutation.md): every status
boundary, every provider error code path, and every exception class name the classifier knows.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai
import pytest

from otel_ai.genai.errors import CATEGORIES, categorize, error_type


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
        (402, "quota"),
        (408, "timeout"),
        (504, "timeout"),
        (500, "server_error"),
        (502, "server_error"),
        (505, "server_error"),
        (400, "bad_request"),
        (404, "bad_request"),
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
