#!/usr/bin/env bash
# Draws the paper's model figures from a results folder written by `fortganguli reproduce`.
# Usage: scripts/figures.sh RESULTS_DIR
# Runs every notebooks-export/*.py (jupytext percent notebooks) with RESULTS=RESULTS_DIR;
# each writes PNG and PDF files into RESULTS_DIR/figures/.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: scripts/figures.sh RESULTS_DIR   (e.g. results/reproduce)" >&2
    exit 2
fi
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -d "$1" ] || { echo "figures.sh: no results folder $1" >&2; exit 2; }
RESULTS="$(cd "$1" && pwd)"

bash "$REPO/scripts/venv.sh"
PY="$REPO/.venv/bin/python"
mkdir -p "$RESULTS/figures"
STARTED="$(mktemp)"
trap 'rm -f "$STARTED"' EXIT

cd "$REPO"
failed=()
shopt -s nullglob
notebooks=(notebooks-export/[!_]*.py)
[ ${#notebooks[@]} -gt 0 ] || { echo "figures.sh: no notebooks-export/*.py" >&2; exit 1; }
for nb in "${notebooks[@]}"; do
    echo "== $nb"
    if ! RESULTS="$RESULTS" MPLBACKEND=Agg "$PY" "$nb"; then
        echo "figures.sh: $nb FAILED" >&2
        failed+=("$nb")
    fi
done

echo "figure files written:"
find "$RESULTS/figures" -type f -newer "$STARTED" | sort | sed 's/^/  /'
if [ ${#failed[@]} -gt 0 ]; then
    echo "figures.sh: ${#failed[@]} notebook(s) failed: ${failed[*]}" >&2
    exit 1
fi
