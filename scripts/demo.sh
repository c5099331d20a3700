#!/usr/bin/env bash
# The main job: `otel-ai serve` (local mode) on a fresh store, then the example FastAPI app,
# instrumented with no code changes, offline against the local OpenAI-compatible simulator (or the
# real API when OPENAI_API_KEY is set) and the local ElevenLabs simulator for its text-to-speech call
# (or ElevenLabs when ELEVENLABS_API_KEY is set). One console line per call (chat, stream,
# embeddings, speech) while the spans and logs go to `otel-ai serve`; then the summary report from
# its store, the demo budgets' status and the URL of its API. The app also runs /digest, a workflow
# with tasks whose calls roll up into it, under two alert budgets (OTEL_AI_BUDGETS, read by the app
# and by otel-ai serve). A budget crossing is printed as it happens (the console stands in for a
# notifier when none is set). Then /agent: a LangGraph agent with one tool (get_weather), two turns of one
# conversation (user alice), the first answer scored by a deterministic check (`otel_ai.evaluate`); the
# conversations and evaluations reports from the store follow the summary.
# From a terminal (stdin and stdout a tty, CI not "true") otel-ai serve then keeps serving, so the
# dashboard URL printed works, until Ctrl-C; otherwise (CI, a pipe, a file) the demo exits.
#   DEMO_KEEP_SERVING=1 scripts/demo.sh   # keep serving even without a terminal (Ctrl-C or SIGTERM stops it)
#   DEMO_KEEP_SERVING=0 scripts/demo.sh   # exit at the end even in a terminal
#   DEMO_SKIP_INSTALL=1 scripts/demo.sh   # use $VENV (default .venv) as it is (the tests do)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${DEMO_SKIP_INSTALL:-}" = 1 ] && [ -x "${VENV:-.venv}/bin/otel-ai" ]; then
  VENV=${VENV:-.venv}
else
  . scripts/_venv.sh examples,serve
fi

case "${DEMO_KEEP_SERVING:-}" in
  1) KEEP_SERVING=1 ;;
  0) KEEP_SERVING=0 ;;
  *) if [ -t 0 ] && [ -t 1 ] && [ "${CI:-}" != true ]; then KEEP_SERVING=1; else KEEP_SERVING=0; fi ;;
esac

WORK=$(mktemp -d)
DB="$WORK/otel-ai.db"
SERVE_PID=""
cleanup() {
  if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo; echo "stopping otel-ai serve"; exit 130' INT
trap 'exit 143' TERM

# Two alert budgets, read by the app (in-process spend, notifications) and by otel-ai serve (status).
export OTEL_AI_BUDGETS=${OTEL_AI_BUDGETS:-'[{"name": "demo-daily", "period": "day", "limit_usd": 0.001, "warn_at": [0.5, 0.8], "action": "alert"}, {"name": "research-daily", "scope": {"task_type": "research"}, "period": "day", "limit_usd": 0.01, "action": "alert"}]'}

# Free ports (port 0 everywhere) so the demo never collides with a collector or another server.
"$VENV/bin/otel-ai" serve --port 0 --otlp-http-port 0 --otlp-grpc-port 0 --db "$DB" > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do
  grep -q "OTLP/HTTP" "$WORK/serve.log" 2>/dev/null && break
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
  sleep 0.1
done
cat "$WORK/serve.log"
API=$(grep -o 'API http://[^ ]*' "$WORK/serve.log" | head -1 | cut -d' ' -f2)
OTLP=$(grep -o 'OTLP/HTTP http://[^ ]*' "$WORK/serve.log" | head -1 | cut -d' ' -f2)

export OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-otel-ai-example}
export OTEL_EXPORTER_OTLP_ENDPOINT=${OTEL_EXPORTER_OTLP_ENDPOINT:-$OTLP}
export OTEL_TRACES_EXPORTER=${OTEL_TRACES_EXPORTER:-otel_ai_console,otlp}
export OTEL_METRICS_EXPORTER=${OTEL_METRICS_EXPORTER:-none}  # local mode stores spans and logs
export OTEL_LOGS_EXPORTER=${OTEL_LOGS_EXPORTER:-otlp}
"$VENV/bin/otel-ai" run -- "$VENV/bin/python" examples/app.py --units --providers --agent "$@"

echo
"$VENV/bin/otel-ai" report summary --db "$DB"
echo
"$VENV/bin/otel-ai" report conversations --db "$DB"
echo
"$VENV/bin/otel-ai" report evals --db "$DB"
echo
"$VENV/bin/python" - "$API" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/api/v1/budgets", timeout=10) as answer:
    for b in json.load(answer)["budgets"]:
        print(f"budget {b['name']:<14} {b['period']:<5} spent ${b['spent_usd']:.6f} of ${b['limit_usd']:g} "
              f"({b['fraction']:.0%})  {b['status']}")
PY
echo
echo "otel-ai serve: dashboard $API/  API $API/api/v1/summary  (OpenAPI: $API/openapi.json)"
if [ "$KEEP_SERVING" = 1 ]; then
  echo "otel-ai serve keeps serving that dashboard until you press Ctrl-C (the demo store $DB goes with it)"
  wait "$SERVE_PID"
else
  echo "stopping otel-ai serve (no terminal or CI=true; DEMO_KEEP_SERVING=1 keeps it serving)"
fi
