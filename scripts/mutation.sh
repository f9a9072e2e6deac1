#!/usr/bin/env bash
# Mutation testing of the rule, strategy and shock modules with cosmic-ray (not in CI).
#
#   bash scripts/mutation.sh [VENV] [MODULE ...]
#
# VENV defaults to .venv; MODULES default to sim/model/rules.py sim/model/strategies.py
# sim/model/shocks.py. cosmic-ray rewrites source files one mutation at a time, so the run
# happens in a throw-away copy of the committed tree (git archive HEAD), never in the working
# tree. The oracle is a fast behavioural subset of the suite (ORACLE below): rules, strategies,
# shocks and knock-outs, without the golden hashes (they would kill any change of numbers,
# which says nothing about behaviour) and without the slow recompilation and Watts tests.
# Each mutant of rules.py recompiles the Numba kernels (their cache is keyed on the rules'
# source). Run time, measured on the shared 2-core machine (load about 20): baseline oracle
# 105 s, then 43 sampled mutants in 21 minutes (about 30 s each; killed ones stop at the first
# failing test). The three modules hold about 2,400 mutants (after the filter below): a full
# run takes about 20 hours, so SAMPLE=N runs a seeded random sample of N (SAMPLE=100: about
# an hour). The session (SQLite) and a summary (kill rate over
# the mutants run, and every survivor with its diff) go to results/mutation/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-$ROOT/.venv}"
shift || true
MODULES=("${@:-sim/model/rules.py sim/model/strategies.py sim/model/shocks.py}")
MODULES=(${MODULES[@]})
SAMPLE="${SAMPLE:-0}"
ORACLE="tests/test_rules.py tests/test_strategies.py tests/test_shocks.py tests/test_knockouts.py tests/test_behaviour.py"
OUT="$ROOT/results/mutation"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git -C "$ROOT" archive HEAD | tar -x -C "$WORK"
cd "$WORK"
modules_toml=$(printf '"%s", ' "${MODULES[@]}")
cat > cosmic-ray.toml <<TOML
[cosmic-ray]
module-path = [${modules_toml%, }]
timeout = 300.0
excluded-modules = []
test-command = "env PYTHONPATH=$WORK $VENV/bin/python -m pytest -x -q -p no:cacheprovider -k 'not recompiles' $ORACLE"

[cosmic-ray.distributor]
name = "local"

# Arithmetic turned into bitwise or shift operators fails to compile on floats (Numba and NumPy
# refuse it), so those mutants die of a type error, not of a test: left out, not counted.
[cosmic-ray.filters.operators-filter]
exclude-operators = ["core/ReplaceBinaryOperator_(Add|Sub|Mul|Div|Pow)_(BitAnd|BitOr|BitXor|LShift|RShift)"]
TOML
start=$(date +%s)
"$VENV/bin/cosmic-ray" init cosmic-ray.toml session.sqlite
"$VENV/bin/cr-filter-operators" session.sqlite cosmic-ray.toml
"$VENV/bin/cr-filter-pragma" session.sqlite
"$VENV/bin/python" "$ROOT/scripts/mutation_tools.py" sample session.sqlite "$SAMPLE"
# the baseline must pass before any mutant is judged
env PYTHONPATH="$WORK" "$VENV/bin/python" -m pytest -x -q -p no:cacheprovider -k 'not recompiles' $ORACLE
"$VENV/bin/cosmic-ray" exec cosmic-ray.toml session.sqlite
cp session.sqlite "$OUT/session.sqlite"
elapsed=$(( $(date +%s) - start ))
"$VENV/bin/python" "$ROOT/scripts/mutation_tools.py" summary session.sqlite "$elapsed" | tee "$OUT/summary.txt"
