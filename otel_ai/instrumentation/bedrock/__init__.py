"""AWS Bedrock instrumentation (`boto3` / `botocore`, the `bedrock-runtime` client).

botocore builds its clients at run time from a service model, so there is no method per operation
to wrap: the one seam every call goes through is `BaseClient._make_api_call(operation_name, params)`.
It is wrapped once; `describe` answers None for any other service or operation (S3, STS, ...), which
then goes on untouched. `Converse` / `ConverseStream` read Bedrock's shared request shape,
`InvokeModel` / `InvokeModelWithResponseStream` each model family's own body. A stream answer is a
dict whose `stream` (or `body`) is a botocore `EventStream`: it is replaced by a proxy that ends the
span exactly once (exhausted, closed, collected, or failing with the exception event it carried).

Credentials: the client signs with SigV4, so the secret never goes on the wire, but the access key
id, the secret and the session token are registered as secrets on every call (cheap when known), so
no exported byte (an error string, a log line) carries them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from otel_ai.genai import semconv as sc
from otel_ai.genai.model import GenAIRequest
from otel_ai.genai.recorder import GenAIRecorder, Invocation
from otel_ai.genai.streams import SyncStreamProxy
from otel_ai.instrumentation.base import Endpoint, ProviderInstrumentor, Target
from otel_ai.instrumentation.bedrock.converse import Converse, request_id
from otel_ai.instrumentation.bedrock.invoke import InvokeModel
from otel_ai.privacy.secrets import remember

__all__ = ["BedrockInstrumentor", "Dispatch", "guardrail_id"]

PROVIDER = "aws.bedrock"
_SERVICE = "bedrock-runtime"
_ENDPOINTS: dict[str, Endpoint] = {
    "Converse": Converse(),
    "ConverseStream": Converse(streaming=True),
    "InvokeModel": InvokeModel(),
    "InvokeModelWithResponseStream": InvokeModel(streaming=True),
}
# The key of the answer that holds the event stream, by operation.
_STREAM_KEYS = {"ConverseStream": "stream", "InvokeModelWithResponseStream": "body"}


@functools.lru_cache(maxsize=64)
def _host_port(url: str) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, None


class Dispatch(Endpoint):
    """The one endpoint of the shared seam: hands each call to its operation's endpoint."""

    def request(self, kwargs: dict[str, Any], req: GenAIRequest, capture: bool, limit: int) -> None:
        guardrail = guardrail_id(kwargs["params"])
        if guardrail is not None:  # before the body is read: a body we cannot read still names its guardrail
            req.attributes[sc.AWS_BEDROCK_GUARDRAIL_ID] = guardrail
        _ENDPOINTS[kwargs["operation"]].request(kwargs, req, capture, limit)


def guardrail_id(params: Mapping[str, Any]) -> str | None:
    """The guardrail a request applies: `guardrailConfig.guardrailIdentifier` (Converse, ConverseStream) or
    `guardrailIdentifier` (InvokeModel, sent as a header). An ARN gives its last part, the id (no account number)."""
    config = params.get("guardrailConfig")
    ident = config.get("guardrailIdentifier") if isinstance(config, Mapping) else params.get("guardrailIdentifier")
    if not isinstance(ident, str) or not ident.strip():
        return None
    return ident.strip().rsplit("/", 1)[-1] if ident.startswith("arn:") else ident.strip()


class BedrockInstrumentor(ProviderInstrumentor):
    """Instruments botocore's `bedrock-runtime` client: `BedrockInstrumentor().instrument()` or auto."""

    provider_library = "botocore"
    instruments: ClassVar[tuple[str, ...]] = ("botocore >= 1.34.116, < 2",)
    targets: ClassVar[tuple[Target, ...]] = (Target("botocore.client", "BaseClient", "_make_api_call", Dispatch()),)

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        operation = args[0] if args else kwargs.get("operation_name")
        params = args[1] if len(args) > 1 else kwargs.get("api_params")
        return {"operation": operation, "params": params if isinstance(params, dict) else {}}

    def describe(self, instance: Any, kwargs: dict[str, Any], endpoint: Endpoint) -> GenAIRequest | None:
        operation = kwargs["operation"]
        if operation not in _ENDPOINTS:
            return None
        meta = instance.meta
        if meta.service_model.service_name != _SERVICE:
            return None
        self._remember_credentials(instance)
        host, port = _host_port(meta.endpoint_url or "")
        model = kwargs["params"].get("modelId")
        return GenAIRequest(
            operation="chat",
            provider=PROVIDER,
            model=model if isinstance(model, str) else None,
            server_address=host,
            server_port=port,
            stream=operation in _STREAM_KEYS,
        )

    def result(self, recorder: GenAIRecorder, endpoint: Endpoint, inv: Invocation, result: Any) -> Any:
        if not isinstance(result, dict):
            recorder.end(inv, None)
            return result
        capture, limit = recorder.capture_content, recorder.content_limit
        for key, op in (("stream", "ConverseStream"), ("body", "InvokeModelWithResponseStream")):
            stream = result.get(key)
            if stream is not None and isinstance(stream, self._event_stream):
                acc = _ENDPOINTS[op].accumulator(capture, limit)
                acc.request_id = request_id(result)  # type: ignore[attr-defined]
                result[key] = self._stream_proxy(stream, recorder, inv, acc)
                return result
        recorder.end(inv, self._response(result, capture, limit))
        return result

    def _response(self, result: dict[str, Any], capture: bool, limit: int) -> Any:
        """A whole answer: `InvokeModel`'s body (read here, and handed back readable) or `Converse`'s document."""
        chosen = _ENDPOINTS["InvokeModel" if "body" in result else "Converse"]
        return chosen.response(result, capture, limit)

    def prepare(self) -> None:
        from botocore.eventstream import EventStream  # type: ignore[import-untyped]

        self._event_stream: type = EventStream
        self._stream_proxy: type = SyncStreamProxy

    @staticmethod
    def _remember_credentials(client: Any) -> None:
        signer = getattr(client, "_request_signer", None)
        credentials = getattr(signer, "_credentials", None)
        if credentials is None:
            return
        remember(getattr(credentials, "access_key", None))
        remember(getattr(credentials, "secret_key", None))
        remember(getattr(credentials, "token", None))

