#!/usr/bin/env bash
# Static checks run before the tests (and so in CI): lint, formatting, the layer contract
# (import-linter, see [tool.importlinter] in pyproject.toml) and complexity (radon: no function
# rated worse than C).
#   bash scripts/check.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-$PWD/.venv}"
BIN="$VENV/bin"
echo "==> ruff check";        "$BIN/ruff" check -q sim tests benchmarks examples
echo "==> ruff format";       "$BIN/ruff" format --check -q sim tests benchmarks examples
echo "==> layer contract"
out=$("$BIN/lint-imports" --no-cache 2>&1) || { echo "$out" >&2; exit 1; }
echo "$out" | grep -E "^Contracts:"
complex=$("$BIN/radon" cc -s -n D sim)
if [ -n "$complex" ]; then
    echo "radon: functions rated worse than C (split them):" >&2
    echo "$complex" >&2
    exit 1
fi
echo "==> complexity: no function worse than C"
