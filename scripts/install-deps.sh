#!/usr/bin/env bash
# Installs the Debian packages the build needs, only those missing: OpenBLAS (CBLAS + LAPACK),
# LAPACKE, GSL and pkg-config. Idempotent; a no-op on a machine that has them.
set -euo pipefail
packages=(libgsl-dev liblapacke-dev libopenblas-dev pkg-config zlib1g-dev dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift is not on PATH; install Swift 6 (swift.org) first" >&2; exit 1; }
