"""The OTLP receiver of `otel-ai serve` (HTTP and gRPC) and the `otel-ai serve` process.

Real OTLP from the agent's own exporters (the SDK's OTLP/HTTP and OTLP/gRPC exporters, in process
and from the example app under `opentelemetry-instrument` in a subprocess) lands in an in-memory
fake store (tests/serve/fake_store.py); hand-made requests cover OTLP/JSON, compression and every
refusal the specification names. Everything listens on free ports on 127.0.0.1.
"""

from __future__ import annotations

import base64
import gzip
import importlib
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.rpc import code_pb2, status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai.cli import main as cli_main
from otel_ai.cli.serve import default_db_path, parse_duration_days, parse_size
from otel_ai.cli.serve import main as serve_main
from otel_ai.serve.grpc_receiver import OTLPGrpcReceiver
from otel_ai.serve.http_receiver import OTLPHttpReceiver
from otel_ai.serve.otlp_ingest import OTLPIngest
from otel_ai.serve.server import LocalServer, ServeConfig
from tests.serve.fake_store import FakeStore

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LIMIT = 1024 * 1024  # max_request_bytes of the receivers under test
PB = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


# -- fixtures and helpers --------------------------------------------------------------------------


class Receivers:
    def __init__(self, store: FakeStore, limit: int = LIMIT) -> None:
        self.store = store
        self.ingest = OTLPIngest(store, max_request_bytes=limit)
        self.http = OTLPHttpReceiver(self.ingest, "127.0.0.1", 0)
        self.grpc = OTLPGrpcReceiver(self.ingest, "127.0.0.1", 0)

    def start(self) -> Receivers:
        self.http.start()
        self.grpc.start()
        return self

    def stop(self) -> None:
        self.http.stop(grace_s=5)
        self.grpc.stop(grace_s=5)

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc.port}"

    def post(self, path: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, data=body, headers=headers, timeout=10, **kwargs)

    def stats(self) -> dict[str, Any]:
        return dict(self.ingest.stats())


@pytest.fixture
def fake_store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def rx(fake_store: FakeStore) -> Iterator[Receivers]:
    receivers = Receivers(fake_store).start()
    yield receivers
    receivers.stop()


