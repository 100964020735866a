#!/usr/bin/env bash
# Fig. 1 on Fashion-MNIST: q^SLSC, q^SL, q^DL for an MLP and a CNN, ReLU and tanh, at initialisation
# and after one epoch of SGD, each measured on the first 10 training examples of every class.
# Usage: scripts/q_table.sh [RESULTS_DIR]   (default results/q-table); prints a markdown table.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/results/q-table}"
bin="$root/.build/release/fortganguli"
[ -x "$bin" ] || (cd "$root" && swift build -c release >/dev/null)
mkdir -p "$out"
echo "| network | stage | loss | accuracy | q^SLSC | q^SL | q^DL |"
echo "|---|---|---|---|---|---|---|"
for arch in mlp cnn; do
  for act in relu tanh; do
    run="$out/$arch-$act"
    "$bin" train --arch "$arch" --activation "$act" --steps 469 --checkpoints 2 --eval-examples 1000 --output "$run" >/dev/null
    for step in 000000 000469; do
      m="$run/measure-$step"
      "$bin" measure --checkpoint "$run/step-$step.safetensors" --per-class 10 --top-k 1 \
        --density-probes 0 --output "$m" >/dev/null
      python3 - "$m/summary.json" "$arch-$act" "$step" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
stage = "initialisation" if sys.argv[3] == "000000" else "after 1 epoch"
print(f"| {sys.argv[2]} | {stage} | {s['loss']:.3f} | {s['accuracy']:.3f} | {s['q_slsc']:.3f} | {s['q_sl']:.3f} | {s['q_dl']:.4f} |")
PY
    done
  done
done
