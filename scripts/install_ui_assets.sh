#!/usr/bin/env bash
# The teaching page's browser assets, served locally so the page works with no internet.
#
# Solara loads its JavaScript and CSS from a public CDN unless they are in
# <venv>/share/solara/cdn/<package>@<version>/ (its proxy cache). This fills that folder from
# the npm registry with exactly the packages the page (sim/faces/teaching/app.py) asks for: the Solara app
# shell, the grid layout SolaraViz uses, RequireJS and Font Awesome (about 70 MB). The versions
# are read from the installed Solara (sim.faces.cli.ui.required_assets). The page draws its figures
# with matplotlib and its notice as HTML, so no Vega/Altair, KaTeX or Mermaid files are needed.
#
# Idempotent: a package whose folder carries a ".newpower-complete" stamp is skipped, so a
# second run only checks and takes well under a second.
#
#   bash scripts/install_ui_assets.sh [VENV]     (default VENV: .venv at the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-$PWD/.venv}"
REGISTRY="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}"
REGISTRY="${REGISTRY%/}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "install_ui_assets: no virtual environment at $VENV (run scripts/setup.sh first)" >&2
    exit 1
fi
CDN=$("$VENV/bin/python" -c 'import solara.server.settings as s; print(s.assets.proxy_cache_dir)' 2>/dev/null) || {
    echo "install_ui_assets: Solara is not installed in $VENV (pip install -e '.[viz]')" >&2
    exit 1
}
# package@version, as the installed Solara requests them.
mapfile -t PACKAGES < <("$VENV/bin/python" -c 'from sim.faces.cli.ui import required_assets; print("\n".join(required_assets()))')

fetch() {  # fetch NAME VERSION FILE: download the package tarball from the npm registry
    local name="$1" version="$2" out="$3"
    if command -v npm >/dev/null 2>&1; then
        local dir; dir=$(mktemp -d)
        (cd "$dir" && npm pack --silent --registry "$REGISTRY/" "$name@$version" >/dev/null 2>&1) &&
            mv "$dir"/*.tgz "$out" && rm -rf "$dir" && return 0
        rm -rf "$dir"
    fi
    # Without npm: the registry's tarball address (https://registry.npmjs.org/NAME/-/BASE-VERSION.tgz).
    local url="$REGISTRY/$name/-/${name##*/}-$version.tgz"
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$out" "$url"
    else
        "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
            "$url" "$out"
    fi
}

installed=0
for spec in "${PACKAGES[@]}"; do
    name="${spec%@*}"; version="${spec##*@}"
    target="$CDN/$name@$version"
    if [ -f "$target/.newpower-complete" ]; then
        continue
    fi
    echo "==> $name@$version -> $target"
    tmp=$(mktemp -d)
    fetch "$name" "$version" "$tmp/package.tgz" || {
        echo "install_ui_assets: could not download $name@$version from $REGISTRY" >&2
        rm -rf "$tmp"; exit 1
    }
    mkdir -p "$tmp/unpacked"
    tar -xzf "$tmp/package.tgz" -C "$tmp/unpacked"
    rm -rf "$target" && mkdir -p "$(dirname "$target")"
    mv "$tmp/unpacked/package" "$target"   # npm tarballs hold one folder called package/
    touch "$target/.newpower-complete"
    rm -rf "$tmp"
    installed=$((installed + 1))
done
if [ "$installed" -eq 0 ]; then
    echo "==> teaching page assets: already in $CDN"
else
    echo "==> teaching page assets: $installed package(s) added to $CDN ($(du -sh "$CDN" | cut -f1))"
fi