def make_spans(count: int = 3, name: str = "work") -> list[Any]:
    """Finished SDK spans (one trace) from a private tracer provider."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "receiver-test"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.serve")
    with tracer.start_as_current_span(f"{name} root"):
        for index in range(count - 1):
            with tracer.start_as_current_span(f"{name} {index}") as span:
                span.set_attribute("gen_ai.usage.input_tokens", index)
    provider.shutdown()
    return list(memory.get_finished_spans())


def make_logs(count: int = 2) -> list[Any]:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "receiver-test"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("tests.serve")
    tracer_provider = TracerProvider()
    with tracer_provider.get_tracer("t").start_as_current_span("with-logs"):
        for index in range(count):
            logger.emit(body=f"log line {index}", severity_text="INFO")
    provider.shutdown()
    return list(memory.get_finished_logs())


def make_metrics() -> Any:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "receiver-test"}))
    meter = provider.get_meter("tests.serve")
    meter.create_counter("requests").add(3, {"route": "/a"})
    meter.create_counter("requests2").add(1, {"route": "/b"})
    meter.create_histogram("latency").record(0.5)
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


def trace_request(spans: int = 2, *, trace_id: bytes = b"\x01" * 16) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for index in range(spans):
        span = scope.spans.add(name=f"hand {index}", trace_id=trace_id, span_id=bytes([index + 1]) * 8)
        span.start_time_unix_nano = 1
    return request


def rpc_status(response: requests.Response) -> Any:
    status = status_pb2.Status()
    if response.headers["Content-Type"] == "application/json":
        body = response.json()
        status.code, status.message = body.get("code", 0), body.get("message", "")
    else:
        status.ParseFromString(response.content)
    return status


def grpc_call(target: str, service: str, payload: bytes, compression: Any = None) -> Any:
    with grpc.insecure_channel(target, compression=compression) as channel:
        call = channel.unary_unary(f"/opentelemetry.proto.collector.{service}/Export")
        return call(payload, timeout=10)


# -- real OTLP from the SDK's exporters --------------------------------------------------------------


def test_http_exporters_spans_logs_metrics(rx):
    spans = make_spans(4)
    assert OTLPSpanExporter(endpoint=rx.url + "/v1/traces").export(spans) == SpanExportResult.SUCCESS
    assert OTLPLogExporter(endpoint=rx.url + "/v1/logs").export(make_logs(2)).name == "SUCCESS"
    assert OTLPMetricExporter(endpoint=rx.url + "/v1/metrics").export(make_metrics()) == MetricExportResult.SUCCESS

    assert sorted(rx.store.span_names()) == sorted(s.name for s in spans)
    assert {s.span_id for s in rx.store.spans()} == {s.context.span_id.to_bytes(8, "big") for s in spans}
    assert [str(r.body.string_value) for r in rx.store.log_records()] == ["log line 0", "log line 1"]
    assert all(len(r.trace_id) == 16 for r in rx.store.log_records())
    stats = rx.stats()
    assert stats["traces"] == {"requests": 1, "accepted": 4, "rejected_invalid": 0, "rejected_unavailable": 0,
                               "stored": 4}
    assert stats["logs"]["accepted"] == 2 and stats["logs"]["stored"] == 2
    assert stats["metrics"]["requests"] == 1 and stats["metrics"]["accepted"] == 3  # data points
    assert stats["metrics"]["stored"] == 0  # metrics are counted, not stored, in this version
    assert stats["http_requests"] == 3 and stats["malformed"] == 0


def test_grpc_exporters_spans_logs_metrics(rx):
    spans = make_spans(3)
    target = rx.grpc_target
    assert GrpcSpanExporter(endpoint=target, insecure=True).export(spans) == SpanExportResult.SUCCESS
    assert GrpcLogExporter(endpoint=target, insecure=True).export(make_logs(3)).name == "SUCCESS"
    assert GrpcMetricExporter(endpoint=target, insecure=True).export(make_metrics()) == MetricExportResult.SUCCESS
    assert sorted(rx.store.span_names()) == sorted(s.name for s in spans)
    assert len(rx.store.log_records()) == 3
    stats = rx.stats()
    assert stats["grpc_requests"] == 3
    assert (stats["traces"]["accepted"], stats["logs"]["accepted"], stats["metrics"]["accepted"]) == (3, 3, 3)


def test_gzip_from_both_exporters(rx):
    http_spans, grpc_spans = make_spans(2, "http-gzip"), make_spans(2, "grpc-gzip")
    exporter = OTLPSpanExporter(endpoint=rx.url + "/v1/traces", compression=Compression.Gzip)
    assert exporter.export(http_spans) == SpanExportResult.SUCCESS
    grpc_exporter = GrpcSpanExporter(endpoint=rx.grpc_target, insecure=True, compression=grpc.Compression.Gzip)
    assert grpc_exporter.export(grpc_spans) == SpanExportResult.SUCCESS
    assert sorted(rx.store.span_names()) == sorted(s.name for s in http_spans + grpc_spans)


def _run_instrumented_app(endpoint: str, protocol: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_", "ELEVENLABS_"))}
    env.update({
        "OTEL_SERVICE_NAME": "receiver-e2e",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
    })
    return subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "examples/app.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_instrumented_app_in_a_subprocess(rx, protocol):
    endpoint = rx.url if protocol == "http/protobuf" else rx.grpc.endpoint
    result = _run_instrumented_app(endpoint, protocol)
    assert result.returncode == 0, result.stderr[-3000:]
    spans = rx.store.spans()
    by_id = {span.span_id: span for span in spans}
    chats = [span for span in spans if span.name == "chat gpt-4o-mini"]
    assert chats, sorted({span.name for span in spans})
    server = by_id[chats[0].parent_span_id]  # FastAPI → chat → HTTP, as the app exported it
    assert server.name.startswith("GET /ask")
    assert [s.name for s in spans if s.parent_span_id == chats[0].span_id] == ["POST"]
    assert any(span.name == "text_to_speech eleven_multilingual_v2" for span in spans)
    assert any(r.body.string_value == "answered a question with gpt-4o-mini" for r in rx.store.log_records())
    stats = rx.stats()
    assert stats["traces"]["accepted"] == len(spans)
    assert stats["metrics"]["accepted"] > 0
    assert stats["malformed"] == stats["store_failures"] == stats["internal_errors"] == 0


# -- OTLP/JSON ----------------------------------------------------------------------------------------

TRACE_HEX = "5B8EFFF798038103D269B633813FC60C"
SPAN_HEX = "EEE19B7EC3C1B174"


def json_traces(trace_id: str = TRACE_HEX, span_id: str = SPAN_HEX) -> dict[str, Any]:
    """The shape of the OTLP specification's JSON example: hex ids, integer enums, int64 as strings."""
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-app"}}]},
            "scopeSpans": [{
                "scope": {"name": "my.library", "version": "1.0.0"},
                "spans": [{
                    "traceId": trace_id,
                    "spanId": span_id,
                    "parentSpanId": "",
                    "name": "chat gpt-4o-mini",
                    "kind": 3,
                    "startTimeUnixNano": "1544712660000000000",
                    "endTimeUnixNano": "1544712661000000000",
                    "attributes": [
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}},
                        {"key": "otel_ai.cost.usd", "value": {"doubleValue": 0.25}},
                    ],
                    "links": [{"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708"}],
                    "status": {"code": 1},
                    "someFieldFromTheFuture": {"ignored": True},
                }],
            }],
        }],
    }


