#!/usr/bin/env bash
# The whole test suite, from a fresh machine with only Python and pip:
# virtual env, the package with its test extras, Prometheus/promtool/Alertmanager and PostgreSQL from Debian when
# missing, Arize Phoenix in a cached env of its own (scripts/phoenix.sh), lint and type checks, then pytest.
# Extra arguments go to pytest.
#   OPENAI_SPEC='openai>=2,<3' VENV=.venv-openai2 scripts/test.sh   # run against another openai major
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/_venv.sh test
if [ -n "${OPENAI_SPEC:-}" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$OPENAI_SPEC"
fi

need_debian=()
command -v prometheus >/dev/null 2>&1 || need_debian+=(prometheus)
command -v promtool >/dev/null 2>&1 || need_debian+=(prometheus)
command -v amtool >/dev/null 2>&1 || need_debian+=(prometheus-alertmanager)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_debian+=(postgresql)  # otel-ai serve on PostgreSQL
command -v chromium >/dev/null 2>&1 || need_debian+=(chromium)  # the dashboard's browser tests
if [ ${#need_debian[@]} -gt 0 ]; then
  echo "installing from Debian: ${need_debian[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${need_debian[@]}" | sort -u) >/dev/null
fi

# Arize Phoenix for tests/test_phoenix.py: its own env, cached (~2.5 min the first time, then instant).
OTEL_AI_PHOENIX_VENV="$(bash scripts/phoenix.sh)"
export OTEL_AI_PHOENIX_VENV

echo "openai $("$VENV/bin/python" -c 'import openai; print(openai.__version__)')"
"$VENV/bin/ruff" check otel_ai tests examples bench
"$VENV/bin/mypy" otel_ai
# PostgreSQL, Chromium and Phoenix were installed above: their tests must run, not skip.
export OTEL_AI_REQUIRE_POSTGRES=1
export OTEL_AI_REQUIRE_BROWSER=1
export OTEL_AI_REQUIRE_PHOENIX=1
exec "$VENV/bin/python" -m pytest "$@"
