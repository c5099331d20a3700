"""An in-memory stand-in for `otel_ai.serve.store` with the same ingest interface, for receiver tests.

It keeps a copy of every request it was given, can fail the next calls (`fail_next`) and can hold
a call until the test lets it go (`hold`), so the tests can see when the receiver answers.
`open_fake_store` has `open_store`'s signature; its stores print one line when closed, so a test
running `otel-ai serve` in a subprocess sees that the store was closed, and after what.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class FakeStoreFailure(OSError):
    """What a failing fake store raises (like a disk or database error)."""


class FakeStore:
    def __init__(self, url: str = "memory", retention_days: float | None = None, max_bytes: int | None = None,
                 *, announce_close: bool = False) -> None:
        self.url = url
        self.retention_days = retention_days
        self.max_bytes = max_bytes
        self.announce_close = announce_close
        self.traces: list[ExportTraceServiceRequest] = []
        self.logs: list[ExportLogsServiceRequest] = []
        self.calls = 0
        self.closed = False
        self.closed_while_busy = False
        self.entered = threading.Event()  # set when a call reaches the store
        self._busy = 0
        self._fail = 0
        self._gate: threading.Event | None = None
        self._changed = threading.Condition()

    # -- control ------------------------------------------------------------------------------------

    def fail_next(self, count: int = 1) -> None:
        """The next ``count`` ingest calls raise `FakeStoreFailure`."""
        with self._changed:
            self._fail += count

    def hold(self) -> threading.Event:
        """Ingest calls block until the returned event is set."""
        gate = threading.Event()
        with self._changed:
            self._gate = gate
            self.entered.clear()
        return gate

    # -- the store interface ----------------------------------------------------------------------

    def ingest_traces(self, request: ExportTraceServiceRequest) -> int:
        count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        return self._ingest(self.traces, request, count)

    def ingest_logs(self, request: ExportLogsServiceRequest) -> int:
        count = sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
        return self._ingest(self.logs, request, count)

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self.closed_while_busy = self._busy > 0
        if self.announce_close:
            print(f"fake-store closed: spans={len(self.spans())} logs={len(self.log_records())}", flush=True)

    def _ingest(self, bucket: list[Any], request: Any, count: int) -> int:
        with self._changed:
            self.calls += 1
            if self.closed:
                raise FakeStoreFailure("the store is closed")
            if self._fail:
                self._fail -= 1
                raise FakeStoreFailure("simulated store failure")
            gate = self._gate
            self._busy += 1
        try:
            self.entered.set()
            if gate is not None:
                gate.wait(30)
            copy = type(request)()
            copy.CopyFrom(request)
            with self._changed:
                bucket.append(copy)
                self._changed.notify_all()
            return count
        finally:
            with self._changed:
                self._busy -= 1

    # -- what it holds -----------------------------------------------------------------------------

    def spans(self) -> list[Span]:
        with self._changed:
            requests = list(self.traces)
        return [span for r in requests for rs in r.resource_spans for ss in rs.scope_spans for span in ss.spans]

    def span_names(self) -> list[str]:
        return [span.name for span in self.spans()]

    def log_records(self) -> list[LogRecord]:
        with self._changed:
            requests = list(self.logs)
        return [rec for r in requests for rl in r.resource_logs for sl in rl.scope_logs for rec in sl.log_records]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.05))
        return True


def open_fake_store(url: str, retention_days: float | None = None, max_bytes: int | None = None) -> FakeStore:
    """`open_store`'s signature; the store announces its close on stdout."""
    return FakeStore(url, retention_days, max_bytes, announce_close=True)
