#!/usr/bin/env bash
# What otel_ai adds to an OpenAI call, against no instrumentation, the official instrumentation and the bare SDK floor.
#
#   bench/run.sh                     full run (~12 min on 2 cores): bench/results/{calls,probes}.json + report.md
#   bench/run.sh --quick             smoke run (~2 min): bench/results/quick/, figures too rough for verdicts
#   bench/run.sh --profile otel_ai   cProfile hot spots of one mode (plain call, 200-chunk stream)
#
# Own virtual env, bench/.venv (git-ignored): the official instrumentation registers an `openai`
# opentelemetry_instrumentor entry point, and in the project's .venv it would double-instrument the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[bench]" 2>&1 | grep -v "^WARNING: Location" || true
PY="$VENV/bin/python"

if [ "${1:-}" = "--profile" ]; then
    exec "$PY" bench/probes.py profile "${2:-otel_ai}"
fi
OUT=bench/results
ROUNDS=3 CALLS=(-p 4 -n 5)        # 3 rounds x 4 worker processes x 5 values per benchmark, modes interleaved
N_TAIL=5000 N_STUDY=5000 N_OBJECTS=2000 N_MEMORY=100000
if [ "${1:-}" = "--quick" ]; then
    OUT=bench/results/quick
    ROUNDS=2 CALLS=(-p 1 -n 3 --min-time 0.05)
    N_TAIL=1000 N_STUDY=1000 N_OBJECTS=500 N_MEMORY=3000
fi
mkdir -p "$OUT"
rm -f "$OUT/calls.json" "$OUT/probes.json"
# No network: the OpenAI client runs over an in-process mock transport. Timings first, one process at a time;
# pyperf runs one benchmark's processes back to back, so rounds (--append) spread each mode over the whole run.
for _ in $(seq "$ROUNDS"); do
    "$PY" bench/bench_calls.py --quiet "${CALLS[@]}" --append "$OUT/calls.json"
done
"$PY" bench/probes.py tail -n "$N_TAIL" -o "$OUT/probes.json"
"$PY" bench/probes.py study -n "$N_STUDY" -o "$OUT/probes.json"
"$PY" bench/probes.py objects -n "$N_OBJECTS" -o "$OUT/probes.json"
"$PY" bench/probes.py memory -n "$N_MEMORY" -o "$OUT/probes.json"
"$PY" bench/report.py "$OUT/calls.json" "$OUT/probes.json" | tee "$OUT/report.md"
