#!/usr/bin/env bash
# A real browser for the teaching page's tests (tests/test_app.py), without downloading one:
#   - Chromium and its driver from the Debian packages (/usr/bin/chromium), when missing;
#   - the Playwright client library into the virtual environment, when missing.
# Never runs `playwright install` (it downloads a browser build from a CDN). Idempotent: a second
# run only checks and returns in well under a second.
#
#   bash scripts/install_browser.sh [VENV]     (default VENV: .venv at the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-$PWD/.venv}"
CHROMIUM="${NEWPOWER_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "==> browser: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") (already installed)"
elif command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
            echo "install_browser: need root (or sudo) to apt-get install chromium" >&2; exit 1
        fi
    fi
    echo "==> installing chromium and chromium-driver (Debian packages)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core >/dev/null
    echo "==> browser: $("$CHROMIUM" --version)"
else
    echo "install_browser: no $CHROMIUM and no apt-get on this machine." >&2
    echo "Install Chromium with your package manager and set NEWPOWER_CHROMIUM to its path." >&2
    exit 1
fi

if [ -x "$VENV/bin/python" ]; then
    if ! "$VENV/bin/python" -c "import playwright.sync_api" 2>/dev/null; then
        echo "==> installing the Playwright client library into $VENV (no browser download)"
        "$VENV/bin/python" -m pip install --quiet "playwright>=1.45"
    fi
else
    echo "install_browser: no virtual environment at $VENV (run scripts/setup.sh first)" >&2
    exit 1
fi