def test_json_traces_hex_ids_and_json_response(rx):
    response = rx.post("/v1/traces", json.dumps(json_traces()).encode(), JSON)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {}
    (span,) = rx.store.spans()
    assert span.trace_id == bytes.fromhex(TRACE_HEX)
    assert span.span_id == bytes.fromhex(SPAN_HEX)
    assert span.links[0].trace_id == bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
    assert span.kind == span.SPAN_KIND_CLIENT
    assert span.start_time_unix_nano == 1544712660000000000
    assert span.attributes[0].value.int_value == 42


def test_json_logs_metrics_and_snake_case_names(rx):
    logs = {"resource_logs": [{"scope_logs": [{"log_records": [
        {"time_unix_nano": "1", "body": {"stringValue": "hello"}, "trace_id": TRACE_HEX, "span_id": SPAN_HEX},
        {"timeUnixNano": "2", "body": {"stringValue": "no ids"}},
    ]}]}]}
    response = rx.post("/v1/logs", json.dumps(logs).encode(), {"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200, response.text
    records = rx.store.log_records()
    assert [r.body.string_value for r in records] == ["hello", "no ids"]
    assert records[0].trace_id == bytes.fromhex(TRACE_HEX) and records[1].trace_id == b""
    metrics = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "sum": {"dataPoints": [
        {"asInt": "3", "exemplars": [{"traceId": TRACE_HEX, "spanId": SPAN_HEX, "asDouble": 1.0}]},
        {"asInt": "4"},
    ]}}]}]}]}
    response = rx.post("/v1/metrics", json.dumps(metrics).encode(), JSON)
    assert response.status_code == 200, response.text
    assert rx.stats()["metrics"]["accepted"] == 2


def test_json_base64_ids_are_tolerated_and_bad_ids_rejected_as_partial_success(rx):
    b64_trace = base64.b64encode(bytes.fromhex(TRACE_HEX)).decode()
    b64_span = base64.b64encode(bytes.fromhex(SPAN_HEX)).decode()
    assert rx.post("/v1/traces", json.dumps(json_traces(b64_trace, b64_span)).encode(), JSON).status_code == 200
    assert rx.store.spans()[0].trace_id == bytes.fromhex(TRACE_HEX)
    short = json_traces(trace_id="abcd")  # 2 bytes: not a trace id
    response = rx.post("/v1/traces", json.dumps(short).encode(), JSON)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "16-byte trace id" in response.json()["partialSuccess"]["errorMessage"]
    assert len(rx.store.spans()) == 1  # nothing handed to the store for the rejected span
    assert rx.stats()["traces"]["rejected_invalid"] == 1


def test_protobuf_partial_success_keeps_the_valid_spans(rx):
    request = trace_request(3)
    request.resource_spans[0].scope_spans[0].spans[1].ClearField("trace_id")  # no trace id
    request.resource_spans[0].scope_spans[0].spans[2].span_id = bytes(8)  # all-zero span id
    response = rx.post("/v1/traces", request.SerializeToString(), PB)
    assert response.status_code == 200
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 2
    assert rx.store.span_names() == ["hand 0"]
    assert rx.stats()["traces"]["accepted"] == 1


# -- compression --------------------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate", "deflate-raw", "gzip-two-members", "identity"])
def test_content_encodings(rx, coding):
    body = trace_request(2).SerializeToString()
    if coding == "gzip":
        wire, header = gzip.compress(body), "gzip"
    elif coding == "deflate":
        wire, header = zlib.compress(body), "deflate"
    elif coding == "deflate-raw":
        raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        wire, header = raw.compress(body) + raw.flush(), "deflate"
    elif coding == "gzip-two-members":
        half = len(body) // 2
        wire, header = gzip.compress(body[:half]) + gzip.compress(body[half:]), "gzip"
    else:
        wire, header = body, "identity"
    response = rx.post("/v1/traces", wire, {**PB, "Content-Encoding": header})
    assert response.status_code == 200, response.content
    assert rx.store.span_names() == ["hand 0", "hand 1"]


