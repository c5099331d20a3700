"""OTLP/gRPC for `otel-ai serve`: the trace, logs and metrics ``Export`` services on one port (4317).

The services are registered under the names in opentelemetry-proto's service descriptors, with
handlers that take the request as raw bytes and decode it through `OTLPIngest` rather than the
generated servicers' deserialisers: with those, a payload that does not decode is answered
``INTERNAL`` before any code of ours runs, where OTLP wants ``INVALID_ARGUMENT`` (and a count).

Status codes: ``INVALID_ARGUMENT`` for a payload that does not decode, ``RESOURCE_EXHAUSTED`` for
one over the size limit (grpc itself enforces it on the decompressed message, before our handler:
those are not in `stats()`), ``UNAVAILABLE`` with a ``google.rpc.RetryInfo`` when the store fails.
grpc decompresses gzip/deflate requests itself.

Who may send: with a token (`otel_ai.serve.access.Access`), every call must carry the metadata
``authorization: Bearer <token>`` (``UNAUTHENTICATED`` otherwise); the ``:authority`` (gRPC's Host)
must be one of the allowed names (``PERMISSION_DENIED`` otherwise). grpc's public API does not
show ``:authority`` to servers; it is read from the call's details where this grpc version has
them (1.x: ``context._rpc_event.call_details.host``), and left unchecked where it does not: a
browser cannot speak gRPC over h2c, so DNS rebinding cannot reach this port anyway.

Memory: at most ``max_concurrent_rpcs`` calls (default twice the workers) are admitted, more get
``RESOURCE_EXHAUSTED`` at once, which the OTLP exporters retry with back-off; a call's message is
received only when a worker runs it, and with the flow-control window kept at its initial size
(no BDP probing) a waiting call holds about 64 KiB of it; each message is at most
``max_request_bytes`` once decompressed. Measured: 100 concurrent 15 MiB exports, +414 MiB.
"""

from __future__ import annotations

import errno
import socket
from concurrent import futures
from types import TracebackType
from typing import Any, Final

import grpc  # type: ignore[import-untyped]
from google.protobuf.duration_pb2 import Duration  # type: ignore[import-untyped]
from google.rpc.error_details_pb2 import RetryInfo  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otel_ai.serve.access import Access
from otel_ai.serve.otlp import MisdirectedHost, ReceiverError, Signal, StoreUnavailable, Unauthorized
from otel_ai.serve.otlp_ingest import OTLPIngest, ReceiverStats

__all__ = ["OTLPGrpcReceiver"]

_SERVICES: Final[dict[Signal, str]] = {
    "traces": trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name,
    "logs": logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name,
    "metrics": metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name,
}
_CODES: Final = {
    "malformed": grpc.StatusCode.INVALID_ARGUMENT,
    "too_large": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unsupported": grpc.StatusCode.INVALID_ARGUMENT,
    "store_failures": grpc.StatusCode.UNAVAILABLE,
    "overloaded": grpc.StatusCode.UNAVAILABLE,
    "internal_errors": grpc.StatusCode.INTERNAL,
}
_ACCESS_CODES: Final = {
    MisdirectedHost: grpc.StatusCode.PERMISSION_DENIED,
    Unauthorized: grpc.StatusCode.UNAUTHENTICATED,
}
_RETRY_INFO_KEY: Final = "google.rpc.retryinfo-bin"  # what the OTLP exporters read the back-off from


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _authority(context: Any) -> str | None:
    """The call's ``:authority`` where grpc exposes it (a private attribute), else None."""
    try:
        host = context._rpc_event.call_details.host
    except AttributeError:
        return None
    if isinstance(host, bytes):
        return host.decode("latin-1")
    return host if isinstance(host, str) else None


def _access_refusal(access: Access, context: Any) -> ReceiverError | None:
    """PERMISSION_DENIED for an ``:authority`` not allowed, UNAUTHENTICATED without the token; else None."""
    authority = _authority(context)
    if authority is not None and not access.host_allowed(authority):
        return MisdirectedHost(
            f"authority {authority[:100]!r} is not a name this server answers to; "
            "start otel-ai serve with --allowed-host NAME to allow it"
        )
    if access.token is not None:
        authorization = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and isinstance(value, str):
                authorization = value
                break
        if not access.token_ok(authorization=authorization):
            return Unauthorized(
                "missing or wrong token: send the metadata 'authorization: Bearer <token>' "
                "(OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)"
            )
    return None


