"""Credentials in URLs (``scheme://user:password@host``) are never printed, and still work.

`otel-ai check` prints the OTLP endpoints and the budget server, and the agent prints one line on
stderr when exports fail: each shows ``user:***@host``. `check` probes such an endpoint through
the real receiver below, with the userinfo sent as ``Authorization: Basic`` (left in the URL,
urllib took it for part of the host name: "Name or service not known").
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_ai.privacy.urls import display_url, mask_urls, split_credentials

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USER = "alice"
PASSWORD = "s3cr3t-Pw0rd"
BUDGET_PASSWORD = "budg3t-Pa55"


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    full_env.update(env)
    return subprocess.run(args, capture_output=True, text=True, env=full_env, timeout=60, cwd=ROOT)


class _Receiver:
    """An OTLP/HTTP stand-in on 127.0.0.1 that answers 200 and records each request's Authorization."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.authorizations.append(self.headers.get("Authorization"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    with _Receiver() as r:
        yield r


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------------------------
# The helper
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "shown"), [
    ("http://alice:pw@collector:4318/v1/traces", "http://alice:***@collector:4318/v1/traces"),
    ("https://ghp_token@github.example/x", "https://***@github.example/x"),
    ("postgresql://u:p%40ss@db:5432/otel", "postgresql://u:***@db:5432/otel"),
    ("http://u:p@ss@h:1/x", "http://u:***@h:1/x"),  # an unescaped "@" in the password
    ("alice:pw@collector:4317", "alice:***@collector:4317"),  # gRPC, no scheme
    ("http://collector:4318/a@b", "http://collector:4318/a@b"),  # "@" in the path: no credentials
    ("http://[::1]:4318", "http://[::1]:4318"),
    ("OTLPSpanExporter", "OTLPSpanExporter"),
    ("http://h:notaport@x", "http://h:***@x"),  # does not parse as a URL: masked all the same
])
def test_display_url_masks_the_userinfo(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_mask_urls_masks_every_url_in_a_line() -> None:
    line = "cannot reach http://a:one@h1/x or https://b:two@h2 (mail x@example.com)"
    assert mask_urls(line) == "cannot reach http://a:***@h1/x or https://b:***@h2 (mail x@example.com)"
    clean = "nothing to see at http://h/a"
    assert mask_urls(clean) is clean


def test_split_credentials_gives_the_url_without_them_and_the_basic_header() -> None:
    url, header = split_credentials("http://alice:p%40ss@collector:4318/v1/traces")
    assert url == "http://collector:4318/v1/traces"
    assert header == "Basic " + base64.b64encode(b"alice:p@ss").decode()
    assert split_credentials("http://collector:4318") == ("http://collector:4318", None)
    assert split_credentials("http://[bad") == ("http://[bad", None)


@settings(max_examples=200, deadline=None, database=None)
@given(
    user=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#@:[]\"'<>"),
                 max_size=12),
    password=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#[]\"'<>"),
                     min_size=1),
    scheme=st.sampled_from(["http://", "https://", "postgresql://", ""]),
    rest=st.sampled_from(["h", "h:4318", "h:4318/v1/traces", "10.0.0.1/x?q=1"]),
)
def test_no_password_is_ever_displayed(user: str, password: str, scheme: str, rest: str) -> None:
    url = f"{scheme}{user}:{password}@{rest}"
    shown = display_url(url)
    assert shown == f"{scheme}{user}:***@{rest}"
    assert mask_urls(f"to {url} failed") == (f"to {shown} failed" if scheme else f"to {url} failed")


# --------------------------------------------------------------------------------------------
# otel-ai check
# --------------------------------------------------------------------------------------------


def test_check_masks_credentials_and_probes_through_them(receiver: _Receiver) -> None:
    endpoint = f"http://{USER}:{PASSWORD}@127.0.0.1:{receiver.port}"
    budget_server = f"http://bob:{BUDGET_PASSWORD}@127.0.0.1:{_free_port()}"
    result = _run(
        [str(BIN / "otel-ai"), "check"],
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="grpc",
        OTEL_AI_BUDGETS='[{"name": "daily", "period": "day", "limit_usd": 5}]', OTEL_AI_BUDGET_SERVER=budget_server,
    )
    printed = result.stdout + result.stderr
    assert PASSWORD not in printed and BUDGET_PASSWORD not in printed, printed
    assert f"http/protobuf to http://{USER}:***@127.0.0.1:{receiver.port}/v1/traces" in result.stdout
    assert f"grpc to http://{USER}:***@127.0.0.1:{receiver.port}\n" in result.stdout
    assert "fleet spend from http://bob:***@127.0.0.1:" in result.stdout
    # the probe reached the receiver, with the credentials as a Basic header (not in the host name)
    assert f"http://127.0.0.1:{receiver.port} (traces, metrics): answers (HTTP 200)" in result.stdout, printed
    assert f"http://127.0.0.1:{receiver.port} (logs): answers (TCP connection accepted)" in result.stdout
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert receiver.authorizations == [expected]


def test_check_masks_credentials_in_problem_lines() -> None:
    result = _run(
        [str(BIN / "otel-ai"), "check", "--no-probe"],
        OTEL_AI_BUDGETS='[{"name": "daily", "period": "day", "limit_usd": 5}]',
        OTEL_AI_BUDGET_SERVER=f"ftp://bob:{BUDGET_PASSWORD}@budgets.example",  # not http: a problem line
    )
    assert result.returncode == 2
    assert "OTEL_AI_BUDGET_SERVER" in result.stderr
    assert BUDGET_PASSWORD not in result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# The export-failure line
# --------------------------------------------------------------------------------------------

ONE_SPAN = """
from opentelemetry import trace
with trace.get_tracer("t").start_as_current_span("one"):
    pass
"""


def test_the_export_failure_line_masks_the_endpoint_credentials() -> None:
    port = _free_port()  # nothing listens: the export is refused
    result = _run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "-c", ONE_SPAN],
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{USER}:{PASSWORD}@127.0.0.1:{port}",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
        OTEL_SERVICE_NAME="url-credentials",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("otel-ai:")]
    assert len(warnings) == 1, result.stderr[-3000:]
    assert f"http://{USER}:***@127.0.0.1:{port}/v1/traces" in warnings[0]
    assert PASSWORD not in result.stderr


def test_the_exit_line_masks_the_endpoint_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from otel_ai.runtime import health

    monkeypatch.setattr(health, "_warned", False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"https://{USER}:{PASSWORD}@collector.invalid")
    health.exit_incomplete(1.0, ["tracer provider"])
    err = capsys.readouterr().err
    assert f"https://{USER}:***@collector.invalid" in err and PASSWORD not in err
