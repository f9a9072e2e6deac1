#!/usr/bin/env bash
# One entry point for a fresh machine or an existing checkout:
#   bash scripts/setup.sh run    create/reuse .venv, install newpower, run the flagship scenario
#   bash scripts/setup.sh test   create/reuse .venv, install newpower with test tools, run all tests
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
    local extra="$1"
    if [ ! -x "$VENV/bin/python" ]; then
        local py; py=$(find_python)
        echo "==> creating $VENV with $($py --version)"
        "$py" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
    # Reinstall only when pyproject.toml (or the extras asked for) changed.
    local stamp="$VENV/.newpower-installed-$extra-$(sha1sum pyproject.toml | cut -c1-12)"
    if [ ! -f "$stamp" ]; then
        echo "==> installing newpower[$extra] into $VENV"
        "$VENV/bin/python" -m pip install --quiet -e ".[$extra]"
        rm -f "$VENV"/.newpower-installed-* && touch "$stamp"
    fi
}

cmd="${1:-run}"; shift || true
case "$cmd" in
    run)
        ensure_venv test
        exec "$VENV/bin/newpower" run "$FLAGSHIP" "$@"
        ;;
    test)
        ensure_venv test
        bash scripts/install_browser.sh "$VENV"     # Chromium (Debian package) for tests/test_app.py
        bash scripts/install_ui_assets.sh "$VENV"   # the teaching page's browser files, served locally
        exec "$VENV/bin/python" -m pytest -n 2 "$@"
        ;;
    ui)
        ensure_venv test
        bash scripts/install_ui_assets.sh "$VENV"
        exec "$VENV/bin/newpower" ui "$@"
        ;;
    *)
        echo "usage: bash scripts/setup.sh [run|test|ui] [args...]" >&2; exit 2 ;;
esac
