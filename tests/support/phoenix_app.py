"""A small instrumented app for tests/test_phoenix.py: run under `opentelemetry-instrument`, OTLP/HTTP to Phoenix.

Two chat calls with the real openai client against the simulator (base URL in argv[1]): one to a model
both otel-ai's catalog and Phoenix's price table know (`gpt-4o-mini`), one to a model only our pricing
file prices (`acme-internal-1`, OTEL_AI_PRICING_FILE). It needs none of Phoenix's packages: the agent's
own OTLP exporter sends the spans. Prints one JSON line per call: the model and the usage the client got.
"""

from __future__ import annotations

import json
import sys

import openai


def main() -> int:
    base_url = sys.argv[1]
    with openai.OpenAI(base_url=base_url, api_key="sk-test-phoenix-app", max_retries=0) as client:
        for model in ("gpt-4o-mini", "acme-internal-1"):
            completion = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Say hello to Phoenix please"}])
            usage = completion.usage
            assert usage is not None
            print(json.dumps({"model": completion.model, "prompt_tokens": usage.prompt_tokens,
                              "completion_tokens": usage.completion_tokens}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
