#!/usr/bin/env bash
# Creates (or repairs) the Python environment the figure notebooks use: $REPO/.venv with
# matplotlib, numpy and jupytext. Fast when already done: a stamp file records what was installed.
# Usage: scripts/venv.sh        (prints the venv's path on its last line)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
REQUIREMENTS="matplotlib numpy jupytext"
STAMP="$VENV/.installed"

venv_works() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

if venv_works && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$REQUIREMENTS" ] \
    && "$VENV/bin/python" -c 'import matplotlib, numpy, jupytext' >/dev/null 2>&1; then
    echo "venv: $VENV"
    exit 0
fi

make_venv() {
    rm -rf "$VENV"
    python3 -m venv "$VENV" >/dev/null 2>&1
}

if ! venv_works; then
    if ! make_venv; then
        # On Debian/Ubuntu, venv (ensurepip) comes in a separate package.
        echo "venv.sh: python3 -m venv failed; installing python3-venv" >&2
        if ! apt-get install -y -qq python3-venv >/dev/null 2>&1; then
            apt-get update -qq >/dev/null
            apt-get install -y -qq python3-venv >/dev/null
        fi
        make_venv || { echo "venv.sh: python3 -m venv still fails" >&2; python3 -m venv "$VENV"; exit 1; }
    fi
fi

rm -f "$STAMP"
# shellcheck disable=SC2086  # the requirement list is split on purpose
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $REQUIREMENTS
echo "$REQUIREMENTS" > "$STAMP"
echo "venv: $VENV"