def test_gzip_json(rx):
    response = rx.post("/v1/traces", gzip.compress(json.dumps(json_traces()).encode()),
                       {**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.json() == {}
    assert len(rx.store.spans()) == 1


# -- refusals ----------------------------------------------------------------------------------------


def test_malformed_payloads_are_400_counted_and_the_server_keeps_serving(rx):
    cases = [
        ("/v1/traces", b"\xff\xff\xff\xff", PB, code_pb2.INVALID_ARGUMENT),
        ("/v1/logs", b"\x0a\x05\x0a\x03", PB, code_pb2.INVALID_ARGUMENT),  # truncated nested message
        ("/v1/traces", b"{not json", JSON, code_pb2.INVALID_ARGUMENT),
        ("/v1/traces", b"[1, 2]", JSON, code_pb2.INVALID_ARGUMENT),
        ("/v1/traces", b'{"resourceSpans": "nope"}', JSON, code_pb2.INVALID_ARGUMENT),
        ("/v1/traces", b"\xc3\x28", JSON, code_pb2.INVALID_ARGUMENT),  # not UTF-8
        ("/v1/metrics", b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"gauge": 5}]}]}]}', JSON,
         code_pb2.INVALID_ARGUMENT),
        ("/v1/traces", b"[" * 100_000, JSON, code_pb2.INVALID_ARGUMENT),  # nesting deeper than the recursion limit
    ]
    for path, body, headers, code in cases:
        response = rx.post(path, body, headers)
        assert response.status_code == 400, (body[:40], response.status_code)
        assert response.headers["Content-Type"] == headers["Content-Type"].split(";")[0]
        status = rpc_status(response)
        assert status.code == code and status.message
    bad_gzip = rx.post("/v1/traces", b"\x1f\x8b\x08\x00garbage", {**PB, "Content-Encoding": "gzip"})
    truncated = rx.post("/v1/traces", gzip.compress(b"x" * 1000)[:-12], {**PB, "Content-Encoding": "gzip"})
    assert bad_gzip.status_code == truncated.status_code == 400
    assert rx.stats()["malformed"] == len(cases) + 2
    assert rx.stats()["last_error"]
    assert rx.post("/v1/traces", trace_request(1).SerializeToString(), PB).status_code == 200
    assert rx.store.span_names() == ["hand 0"]


