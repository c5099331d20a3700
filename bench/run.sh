#!/usr/bin/env bash
# Overhead benchmark: baseline vs otel_ai vs the official OpenTelemetry GenAI OpenAI instrumentation.
#
#   bench/run.sh            full run (about 6 min on a 2-core machine), writes bench/results/latest.json
#   bench/run.sh --quick    smoke run (~30 s), writes nothing
#   bench/run.sh --profile otel_ai   cProfile hot spots of one mode (non-streaming and 200-chunk stream)
#
# The benchmark has its own virtual env, bench/.venv (git-ignored): the official instrumentation
# registers an `openai` opentelemetry_instrumentor entry point, and installed in the project's
# .venv it would double-instrument the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=bench/.venv
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
# The `bench` extra pins opentelemetry-instrumentation-genai-openai==1.3b0 and
# opentelemetry-util-genai==1.3b0 (pip resolves them as they are; no extra pins needed).
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[bench]" 2>&1 \
    | grep -v "^WARNING: Location 'file:" || true
"$VENV/bin/python" -c "import openai, opentelemetry.instrumentation.genai.openai, otel_ai, psutil" 

# No network is used: the OpenAI client runs over an in-process mock transport.
exec "$VENV/bin/python" bench/overhead.py "$@"
