#!/usr/bin/env bash
# Executes every notebook in notebooks-export/ on tiny data made by the tool (a seconds-long model
# reproduce and a few-step real-network pipeline), so a figure that breaks fails the test suite.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
swift build -c release >/dev/null
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bin=.build/release/fortganguli
"$bin" reproduce --output "$tmp" --seeds 1 --points 3 --sweep-seeds 1 --phase-points 2 >/dev/null
scripts/reproduce-real.sh "$tmp" --tiny >/dev/null
scripts/figures.sh "$tmp" >/dev/null
expected=$(ls notebooks-export/[!_]*.py | wc -l)
made=$(ls "$tmp"/figures/*.png | wc -l)
if [ "$made" -ne "$expected" ]; then echo "notebooks: $made of $expected figures made" >&2; exit 1; fi
echo "notebooks: all $expected executed on tiny data and wrote their figures"