def test_deeply_nested_protobuf_is_400_not_a_crash(rx):
    value = b""
    for _ in range(200):  # AnyValue{kvlist_value{values[KeyValue{value: ...}]}} nested past protobuf's limit
        kv = b"\x12" + _varint(len(value)) + value
        kvlist = b"\x0a" + _varint(len(kv)) + kv
        value = b"\x32" + _varint(len(kvlist)) + kvlist
    attribute = b"\x0a\x01k\x12" + _varint(len(value)) + value
    span = b"\x0a\x10" + b"\x01" * 16 + b"\x12\x08" + b"\x02" * 8 + b"\x4a" + _varint(len(attribute)) + attribute
    scope = b"\x12" + _varint(len(span)) + span
    payload = b"\x0a" + _varint(len(scope) + 2) + b"\x12" + _varint(len(scope)) + scope
    response = rx.post("/v1/traces", payload, PB)
    assert response.status_code in (200, 400)
    assert rx.post("/v1/traces", trace_request(1).SerializeToString(), PB).status_code == 200


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def test_oversized_payloads_are_413(rx):
    big = b"\x00" * (LIMIT + 1)
    response = rx.post("/v1/traces", big, PB)
    assert response.status_code == 413
    assert rpc_status(response).code == code_pb2.RESOURCE_EXHAUSTED

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for _ in range(20):
            yield b"\x00" * (LIMIT // 10)

    assert rx.post("/v1/traces", chunks(), PB).status_code == 413  # type: ignore[arg-type]
    assert rx.stats()["too_large"] == 2
    assert rx.post("/v1/traces", trace_request(1).SerializeToString(), PB).status_code == 200


def test_expect_100_continue_is_refused_before_the_body(rx):
    with socket.create_connection(("127.0.0.1", rx.http.port), timeout=5) as conn:
        conn.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n"
            + f"Content-Length: {50 * LIMIT}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        reply = conn.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:80]
    assert rx.stats()["too_large"] == 1


def test_gzip_bomb_is_413_without_inflating_it(rx):
    bomb = _gzip_of_zeros(256 * 1024 * 1024)  # 256 MiB of zeros in about 250 kB
    assert len(bomb) < LIMIT
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = rx.post("/v1/traces", bomb, {**PB, "Content-Encoding": "gzip"})
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert response.status_code == 413
    assert "decompressed" in rpc_status(response).message
    assert (peak_after - peak_before) * 1024 < 64 * 1024 * 1024  # ru_maxrss is in KiB on Linux


def _gzip_of_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_grpc_refusals_use_the_right_codes(rx):
    target = rx.grpc_target
    with pytest.raises(grpc.RpcError) as malformed:
        grpc_call(target, "trace.v1.TraceService", b"\xff\xff\xff")
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as too_big:
        grpc_call(target, "logs.v1.LogsService", b"\x00" * (LIMIT + 10))
    assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(grpc.RpcError) as bomb:  # small on the wire, over the limit once inflated
        grpc_call(target, "trace.v1.TraceService", b"\x00" * (8 * LIMIT), compression=grpc.Compression.Gzip)
    assert bomb.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    rx.store.fail_next(1)
    with pytest.raises(grpc.RpcError) as unavailable:
        grpc_call(target, "trace.v1.TraceService", trace_request(1).SerializeToString())
    assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
    trailers = dict(unavailable.value.trailing_metadata() or ())
    assert "google.rpc.retryinfo-bin" in trailers
    assert grpc_call(target, "trace.v1.TraceService", trace_request(1).SerializeToString()) == b""
    stats = rx.stats()
    assert stats["malformed"] == 1 and stats["store_failures"] == 1
    assert rx.store.span_names() == ["hand 0"]


def test_unsupported_media_type_and_encoding_are_415(rx):
    body = trace_request(1).SerializeToString()
    assert rx.post("/v1/traces", body, {"Content-Type": "text/plain"}).status_code == 415
    assert rx.post("/v1/traces", body, {}).status_code == 415
    assert rx.post("/v1/traces", body, {**PB, "Content-Encoding": "br"}).status_code == 415
    assert rx.stats()["unsupported"] == 3
    assert rx.store.spans() == []


def test_other_paths_and_methods(rx):
    body = trace_request(1).SerializeToString()
    assert rx.post("/v1/spans", body, PB).status_code == 404
    assert rx.post("/", body, PB).status_code == 404
    get = requests.get(rx.url + "/v1/traces", timeout=5)
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    assert requests.get(rx.url + "/nothing", timeout=5).status_code == 404
    assert rx.post("/v1/traces/?x=1", body, PB).status_code == 200  # query strings and a trailing slash are fine
    assert rx.stats()["not_found"] == 4


def test_broken_http_never_takes_the_server_down(rx):
    port = rx.http.port
    abuse = [
        b"\x00\x01\x02\x03\r\n\r\n",
        b"POST /v1/traces HTTP/1.1\r\nContent-Length: -5\r\nContent-Type: application/x-protobuf\r\n\r\n",
        b"POST /v1/traces HTTP/1.1\r\nContent-Length: abc\r\nContent-Type: application/x-protobuf\r\n\r\n",
        b"POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-protobuf\r\n\r\nzz\r\n",
        b"POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Type: application/x-protobuf\r\n\r\n",
        b"POST /v1/traces HTTP/1.1\r\nContent-Length: 100\r\nContent-Type: application/x-protobuf\r\n\r\nshort",
        b"POST /v1/traces HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
        b"",
    ]
    for payload in abuse:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
            reply = b""
            try:
                while chunk := conn.recv(65536):
                    reply += chunk
            except ConnectionResetError:
                pass
        if payload.startswith(b"POST"):
            assert reply.startswith(b"HTTP/1.1 4"), (payload[:40], reply[:60])
        assert not re.match(rb"HTTP/1\.[01] 5", reply), reply[:100]
    assert rx.post("/v1/traces", trace_request(1).SerializeToString(), PB).status_code == 200
    assert rx.stats()["internal_errors"] == 0


@pytest.fixture(scope="module")
def fuzz_rx() -> Iterator[Receivers]:
    receivers = Receivers(FakeStore()).start()
    yield receivers
    receivers.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=2048),
    content_type=st.sampled_from(["application/x-protobuf", "application/json", "text/plain"]),
    path=st.sampled_from(["/v1/traces", "/v1/logs", "/v1/metrics"]),
    compress=st.booleans(),
)
def test_any_bytes_get_an_otlp_answer(fuzz_rx, body, content_type, path, compress):
    wire = gzip.compress(body) if compress else body
    headers = {"Content-Type": content_type, **({"Content-Encoding": "gzip"} if compress else {})}
    response = fuzz_rx.post(path, wire, headers)
    assert response.status_code in (200, 400, 415), response.status_code


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "name", "links",
                         "attributes", "key", "value", "stringValue", "resource_spans", "kind"]),
        children, max_size=4),
    max_leaves=20,
))
def test_any_json_gets_an_otlp_answer(fuzz_rx, document):
    response = fuzz_rx.post("/v1/traces", json.dumps(document).encode(), JSON)
    assert response.status_code in (200, 400), (document, response.status_code, response.text)


