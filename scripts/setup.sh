#!/usr/bin/env bash
# One entry point for a fresh machine or an existing checkout:
#   bash scripts/setup.sh run    create/reuse .venv, install newpower (only what running needs), run the flagship
#   bash scripts/setup.sh test   create/reuse .venv, install newpower with test tools, run the checks and all tests
#   bash scripts/setup.sh ui     create/reuse .venv, install the teaching page, serve it (args go to newpower ui)
# Extra arguments after the sub-command go to `newpower run` or to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="$ROOT/.venv"
FLAGSHIP="scenarios/power_shift.toml"

find_python() {
    # Mesa 3.5 needs Python >= 3.12. Inside this folder pyenv honours .python-version.
    for candidate in python3 python3.13 python3.12 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "newpower needs Python >= 3.12 (Mesa 3.5 requires it); found: $(python3 --version 2>&1 || echo none)." >&2
    echo "Install Python 3.12+ (or 'pyenv install 3.12') and run this again." >&2
    return 1
}

ensure_venv() {
    # $1: the extras to install ("" = only what running needs; "viz" = the teaching page; "test").
    local extra="$1" spec="."
    [ -n "$extra" ] && spec=".[$extra]"
    if [ ! -x "$VENV/bin/python" ]; then
        local py; py=$(find_python)
        echo "==> creating $VENV with $($py --version)"
        "$py" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
    # Reinstall only when pyproject.toml changed or these extras were never installed with it.
    local hash; hash=$(sha1sum pyproject.toml | cut -c1-12)
    local stamp="$VENV/.newpower-installed-${extra:-core}-$hash"
    if [ ! -f "$stamp" ]; then
        echo "==> installing newpower$( [ -n "$extra" ] && echo "[$extra]") into $VENV"
        "$VENV/bin/python" -m pip install --quiet -e "$spec"
        find "$VENV" -maxdepth 1 -name ".newpower-installed-*" ! -name "*-$hash" -delete
        touch "$stamp"
        # a fuller install also provides what the lighter ones need
        [ "$extra" = "test" ] && touch "$VENV/.newpower-installed-viz-$hash" "$VENV/.newpower-installed-core-$hash"
        [ "$extra" = "viz" ] && touch "$VENV/.newpower-installed-core-$hash"
    fi
    return 0
}

cmd="${1:-run}"; shift || true
case "$cmd" in
    run)
        ensure_venv ""
        exec "$VENV/bin/newpower" run "$FLAGSHIP" "$@"
        ;;
    test)
        ensure_venv test
        bash scripts/install_browser.sh "$VENV"     # Chromium for tests/test_app.py (asks first; see the script)
        bash scripts/install_ui_assets.sh "$VENV"   # the teaching page's browser files, served locally
        bash scripts/check.sh "$VENV"               # lint, format, the layer contract, complexity
        # loadgroup: the browser tests (one xdist group) run on one worker, one after the other, so two
        # Chromiums and their servers never starve each other on a 2-core machine
        exec "$VENV/bin/python" -m pytest -n 2 --dist loadgroup "$@"
        ;;
    ui)
        ensure_venv viz
        bash scripts/install_ui_assets.sh "$VENV"
        exec "$VENV/bin/newpower" ui "$@"
        ;;
    *)
        echo "usage: bash scripts/setup.sh [run|test|ui] [args...]" >&2; exit 2 ;;
esac
