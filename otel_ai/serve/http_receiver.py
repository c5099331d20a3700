"""OTLP/HTTP for `otel-ai serve`: ``POST /v1/traces``, ``/v1/logs`` and ``/v1/metrics`` on one port (4318).

The endpoints on the hardened HTTP/1.1 transport (`otel_ai.serve.http_transport`), decoding and
storing through `OTLPIngest` as the gRPC transport does (`otel_ai.serve.grpc_receiver`): protobuf
and JSON, gzip/deflate; a ``google.rpc.Status`` body on every refusal, with ``Retry-After`` where
the exporter should retry; 404 for other paths, 405 for other methods.

Who may send: ``access`` (Host names and optional token, `otel_ai.serve.access.Access`) is checked
on every request before its body is read: 421 for another Host, 401 without the token.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Final, cast

from google.rpc import code_pb2  # type: ignore[import-untyped]

from otel_ai.serve.access import Access
from otel_ai.serve.http_transport import (
    DEFAULT_ADMISSION_WAIT_S,
    DEFAULT_BODY_GRACE_S,
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_IDLE_TIMEOUT_S,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MIN_BODY_RATE,
    DEFAULT_WRITE_TIMEOUT_S,
    HTTPTransport,
    TransportHandler,
)
from otel_ai.serve.otlp import (
    CONTENT_ENCODINGS,
    CONTENT_TYPES,
    HTTP_PATHS,
    RESPONSE_CONTENT_TYPE,
    Encoding,
    MisdirectedHost,
    Overloaded,
    PayloadTooLarge,
    ReceiverError,
    StoreUnavailable,
    Unauthorized,
    UnsupportedMedia,
    encode_message,
    status_body,
)
from otel_ai.serve.otlp_ingest import OTLPIngest, ReceiverStats

__all__ = ["OTLPHttpReceiver"]

logger = logging.getLogger("otel_ai.serve.receiver")  # one log name for the receivers

_DRAIN_S: Final = 2.0  # after an early refusal, how long the unread body is read and dropped (so the client sees it)


class _Handler(TransportHandler):
    server_version = "otel-ai-otlp"
    sys_version = ""

    @property
    def receiver(self) -> OTLPHttpReceiver:
        return cast("OTLPHttpReceiver", self.server.owner)

    # -- dispatch --------------------------------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too long, ...): a JSON Status, then close."""
        self.close_connection = True
        self._body_consumed = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        text = message or phrase
        rpc = code_pb2.INVALID_ARGUMENT if code < 500 else code_pb2.UNIMPLEMENTED
        self._send(code, status_body(rpc, text, "json"), "application/json", head=self.command == "HEAD")

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue``: refuse an oversized (or unauthorised) body before the client sends it."""
        self._set_phase("busy")
        ingest = self.receiver.ingest
        refusal = self._access_refusal()
        length = self._content_length()
        if refusal is None and length is not None and length > ingest.max_request_bytes and self.command == "POST":
            refusal = PayloadTooLarge(f"Content-Length {length} is over the {ingest.max_request_bytes}-byte limit")
        if refusal is not None:
            ingest.count_request("http")
            ingest.refused(refusal, HTTP_PATHS.get(self._route()))
            self.close_connection = True
            self._body_consumed = True  # never sent: the client waits for 100 Continue
            self._send_status(refusal, self._encoding() or "json", self._refusal_headers(refusal))
            return False
        self.connection.settimeout(self.receiver.write_timeout_s)
        return super().handle_expect_100()

    def do_POST(self) -> None:
        self._set_phase("busy")
        receiver = self.receiver
        ingest = receiver.ingest
        ingest.count_request("http")
        signal = HTTP_PATHS.get(self._route())
        encoding = self._encoding()
        refusal = self._access_refusal()
        if refusal is not None:
            ingest.refused(refusal, signal)
            self._refuse_unread(refusal, encoding or "json")
            return
        if signal is None:
            ingest.count_not_found()
            self._discard_body()
            self._send_status_code(HTTPStatus.NOT_FOUND, code_pb2.NOT_FOUND, f"no OTLP endpoint at {self._route()!r}")
            return
        reserved = 0
        try:
            if encoding is None:
                raise UnsupportedMedia(
                    f"unsupported Content-Type {self.headers.get('Content-Type')!r} "
                    "(use application/x-protobuf or application/json)"
                )
            content_encoding = self.headers.get("Content-Encoding", "")
            if content_encoding.strip().lower() not in CONTENT_ENCODINGS:
                raise UnsupportedMedia(f"unsupported Content-Encoding {content_encoding!r} (use gzip, deflate or none)")
            reserved = self._reserve(ingest.max_request_bytes)
            body = self._read_body(ingest.max_request_bytes)
            response = ingest.process(
                signal, body, encoding=encoding, content_encoding=content_encoding, transport="http"
            )
            del body
        except Overloaded as error:
            ingest.refused(error, signal)
            self._refuse_unread(error, encoding or "json")
            return
        except ReceiverError as error:
            ingest.refused(error, signal)
            if not self.close_connection and not self._body_consumed:
                self._discard_body()
            extra = [("Retry-After", str(ingest.retry_after_s))] if isinstance(error, StoreUnavailable) else []
            self._send_status(error, encoding or "json", extra)
            return
        except (OSError, ValueError):
            raise  # the connection broke while reading, or the client was too slow: nothing to answer
        except Exception as exc:  # a bug: answer 500, keep serving
            logger.warning("OTLP/HTTP %s request failed unexpectedly", signal, exc_info=True)
            failure = ReceiverError(f"internal error: {type(exc).__name__}")
            ingest.refused(failure, signal)
            self.close_connection = True
            self._send_status(failure, encoding or "json")
            return
        finally:
            if reserved:
                receiver._budget.release(reserved)
        self._send(HTTPStatus.OK, encode_message(response, encoding), RESPONSE_CONTENT_TYPE[encoding])

    def do_GET(self) -> None:
        self._not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def do_HEAD(self) -> None:
        self._not_allowed(head=True)

    def _not_allowed(self, head: bool = False) -> None:
        self._set_phase("busy")
        ingest = self.receiver.ingest
        refusal = self._access_refusal()
        if refusal is not None:
            ingest.refused(refusal)
            self._refuse_unread(refusal, "json", head=head)
            return
        ingest.count_not_found()
        self._discard_body()
        route = self._route()
        if route in HTTP_PATHS:
            self._send_status_code(
                HTTPStatus.METHOD_NOT_ALLOWED, code_pb2.UNIMPLEMENTED, "OTLP export is POST only",
                [("Allow", "POST")], head=head,
            )
        else:
            self._send_status_code(
                HTTPStatus.NOT_FOUND, code_pb2.NOT_FOUND, f"no OTLP endpoint at {route!r}", head=head
            )

    # -- who may send ------------------------------------------------------------------------------

    def _access_refusal(self) -> ReceiverError | None:
        """421 for a Host this server is not reached by (DNS rebinding), 401 without the token; else None."""
        access = self.receiver.access
        host = self.headers.get("Host")
        if not access.host_allowed(host):
            shown = (host or "")[:100]
            return MisdirectedHost(
                f"Host {shown!r} is not a name this server answers to; "
                "start otel-ai serve with --allowed-host NAME to allow it"
            )
        if not access.token_ok(authorization=self.headers.get("Authorization")):
            return Unauthorized(
                "missing or wrong token: send 'Authorization: Bearer <token>' "
                "(OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>)"
            )
        return None

    def _refusal_headers(self, error: ReceiverError) -> list[tuple[str, str]]:
        if isinstance(error, (Overloaded, StoreUnavailable)):
            return [("Retry-After", str(self.receiver.ingest.retry_after_s))]
        if isinstance(error, Unauthorized):
            return [("WWW-Authenticate", 'Bearer realm="otel-ai"')]
        return []

    def _refuse_unread(self, error: ReceiverError, encoding: Encoding, head: bool = False) -> None:
        """Answer a refusal without keeping the body: reply and close, reading and dropping what the
        client still sends (a bounded time, a 64 KiB buffer) so it sees the reply rather than a reset."""
        self.close_connection = True
        self._body_consumed = True
        body = status_body(error.rpc_code, str(error), encoding)
        self._send(error.http_status, body, RESPONSE_CONTENT_TYPE[encoding], self._refusal_headers(error), head=head)
        if self._content_length() or self.headers.get("Transfer-Encoding"):
            self._drain(_DRAIN_S)

    # -- request body ------------------------------------------------------------------------------

    def _route(self) -> str:
        path = self.path.split("?", 1)[0]
        return path.rstrip("/") or "/"

    def _encoding(self) -> Encoding | None:
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        return CONTENT_TYPES.get(content_type)

    # -- replies -------------------------------------------------------------------------------------

    def _send_status(
        self, error: ReceiverError, encoding: Encoding, extra: list[tuple[str, str]] | None = None
    ) -> None:
        body = status_body(error.rpc_code, str(error), encoding)
        self._send(error.http_status, body, RESPONSE_CONTENT_TYPE[encoding], extra)

    def _send_status_code(
        self, status: int, code: int, message: str, extra: list[tuple[str, str]] | None = None, head: bool = False
    ) -> None:
        self._send(status, status_body(code, message, "json"), "application/json", extra, head=head)


class OTLPHttpReceiver(HTTPTransport):
    """OTLP/HTTP (protobuf and JSON, gzip/deflate) on ``host:port``, one thread per connection.

    ``port=0`` picks a free port (see `port` / `url` after `start()`). `stop()` stops accepting,
    closes idle keep-alive connections, lets requests in flight finish (up to ``grace_s``) and only
    then returns, so the store can be closed after it. Slow and many clients: see `HTTPTransport`;
    ``body_budget_bytes`` defaults to ``max_concurrent * max_request_bytes`` (at least one request).

    ``access`` (Host names and optional token, `otel_ai.serve.access.Access`) is checked on every
    request before its body is read: 421 for another Host, 401 without the token.
    """

    handler = _Handler

    def __init__(
        self,
        ingest: OTLPIngest,
        host: str = "127.0.0.1",
        port: int = 4318,
        *,
        access: Access | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S,
        body_grace_s: float = DEFAULT_BODY_GRACE_S,
        min_body_rate: float = DEFAULT_MIN_BODY_RATE,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S,
        body_budget_bytes: int | None = None,
        admission_wait_s: float = DEFAULT_ADMISSION_WAIT_S,
    ) -> None:
        budget = ingest.max_concurrent * ingest.max_request_bytes if body_budget_bytes is None else body_budget_bytes
        super().__init__(
            host,
            port,
            max_connections=max_connections,
            header_timeout_s=header_timeout_s,
            body_grace_s=body_grace_s,
            min_body_rate=min_body_rate,
            idle_timeout_s=idle_timeout_s,
            write_timeout_s=write_timeout_s,
            body_budget_bytes=max(budget, ingest.max_request_bytes),
            max_discard_bytes=max(4 * ingest.max_request_bytes, 64 * 1024 * 1024),
            admission_wait_s=admission_wait_s,
        )
        self.ingest = ingest
        self.access = access if access is not None else Access.for_bind(host)

    def stats(self) -> ReceiverStats:
        return self.ingest.stats()

    def _wait_idle(self, timeout: float) -> None:
        self.ingest.wait_idle(timeout)
