#!/usr/bin/env bash
# Arize Phoenix in a virtual env of its own (never the project's .venv: the app side needs none of its
# packages), cached under ~/.cache/otel-ai/phoenix-<version> so later runs reuse it. Prints the env's path.
# tests/test_phoenix.py starts `phoenix serve` from it and reads our spans back (docs/backends.md).
#   scripts/phoenix.sh                        # install once (~2.5 min, ~860 MB), then instant
#   OTEL_AI_PHOENIX_VENV=/elsewhere scripts/phoenix.sh
set -euo pipefail
PHOENIX_VERSION=20.26.1  # also PHOENIX_VERSION in tests/test_phoenix.py
DIR=${OTEL_AI_PHOENIX_VENV:-$HOME/.cache/otel-ai/phoenix-$PHOENIX_VERSION}
if [ ! -f "$DIR/.installed-$PHOENIX_VERSION" ]; then
  rm -rf "$DIR"
  started=$(date +%s)
  "${PYTHON:-python3}" -m venv "$DIR"
  if ! "$DIR/bin/python" -m pip install -q --disable-pip-version-check "arize-phoenix==$PHOENIX_VERSION" >&2; then
    rm -rf "$DIR"
    echo "scripts/phoenix.sh: installing arize-phoenix==$PHOENIX_VERSION failed" >&2
    exit 1
  fi
  touch "$DIR/.installed-$PHOENIX_VERSION"
  echo "arize-phoenix $PHOENIX_VERSION installed in $DIR in $(( $(date +%s) - started )) s" >&2
fi
echo "$DIR"
