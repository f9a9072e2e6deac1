#!/usr/bin/env bash
# A real browser for the teaching page's tests (tests/test_app.py), without downloading one:
#   - Chromium and its driver from the Debian packages (/usr/bin/chromium), when missing;
#   - the Playwright client library into the virtual environment, when missing.
# Never runs `playwright install` (it downloads a browser build from a CDN). Idempotent: a second
# run only checks and returns in well under a second.
#
# It says what it will install before doing it, and installs system packages only when allowed:
#   - NEWPOWER_CHROMIUM=/path/to/chromium   use a browser you already have (nothing installed);
#   - NEWPOWER_INSTALL_BROWSER=1 (or CI=true) install without asking;
#   - NEWPOWER_INSTALL_BROWSER=0             never install: the browser tests skip, saying why;
#   - otherwise it asks on a terminal, and installs nothing when there is no terminal to ask.
#
#   bash scripts/install_browser.sh [VENV]     (default VENV: .venv at the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-$PWD/.venv}"
CHROMIUM="${NEWPOWER_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "==> browser: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") (already installed)"
elif command -v apt-get >/dev/null 2>&1; then
    echo "==> the teaching page's browser tests need Chromium; not found at $CHROMIUM."
    echo "    To install: Debian packages chromium, chromium-driver, fonts-dejavu-core (about 300 MB) with apt-get."
    echo "    (Set NEWPOWER_CHROMIUM to use a browser you have, or NEWPOWER_INSTALL_BROWSER=0 to skip those tests.)"
    answer="${NEWPOWER_INSTALL_BROWSER:-}"
    [ -z "$answer" ] && [ "${CI:-}" = "true" ] && answer=1
    if [ -z "$answer" ] && [ -t 0 ]; then
        read -r -p "    Install them now? [y/N] " reply
        case "$reply" in [yY]*) answer=1 ;; *) answer=0 ;; esac
    fi
    if [ "${answer:-0}" != "1" ]; then
        echo "==> not installing a browser: the browser tests (tests/test_app.py) will be skipped."
        exit 0
    fi
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
    echo "install_browser: no $CHROMIUM and no apt-get on this machine; the browser tests will be skipped." >&2
    echo "Install Chromium with your package manager and set NEWPOWER_CHROMIUM to its path to run them." >&2
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