class OTLPGrpcReceiver:
    """OTLP/gRPC on ``host:port`` (``port=0``: a free port, see `port` after `start()`).

    `stop()` stops accepting, gives calls in flight ``grace_s`` to finish and waits for the worker
    threads, so no store call is running when it returns.
    """

    def __init__(
        self,
        ingest: OTLPIngest,
        host: str = "127.0.0.1",
        port: int = 4317,
        *,
        access: Access | None = None,
        max_workers: int = 8,
        max_concurrent_rpcs: int | None = None,
    ) -> None:
        self.ingest = ingest
        self.host = host
        self.port = port
        self.access = access if access is not None else Access.for_bind(host)
        self.max_workers = max_workers
        self.max_concurrent_rpcs = max_concurrent_rpcs if max_concurrent_rpcs is not None else 2 * max_workers
        self._server: Any = None
        self._executor: futures.ThreadPoolExecutor | None = None

    @property
    def endpoint(self) -> str:
        """``http://HOST:PORT``: the value for ``OTEL_EXPORTER_OTLP_ENDPOINT`` with protocol grpc."""
        return f"http://{self._address(self.port)}"

    def stats(self) -> ReceiverStats:
        return self.ingest.stats()

    def start(self) -> OTLPGrpcReceiver:
        """Bind and serve. Raises OSError when the address cannot be bound."""
        if self._server is not None:
            return self
        self._check_port_free()
        executor = futures.ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="otlp-grpc")
        limit = self.ingest.max_request_bytes
        server = grpc.server(
            executor,
            handlers=[self._service(signal) for signal in _SERVICES],
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.so_reuseport", 0),  # a taken port is an error, not a silently shared one
                # No flow-control window growth: a call waiting for a worker holds at most the initial
                # 64 KiB window, not its whole message (with it, 48 queued 15 MiB calls took 744 MiB).
                ("grpc.http2.bdp_probe", 0),
            ],
            maximum_concurrent_rpcs=self.max_concurrent_rpcs,
        )
        try:
            port = server.add_insecure_port(self._address(self.port))
        except RuntimeError as exc:  # newer grpc raises, older ones return 0
            port, reason = 0, str(exc)
        else:
            reason = "address in use or not available"
        if not port:
            server.stop(None)
            executor.shutdown(wait=False)
            raise OSError(f"cannot listen for OTLP/gRPC on {self._address(self.port)}: {reason}")
        self.port = port
        server.start()
        self._server = server
        self._executor = executor
        return self

    def stop(self, grace_s: float = 10.0) -> None:
        server, executor = self._server, self._executor
        if server is None:
            return
        self._server = self._executor = None
        server.stop(grace_s).wait(grace_s + 1.0)
        if executor is not None:
            executor.shutdown(wait=True)  # a call past the grace period still finishes its store call

    def __enter__(self) -> OTLPGrpcReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------------

    def _check_port_free(self) -> None:
        """Raise OSError when `host:port` is taken, before grpc tries: grpc's C core would first write
        its own ``E… add_port.cc`` line to stderr, ahead of the one clear message `serve` prints.

        A probe socket per resolved address, with SO_REUSEADDR as grpc sets it (a port in TIME_WAIT is
        free to it too). Only "in use" is decided here; anything else is left to grpc's own bind."""
        if self.port == 0:
            return
        try:
            addresses = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except OSError:
            return
        for family, kind, proto, _, address in addresses:
            try:
                probe = socket.socket(family, kind, proto)
            except OSError:
                continue
            with probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(address)
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        taken = OSError(f"cannot listen for OTLP/gRPC on {self._address(self.port)}: "
                                        f"{exc.strerror or 'address in use'}")
                        taken.errno = exc.errno
                        raise taken from None

    def _address(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{port}"

    def _service(self, signal: Signal) -> Any:
        ingest = self.ingest
        access = self.access

        def export(payload: bytes, context: Any) -> Any:
            ingest.count_request("grpc")
            try:
                refusal = _access_refusal(access, context)
                if refusal is not None:
                    del payload
                    ingest.refused(refusal, signal)
                    raise refusal
                return ingest.process(signal, payload, encoding="protobuf", transport="grpc")
            except ReceiverError as error:
                refusal = error
            except Exception as exc:  # a bug: INTERNAL, keep serving
                refusal = ReceiverError(f"internal error: {type(exc).__name__}")
                ingest.refused(refusal, signal)
            if isinstance(refusal, StoreUnavailable):
                info = RetryInfo(retry_delay=Duration(seconds=ingest.retry_after_s))
                context.set_trailing_metadata(((_RETRY_INFO_KEY, info.SerializeToString()),))
            code = _ACCESS_CODES.get(type(refusal)) or _CODES.get(refusal.counter, grpc.StatusCode.INTERNAL)
            context.abort(code, str(refusal))  # raises: grpc ends the call with this status
            return None

        handler = grpc.unary_unary_rpc_method_handler(
            export, request_deserializer=None, response_serializer=_serialize
        )
        return grpc.method_handlers_generic_handler(_SERVICES[signal], {"Export": handler})