# -- durability and the store failing ----------------------------------------------------------------


def test_acknowledged_only_after_the_store_returned(rx):
    gate = rx.store.hold()
    result: dict[str, Any] = {}

    def send() -> None:
        result["response"] = rx.post("/v1/traces", trace_request(1).SerializeToString(), PB)

    sender = threading.Thread(target=send)
    sender.start()
    assert rx.store.entered.wait(5)
    sender.join(0.3)
    assert sender.is_alive() and "response" not in result  # no reply while the store works
    gate.set()
    sender.join(5)
    assert result["response"].status_code == 200
    assert rx.store.span_names() == ["hand 0"]


def test_store_failure_is_503_and_the_http_exporter_retries(rx):
    rx.store.fail_next(1)
    raw = rx.post("/v1/traces", trace_request(1).SerializeToString(), PB)
    assert raw.status_code == 503
    assert raw.headers["Retry-After"] == "1"
    assert rpc_status(raw).code == code_pb2.UNAVAILABLE
    assert rx.store.spans() == []

    rx.store.fail_next(1)
    spans = make_spans(3, "retried")
    started = time.monotonic()
    assert OTLPSpanExporter(endpoint=rx.url + "/v1/traces").export(spans) == SpanExportResult.SUCCESS
    assert time.monotonic() - started >= 0.9  # it waited Retry-After, then succeeded
    assert sorted(rx.store.span_names()) == sorted(s.name for s in spans)  # all of them, once
    stats = rx.stats()
    assert stats["store_failures"] == 2
    assert stats["traces"]["rejected_unavailable"] == 4 and stats["traces"]["accepted"] == 3


def test_store_failure_over_grpc_the_exporter_retries(rx):
    rx.store.fail_next(1)
    spans = make_spans(2, "grpc-retried")
    exporter = GrpcSpanExporter(endpoint=rx.grpc_target, insecure=True)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert sorted(rx.store.span_names()) == sorted(s.name for s in spans)
    assert rx.stats()["store_failures"] == 1


def test_stop_finishes_the_batch_in_flight_and_closes_idle_connections(fake_store):
    store = fake_store
    rx = Receivers(store).start()
    session = requests.Session()  # an idle keep-alive connection must not delay the stop
    assert session.post(rx.url + "/v1/traces", data=trace_request(1).SerializeToString(), headers=PB).ok
    gate = store.hold()
    result: dict[str, Any] = {}
    logs = ExportLogsServiceRequest()
    logs.resource_logs.add().scope_logs.add().log_records.add(time_unix_nano=5)
    sender = threading.Thread(target=lambda: result.update(r=rx.post("/v1/logs", logs.SerializeToString(), PB)))
    sender.start()
    assert store.entered.wait(5)
    stopper = threading.Thread(target=lambda: result.update(stopped=rx.http.stop(grace_s=5)))
    stopper.start()
    stopper.join(0.3)
    assert stopper.is_alive()  # waiting for the batch in flight
    with pytest.raises(requests.ConnectionError):
        requests.post(rx.url + "/v1/traces", data=b"", headers=PB, timeout=2)  # no longer accepting
    gate.set()
    stopper.join(5)
    sender.join(5)
    assert result["r"].status_code == 200 and result["stopped"] is True
    assert len(store.log_records()) == 1
    rx.grpc.stop()
    session.close()


# -- `otel-ai serve` ---------------------------------------------------------------------------------


def test_local_server_closes_the_store_after_the_batch_in_flight(tmp_path):
    store = FakeStore()
    config = ServeConfig(db=str(tmp_path / "x.db"), port=0, otlp_http_port=0, otlp_grpc_port=0)
    server = LocalServer(config, open_store=lambda url, retention_days=None, max_bytes=None: store).start()
    gate = store.hold()
    result: dict[str, Any] = {}
    sender = threading.Thread(target=lambda: result.update(r=requests.post(
        server.urls()["otlp_http"] + "/v1/traces", data=trace_request(2).SerializeToString(), headers=PB, timeout=10)))
    sender.start()
    assert store.entered.wait(5)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    time.sleep(0.3)
    assert not store.closed
    gate.set()
    stopper.join(10)
    sender.join(5)
    assert result["r"].status_code == 200
    assert store.closed and not store.closed_while_busy
    assert len(store.spans()) == 2


_BANNER = re.compile(r"API (http://\S+)\s+OTLP/HTTP (http://\S+)\s+OTLP/gRPC http://(\S+)")


def _serve_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update(extra)
    return env


