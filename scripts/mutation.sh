#!/usr/bin/env bash
# Mutation testing (mutmut, pinned in the `mutation` extra) over the recorder, the stream proxies,
# pricing and redaction; prints killed / survived / total per module. Slow, so not part of CI.
#
#   scripts/mutation.sh                     # every scoped module, one mutmut run per module
#   scripts/mutation.sh pricing streams     # only these (names below, or a dotted module path)
#   scripts/mutation.sh --fresh recorder    # throw away mutants/ (cached results) first
#   scripts/mutation.sh --summary           # no run: the figures of the last runs
#
# Modules: recorder sums classify (genai = these three), streams, catalog cost (pricing = both),
#          patterns validators custom redactor scan structure exporters secrets current urls
#          (privacy = the whole otel_ai/privacy package).
# Settings: [tool.mutmut] in pyproject.toml (what is mutated, which tests run). Environment:
#   MUTATION_JOBS=2          worker processes (default 2)
#   MUTATION_SKIP_INSTALL=1  do not (re)install the package with the `test,mutation` extras
# Afterwards: `.venv/bin/mutmut results` lists the surviving mutants, `.venv/bin/mutmut show NAME`
# shows one as a diff. See docs/mutation.md.
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=0
summary_only=0
names=()
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=1 ;;
    --summary) summary_only=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) names+=("$arg") ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(genai streams pricing privacy)

modules=()
for name in "${names[@]}"; do
  case "$name" in
    genai) modules+=(otel_ai.genai.recorder otel_ai.genai.sums otel_ai.genai.classify) ;;
    recorder|sums|classify) modules+=("otel_ai.genai.$name") ;;
    streams) modules+=(otel_ai.genai.streams) ;;
    pricing) modules+=(otel_ai.pricing.catalog otel_ai.pricing.cost) ;;
    catalog|cost) modules+=("otel_ai.pricing.$name") ;;
    privacy) modules+=(otel_ai.privacy) ;;
    patterns|validators|custom|redactor|scan|structure|exporters|secrets|current|urls) modules+=("otel_ai.privacy.$name") ;;
    otel_ai.*) modules+=("$name") ;;
    *) echo "unknown module '$name' (see: scripts/mutation.sh --help)" >&2; exit 2 ;;
  esac
done

VENV=${VENV:-.venv}
if [ "$summary_only" = 0 ]; then
  if [ "${MUTATION_SKIP_INSTALL:-0}" != 1 ]; then
    . scripts/_venv.sh "test,mutation"
  fi
  [ "$fresh" = 0 ] || rm -rf mutants
  jobs=${MUTATION_JOBS:-2}
  mkdir -p mutants
  for module in "${modules[@]}"; do
    echo "== mutmut: $module (${jobs} workers)"
    start=$(date +%s)
    # Naming the mutants makes mutmut test them again even when it has a cached result.
    "$VENV/bin/mutmut" run --max-children "$jobs" "$module.*" >"mutants/run-$module.log" 2>&1 || {
      tail -n 40 "mutants/run-$module.log" >&2
      echo "mutmut failed on $module; full output in mutants/run-$module.log" >&2
      exit 1
    }
    echo "   $(( $(date +%s) - start ))s (log: mutants/run-$module.log)"
  done
fi

if [ "$summary_only" = 1 ] && { [ ! -d mutants ] || [ ! -x "$VENV/bin/mutmut" ]; }; then
  echo "no mutation results yet: run scripts/mutation.sh (all modules) or scripts/mutation.sh MODULE first"
  exit 0
fi
"$VENV/bin/mutmut" results --all true >mutants/results.txt
"$VENV/bin/python" - mutants/results.txt "${modules[@]}" <<'PY'
import collections
import re
import sys

results, wanted = sys.argv[1], sys.argv[2:]
counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
left = collections.defaultdict(list)
with open(results, encoding="utf-8") as lines:
    for line in lines:
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = re.split(r"\.x[_\u01c1]", name, maxsplit=1)[0]
        if any(module == w or module.startswith(w + ".") for w in wanted):
            counts[module][status] += 1
            if status != "killed":
                left[module].append(f"{name}: {status}")


def row(label: str, c: collections.Counter[str]) -> None:
    n = sum(c.values())
    other = n - c["killed"] - c["timeout"] - c["survived"] - c["no tests"]
    print(f"{label:28} {c['killed']:>6} {c['timeout']:>7} {c['survived']:>8} {c['no tests']:>8} {other:>5} {n:>5}"
          f"  {c['killed']}/{n} = {100 * c['killed'] / n:.1f}%")


print(f"{'module':28} {'killed':>6} {'timeout':>7} {'survived':>8} {'no tests':>8} {'other':>5} {'total':>5}  killed/total")
total: collections.Counter[str] = collections.Counter()
for module in sorted(counts):
    total.update(counts[module])
    row(module + (".__init__" if module == "otel_ai.privacy" else ""), counts[module])
if total:
    row("total", total)
else:
    print("no results yet for", " ".join(wanted))
print("(timeout: the mutant made the tests hang, so it was caught; other: not checked, suspicious, ...)")
for module in sorted(left):
    print(f"\nnot killed in {module} (inspect with: .venv/bin/mutmut show NAME):")
    for entry in left[module]:
        print("   ", entry)
PY
