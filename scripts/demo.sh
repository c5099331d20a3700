#!/usr/bin/env bash
# The main job: the example FastAPI app, instrumented with no code changes, offline against the local
# OpenAI-compatible simulator (or the real API when OPENAI_API_KEY is set) and the local ElevenLabs
# simulator for its text-to-speech call (or ElevenLabs when ELEVENLABS_API_KEY is set), one console
# line per call: chat, stream, embeddings and speech.
# Set OTEL_EXPORTER_OTLP_ENDPOINT to also send metrics and logs to a collector.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/_venv.sh examples

export OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-otel-ai-example}
if [ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  export OTEL_METRICS_EXPORTER=${OTEL_METRICS_EXPORTER:-none}
  export OTEL_LOGS_EXPORTER=${OTEL_LOGS_EXPORTER:-none}
fi
exec "$VENV/bin/otel-ai" run --console -- "$VENV/bin/python" examples/app.py "$@"