def _start_serve(args: list[str], env: dict[str, str], fake: bool) -> tuple[subprocess.Popen[str], re.Match[str]]:
    if fake:
        code = ("import sys; from otel_ai.cli.serve import main; from tests.serve.fake_store import open_fake_store; "
                "raise SystemExit(main(sys.argv[1:], open_store=open_fake_store))")
        command = [sys.executable, "-c", code, *args]
    else:
        command = [str(BIN / "otel-ai"), "serve", *args]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        if selector.select(timeout=0.2):
            line = proc.stdout.readline()
            if _BANNER.search(line):
                break
    selector.close()
    match = _BANNER.search(line)
    if match is None:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"otel-ai serve did not start: {line!r} {err[-2000:]}")
    return proc, match


def _real_store_available() -> bool:
    try:
        return hasattr(importlib.import_module("otel_ai.serve.store"), "open_store")
    except Exception:
        return False


@pytest.mark.parametrize("store_kind", ["real"])  # the API on --port needs the real store's queries
def test_otel_ai_serve_process(tmp_path, store_kind):
    args = ["--port", "0", "--otlp-http-port", "0", "--otlp-grpc-port", "0", "--db", str(tmp_path / "otel-ai.db")]
    proc, urls = _start_serve(args, _serve_env(), fake=store_kind == "fake")
    api, otlp_http, otlp_grpc = urls.groups()
    try:
        health = requests.get(api + "/api/v1/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        http_spans, grpc_spans = make_spans(3, "via-http"), make_spans(2, "via-grpc")
        assert OTLPSpanExporter(endpoint=otlp_http + "/v1/traces").export(http_spans) == SpanExportResult.SUCCESS
        assert GrpcSpanExporter(endpoint=otlp_grpc, insecure=True).export(grpc_spans) == SpanExportResult.SUCCESS
        assert OTLPLogExporter(endpoint=otlp_http + "/v1/logs").export(make_logs(2)).name == "SUCCESS"
        receiver = requests.get(api + "/api/v1/health", timeout=5).json()["receiver"]
        assert receiver["traces"]["accepted"] == 5 and receiver["traces"]["stored"] == 5
        assert receiver["logs"]["stored"] == 2
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        elapsed = time.monotonic() - started
    assert proc.returncode == 0, err[-2000:]
    assert elapsed < 2.0, elapsed
    if store_kind == "fake":
        assert "fake-store closed: spans=5 logs=2" in out
    else:
        assert (tmp_path / "otel-ai.db").exists()


def test_otel_ai_serve_sigint_and_env_settings(tmp_path):
    env = _serve_env(
        OTEL_AI_SERVE_PORT="0", OTEL_AI_SERVE_OTLP_HTTP_PORT="0", OTEL_AI_SERVE_OTLP_GRPC_PORT="0",
        OTEL_AI_SERVE_DB=str(tmp_path / "env.db"), OTEL_AI_SERVE_RETENTION="12h", OTEL_AI_SERVE_MAX_DB_SIZE="2GB",
    )
    proc, urls = _start_serve([], env, fake=True)
    assert str(tmp_path / "env.db") in urls.string
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "fake-store closed: spans=0 logs=0" in out


# -- `otel-ai serve` settings --------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "env", "named"), [
    (["--retention", "3x"], {}, "--retention"),
    (["--retention", "0d"], {}, "--retention"),
    (["--max-db-size", "lots"], {}, "--max-db-size"),
    (["--max-request-bytes", "10"], {}, "--max-request-bytes"),
    (["--port", "70000"], {}, "--port"),
    (["--db", "mysql://u@h/db"], {}, "--db"),
    (["--host", "two words"], {}, "--host"),
    (["--port", "4318"], {}, "--port and --otlp-http-port"),
    ([], {"OTEL_AI_SERVE_OTLP_GRPC_PORT": "grpc"}, "OTEL_AI_SERVE_OTLP_GRPC_PORT"),
    ([], {"OTEL_AI_SERVE_RETENTION": "forever and ever"}, "OTEL_AI_SERVE_RETENTION"),
    ([], {"OTEL_AI_SERVE_MAX_DB_SIZE": "-1GB"}, "OTEL_AI_SERVE_MAX_DB_SIZE"),
])
def test_bad_settings_exit_2_with_one_line_naming_them(monkeypatch, capsys, argv, env, named):
    for key in [k for k in os.environ if k.startswith("OTEL_AI_SERVE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli_main(["serve", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("otel-ai serve: ") and named in err, err


def test_a_flag_wins_over_its_variable_and_empty_variables_are_unset(monkeypatch, capsys):
    monkeypatch.setenv("OTEL_AI_SERVE_RETENTION", "nonsense")
    monkeypatch.setenv("OTEL_AI_SERVE_PORT", "")
    monkeypatch.setenv("OTEL_AI_SERVE_OTLP_HTTP_PORT", "8200")  # would clash with --port's default if read
    assert cli_main(["serve", "--retention", "bogus"]) == 2
    assert "--retention" in capsys.readouterr().err


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = serve_main(["--port", "0", "--otlp-grpc-port", "0", "--otlp-http-port", str(port),
                           "--db", str(tmp_path / "x.db")], open_store=lambda url, **kw: FakeStore(url))
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "OTLP/HTTP" in err and str(port) in err, err


def test_value_parsers_and_default_db_path(monkeypatch, tmp_path):
    assert parse_duration_days("30d") == 30
    assert parse_duration_days("12h") == 0.5
    assert parse_duration_days("2w") == 14
    assert parse_duration_days("90m") == pytest.approx(90 / 1440)
    assert parse_duration_days("none") is None
    assert parse_size("2GB") == 2_000_000_000
    assert parse_size("1.5GiB") == int(1.5 * 2**30)
    assert parse_size("500mb") == 500_000_000
    assert parse_size("16MiB") == 16 * 2**20
    assert parse_size("1048576") == 1048576
    assert parse_size("off") is None
    for bad in ("2XB", "GB", "1.2.3MB", "0MB"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert default_db_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "otel-ai" / "otel-ai.db"
    monkeypatch.setenv("HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_db_path({}) == tmp_path / ".local" / "share" / "otel-ai" / "otel-ai.db"


def test_retention_is_enforced_when_the_server_starts(tmp_path):
    """`--retention 1d`: a call from three days ago is gone once `otel-ai serve` is up; a fresh one stays."""
    from otel_ai.serve.store import open_store

    def genai_request(trace_id: bytes, start_ns: int) -> ExportTraceServiceRequest:
        request = ExportTraceServiceRequest()
        scope = request.resource_spans.add().scope_spans.add()
        span = scope.spans.add(name="chat m", trace_id=trace_id, span_id=b"\x02" * 8)
        span.start_time_unix_nano, span.end_time_unix_nano = start_ns, start_ns + 10**6
        for key, value in (("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"),
                           ("gen_ai.request.model", "m")):
            attribute = span.attributes.add(key=key)
            attribute.value.string_value = value
        return request

    db = str(tmp_path / "retained.db")
    now = time.time_ns()
    store = open_store(db)
    store.ingest_traces(genai_request(b"\x03" * 16, now - 3 * 86400 * 10**9))
    store.ingest_traces(genai_request(b"\x04" * 16, now - 3600 * 10**9))
    assert store.summary(None, None)["calls"] == 2
    store.close()
    config = ServeConfig(db=db, port=0, otlp_http_port=0, otlp_grpc_port=0, retention_days=1.0)
    server = LocalServer(config).start()
    try:
        summary = requests.get(server.urls()["api"] + "/api/v1/summary", timeout=5).json()
        assert summary["calls"] == 1
    finally:
        server.stop()


def test_nothing_acknowledged_is_lost_when_the_server_is_killed_mid_ingest(tmp_path):
    """kill -9 while batches stream in; after a restart every batch answered 200 is in the store."""
    from otel_ai.serve.store import open_store

    db = str(tmp_path / "crash.db")
    args = ["--port", "0", "--otlp-http-port", "0", "--otlp-grpc-port", "0", "--db", db]
    proc, urls = _start_serve(args, _serve_env(), fake=False)
    otlp_http = urls.group(2)
    acknowledged: list[bytes] = []
    stop = threading.Event()

    def send() -> None:
        session = requests.Session()
        number = 0
        while not stop.is_set():
            number += 1
            trace_id = number.to_bytes(16, "big")
            body = trace_request(20, trace_id=trace_id).SerializeToString()
            try:
                response = session.post(otlp_http + "/v1/traces", data=body, headers=PB, timeout=5)
            except requests.RequestException:
                return  # the server is gone: whatever was not answered 200 was never acknowledged
            if response.status_code == 200:
                acknowledged.append(trace_id)

    senders = [threading.Thread(target=send) for _ in range(3)]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no shutdown, no flush
    proc.wait(10)
    stop.set()
    for sender in senders:
        sender.join(10)
    assert len(acknowledged) >= 30
    restarted, _ = _start_serve(args, _serve_env(), fake=False)  # reopens (and recovers) the same file
    restarted.send_signal(signal.SIGTERM)
    restarted.communicate(timeout=10)
    store = open_store(db)
    try:
        missing = [tid.hex() for tid in acknowledged if store.trace(tid.hex()) is None]
        assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged batches lost"
        assert all(len(store.trace(tid.hex())["spans"]) == 20 for tid in acknowledged[:5])
    finally:
        store.close()
