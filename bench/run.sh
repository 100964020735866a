#!/usr/bin/env bash
# `make bench`: times the release binary against the NumPy reference in one run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/venv.sh" >/dev/null
exec "$root/.venv/bin/python" "$root/bench/run.py" "$@"
