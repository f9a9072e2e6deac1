#!/usr/bin/env bash
# Mutation testing of the rule, strategy and shock modules with cosmic-ray (not in CI).
#
#   bash scripts/mutation.sh [VENV] [MODULE[::FUNCTION][=N] ...]          # first run: a seeded sample
#   RERUN=1 bash scripts/mutation.sh [VENV] [MODULE[::FUNCTION][=N] ...]  # re-run that run's survivors
#
# VENV defaults to .venv. MODULE=N samples N mutants of MODULE (seeded: SEED, default 2014; N = 0
# or no =N: all of them); the default is the sample of docs/mutation.md:
#   sim/model/rules.py=60 sim/model/strategies.py=30 sim/model/shocks.py=30
# MODULE::FUNCTION keeps only the mutants inside that function (cosmic-ray's definition_name;
# a method is named without its class), reported as MODULE::FUNCTION: class mode's choice rule
# was run as (one spec per module and call)
#   bash scripts/mutation.sh .venv sim/model/choices.py sim/model/rules.py::chosen
# Each module's sample depends only on the seed and the module, not on which modules share a
# call. The modules of one call share a results folder, results/mutation/NAME (NAME: their file
# stems, with .FUNCTION if restricted, joined by "+"), so two calls with different modules can
# run at once; the default sample of docs/mutation.md was made with two (then the same two
# with RERUN=1):
#   bash scripts/mutation.sh .venv sim/model/rules.py=60 &
#   bash scripts/mutation.sh .venv sim/model/strategies.py=30 sim/model/shocks.py=30
# RERUN=1 re-runs only the survivors of that folder's first run (same source, same mutants),
# against the suite as it is now: it shows which new test kills each one. Every call ends by
# regenerating docs/mutation.md from all folders under results/mutation and
# scripts/mutation_equivalent.toml (the survivors judged equivalent, with the reason); results/
# is not in git, so the rows and survivors of modules with no folder there (a run made on
# another machine) are carried over from the report as it was.
#
# cosmic-ray rewrites source files one mutation at a time, so the run happens in a throw-away
# copy of the committed tree (git archive HEAD), never in the working tree: commit first.
#
# The oracle (ORACLE below, run with -x) is a fast behavioural subset of the suite: behaviour
# first (the patterns most mutants break), then rules, shocks, strategies and knock-outs,
# preceded by the module's own tests where OWN_TESTS names them (class mode: test_choices.py);
# not the golden hashes (they would kill any change of numbers, which says nothing about
# behaviour), the playbook verdicts or the stylized facts (minutes each), nor three slow
# structural tests (recompilation, the command line, the kernels' strategy names) that no
# mutant of these modules can fail. With every test passing it takes about 20 s CPU (warm
# Numba cache); a killed mutant stops at its first failing test.
#
# Stale compiled code cannot hide a mutant: kernels.py keys its Numba cache on a digest of
# rules.py's source (RULES_DIGEST), so each mutant of rules.py is compiled afresh into the
# throw-away copy's cache. Checked by hand with a known-killing mutant (fickleness adds
# commitment instead of fading it, in rules.renew): the cache gained new entries for it, it
# fails tests/test_behaviour.py (test_fickleness_fades_participation alone, or first
# test_taking_more_value_breeds_grievance_and_loses_members), and the original passes again.
#
# Run time, measured for docs/mutation.md on the 2-core machine shared with five other
# processes (load 8 to 50): the default sample of 120 mutants took 3,939 s wall summed over two
# calls side by side (rules: 2,127 s; strategies and shocks: 1,811 s) and 1,115 s CPU, about
# 9 s CPU a mutant; the re-runs of the 30 survivors took 803 s wall and 161 s CPU (rules, 10)
# and 675 s wall and 165 s CPU (strategies and shocks, 20). The three modules hold 1,737
# mutants (after the filter below): all of them would take about 4.5 hours CPU. Class mode's
# run (all 133 mutants of choices.py and the one of rules.chosen, one call on one core, the
# other core busy with benchmarks) took 542 s wall and 523 s CPU, about 4 s CPU a mutant (most
# die within seconds in test_choices.py, run first); the re-run of its 43 survivors 190 s wall
# and 199 s CPU. The measures' sample (metrics.py=60, its own tests first) and the re-run of its
# survivors (twice) took 317 s wall and 328 s CPU in all. VENV must be an absolute path (the run
# happens in a copy of the tree). Do not edit this script while a run is going: bash reads it as it goes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-$ROOT/.venv}"
shift || true
SPECS=("$@")
if [ ${#SPECS[@]} -eq 0 ]; then
    SPECS=(sim/model/rules.py=60 sim/model/strategies.py=30 sim/model/shocks.py=30)
fi
SEED="${SEED:-2014}"
ORACLE="tests/test_behaviour.py tests/test_rules.py tests/test_shocks.py tests/test_strategies.py tests/test_knockouts.py"
DESELECT="not recompiles and not test_the_command_line_adds_knockouts and not test_no_compiled_kernel_mentions"
# A module's own tests, run first in its calls (they kill its mutants soonest); the default
# sample's modules have none beyond ORACLE, so its oracle is as it was.
declare -A OWN_TESTS=(
    [sim/model/choices.py]=tests/test_choices.py
    [sim/model/rules.py::chosen]=tests/test_choices.py
    [sim/model/metrics.py]="tests/test_metrics.py tests/test_shock_control.py"
)
MODULES=()
NAME=""
FIRST=""
for spec in "${SPECS[@]}"; do
    where="${spec%%=*}"      # MODULE or MODULE::FUNCTION
    module="${where%%::*}"
    MODULES+=("$module")
    stem="$(basename "$module" .py)"
    [ "$where" = "$module" ] || stem="$stem.${where#*::}"
    NAME="${NAME:+$NAME+}$stem"
    own="${OWN_TESTS[$where]:-}"
    if [ -n "$own" ] && [[ " $FIRST " != *" $own "* ]]; then
        FIRST="${FIRST:+$FIRST }$own"
    fi
done
ORACLE="${FIRST:+$FIRST }$ORACLE"
OUT="$ROOT/results/mutation/$NAME"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git -C "$ROOT" archive HEAD | tar -x -C "$WORK"
cd "$WORK"
modules_toml=$(printf '"%s", ' "${MODULES[@]}")
cat > cosmic-ray.toml <<TOML
[cosmic-ray]
module-path = [${modules_toml%, }]
timeout = 180.0
excluded-modules = []
test-command = "env PYTHONPATH=$WORK $VENV/bin/python -m pytest -x -q -p no:cacheprovider -k '$DESELECT' $ORACLE"

[cosmic-ray.distributor]
name = "local"

# Arithmetic turned into bitwise or shift operators fails to compile on floats (Numba and NumPy
# refuse it), so those mutants die of a type error, not of a test: left out, not counted.
[cosmic-ray.filters.operators-filter]
exclude-operators = ["core/ReplaceBinaryOperator_(Add|Sub|Mul|Div|Pow)_(BitAnd|BitOr|BitXor|LShift|RShift)"]
TOML
"$VENV/bin/cosmic-ray" init cosmic-ray.toml session.sqlite
"$VENV/bin/cr-filter-operators" session.sqlite cosmic-ray.toml
"$VENV/bin/cr-filter-pragma" session.sqlite
if [ "${RERUN:-0}" = 1 ]; then
    SESSION=rerun
    "$VENV/bin/python" "$ROOT/scripts/mutation_tools.py" only-survivors session.sqlite "$OUT/session.sqlite"
else
    SESSION=session
    "$VENV/bin/python" "$ROOT/scripts/mutation_tools.py" sample session.sqlite "$SEED" "${SPECS[@]}"
    rm -f "$OUT/rerun.sqlite" "$OUT/times.txt"
    printf '%s\n' "${SPECS[@]}" > "$OUT/specs.txt"  # how the report names this run's modules
fi
# the baseline must pass before any mutant is judged
env PYTHONPATH="$WORK" "$VENV/bin/python" -m pytest -x -q -p no:cacheprovider -k "$DESELECT" $ORACLE
TIMEFORMAT="$SESSION %R %U %S"
{ time "$VENV/bin/cosmic-ray" exec cosmic-ray.toml session.sqlite 2> "$OUT/$SESSION.log"; } 2>> "$OUT/times.txt"
cp session.sqlite "$OUT/$SESSION.sqlite"
"$VENV/bin/python" "$ROOT/scripts/mutation_tools.py" summary "$OUT/$SESSION.sqlite" | tee "$OUT/$SESSION.txt"
cd "$ROOT"
"$VENV/bin/python" scripts/mutation_tools.py report docs/mutation.md scripts/mutation_equivalent.toml results/mutation/*/
