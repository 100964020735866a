#!/usr/bin/env bash
# The real-network half of `make reproduce`: train, measure, trajectory, scale sweep, comparison with
# the calibrated model, the 3-class simplex run and Fig. 1's q statistics, into RESULTS/real.
# Usage: scripts/reproduce-real.sh RESULTS [--full|--tiny]   (--full: longer training, more examples;
# --tiny: a few steps on a few examples, for the notebook test).
# Every step resumes or is skipped when its output exists, so an interrupted run loses nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: scripts/reproduce-real.sh RESULTS [--full|--tiny]}/real"
mode="${2:-}"   # read once: the Fig. 1 loop below reuses the positional parameters
bin="$root/.build/release/fortganguli"
steps=469; per=30; small=8; qsteps=60; sweep=5; probes=2; planes=8; seeds=5
if [ "$mode" = "--full" ]; then steps=4690; per=50; small=30; qsteps=2000; sweep=13; probes=10; fi
if [ "$mode" = "--tiny" ]; then steps=2; per=3; small=2; qsteps=3; sweep=2; probes=1; planes=2; seeds=2; fi
checkpoints=$(( steps + 1 < 8 ? steps + 1 : 8 ))   # train takes at most one checkpoint a step
topk=10; data=fashion-mnist; batch=128
# The tiny run reads the 300-image fixture (its train split is the same images) instead of all 60 000.
if [ "$mode" = "--tiny" ]; then topk=2; batch=16; data="$root/fixtures/fashion-mnist-small"; fi
mkdir -p "$out"
once() { local marker="$1"; shift; [ -e "$marker" ] || "$@"; }

echo "== real networks: $out"
run="$out/mlp-relu"
"$bin" train --data "$data" --batch-size "$batch" --arch mlp --activation relu --steps "$steps" --checkpoints "$checkpoints" --eval-examples 2000 --output "$run"
last=$(ls "$run"/step-*.safetensors | tail -1)
once "$out/measure/summary.json" "$bin" measure --data "$data" --checkpoint "$last" --per-class "$per" --top-k "$topk" --density-probes "$probes" --output "$out/measure"
once "$out/measure-init/summary.json" "$bin" measure --data "$data" --checkpoint "$run/step-000000.safetensors" --per-class "$per" --top-k 3 \
  --density-probes "$probes" --output "$out/measure-init"
"$bin" trajectory --data "$data" --run "$run" --per-class "$small" --top-k 1 --hyperplanes "$planes"
"$bin" scale-sweep --data "$data" --per-class "$small" --top-k 1 --hyperplanes "$planes" --points "$sweep" --output "$out/scale-sweep"
once "$out/compare/compare.json" "$bin" compare --data "$data" --checkpoint "$last" --per-class "$per" --top-k "$topk" \
  --hyperplanes "$planes" --model-seeds "$seeds" --output "$out/compare"
# The run's trajectory uses 3 model seeds and 4 hyperplanes a checkpoint (5 and 8 with --full) to keep make
# reproduce under 10 minutes.
runseeds=3; runplanes=4; [ "$mode" = "--full" ] && runseeds=5 && runplanes=8; [ "$mode" = "--tiny" ] && runseeds=2 && runplanes=2
"$bin" compare --data "$data" --run "$run" --per-class "$small" --top-k 1 --hyperplanes "$runplanes" --model-seeds "$runseeds" --output "$out/compare-run"

# Fig. 3a: probabilities of a 3-class network moving into the simplex's corners during training.
simplex="$out/simplex-3class"
"$bin" train --data "$data" --batch-size "$batch" --class-subset 0,1,2 --widths 784,256,256,3 --steps "$qsteps" --checkpoints 4 --eval-examples 1000 --output "$simplex"
for ckpt in "$simplex"/step-*.safetensors; do
  step=$(basename "$ckpt" .safetensors)
  once "$simplex/measure-$step/probabilities.csv" "$bin" measure --data "$data" --checkpoint "$ckpt" --class-subset 0,1,2 --per-class "$((small * 8))" \
    --skip-hessian --output "$simplex/measure-$step" >/dev/null
done

# The Goldilocks zone (issue 10): restricted curvature and training inside random hyperplanes at radii
# around r₀, the step-0 weight norm of the run above (the same 784-256-256-10 initialisation).
# Normal: r₀/2 … 4r₀ in 4 points (×2 apart, r₀ on the grid), R = 2; Adam in every subspace for 25 steps.
gpoints=4; glow=2; ghigh=4; gplanes=2; gper=3; gdims=10,100; gtrain=10,100; gsteps=25
if [ "$mode" = "--full" ]; then gpoints=9; glow=4; gplanes=8; gper=8; gtrain=10,100,1000; gsteps=469; fi
if [ "$mode" = "--tiny" ]; then gpoints=2; gper=2; gdims=2,5; gtrain=2; gsteps=2; fi
r0=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="weight_norm") c=i} NR==2{print $c}' "$run/log.csv")
"$bin" goldilocks --data "$data" --arch mlp --widths 784,256,256,10 --per-class "$gper" \
  --radius-min "$(awk -v r="$r0" -v k="$glow" 'BEGIN{printf "%.10g", r/k}')" \
  --radius-max "$(awk -v r="$r0" -v k="$ghigh" 'BEGIN{printf "%.10g", r*k}')" --points "$gpoints" \
  --dimensions "$gdims" --hyperplanes "$gplanes" --train --train-dimensions "$gtrain" --steps "$gsteps" \
  --batch-size "$batch" --optimizer adam --learning-rate 0.01 --output "$out/goldilocks"

# The embedding principle (issue 12, Zhang et al. 2021), on the 1-D fitting set (tanh, mse):
# the width-1 minimum by full-batch gradient descent + Newton, its 1-, 2- and 3-step splitting
# embeddings and their Hessian counts; a wide two-layer net from a small initialisation with its
# effective width along training (seed 2: its width-1 plateau ends within the normal budget; --full
# adds seeds 0, 1, 3 and runs four times longer); a Fashion-MNIST critical point and one embedding.
emb="$out/embedding"
csteps=40000; cevery=500; cwidth=100; cseeds=2; fper=30; fsteps=3000; fnewton=0; fspectrum=""
if [ "$mode" = "--full" ]; then csteps=160000; cevery=1000; cseeds="0 1 2 3"; fper=100; fsteps=20000; fnewton=5; fspectrum=--spectrum; fi
if [ "$mode" = "--tiny" ]; then csteps=2000; cevery=200; cwidth=20; fper=5; fsteps=20; fi
mkdir -p "$emb"
once "$emb/critical/summary.json" "$bin" critical --data fit1d --widths 1,1,1 --activation tanh --loss mse --output "$emb/critical" >/dev/null
steps_list=("--neuron 1:0" "--neuron 1:0 --neuron 1:1" "--neuron 1:0 --neuron 1:1 --neuron 1:0")
for k in 1 2 3; do
  # shellcheck disable=SC2086  # the --neuron flags are split on purpose
  once "$emb/wide-$k.safetensors" "$bin" embed --checkpoint "$emb/critical/critical.safetensors" ${steps_list[$((k - 1))]} --alpha 0.3 \
    --output "$emb/wide-$k.safetensors" >/dev/null
  once "$emb/check-$k/summary.json" "$bin" embed --check "$emb/critical/critical.safetensors" --against "$emb/wide-$k.safetensors" \
    --spectrum --output "$emb/check-$k"
done
for seed in $cseeds; do
  "$bin" condense --data fit1d --width "$cwidth" --init-std 1e-3 --learning-rate 0.2 --steps "$csteps" --record-every "$cevery" \
    --seed "$seed" --output "$emb/condense-seed$seed"
done
fdata=fashion-mnist; [ "$mode" = "--tiny" ] && fdata="$data"
once "$emb/fmnist-critical/summary.json" "$bin" critical --data "$fdata" --class-subset 0,1,2 --per-class "$fper" --widths 784,2,3 \
  --loss mse --learning-rate 0.05 --steps "$fsteps" --newton-steps "$fnewton" --output "$emb/fmnist-critical"
once "$emb/fmnist-wide.safetensors" "$bin" embed --checkpoint "$emb/fmnist-critical/critical.safetensors" --neuron 1:0 --alpha 0.3 \
  --output "$emb/fmnist-wide.safetensors" >/dev/null
once "$emb/fmnist-check/summary.json" "$bin" embed --check "$emb/fmnist-critical/critical.safetensors" --against "$emb/fmnist-wide.safetensors" \
  $fspectrum --output "$emb/fmnist-check"
# The jamming transition (issue 11, Geiger et al. 2018): hinge-loss ReLU networks trained with full-batch
# Adam on P = r·N patterns over a grid of r; random data at depths L = 2 and 3 (d = h = 10: N = 211, 311) and
# Fashion-MNIST on d = 10 whitened principal components (parity labels), then the spectra of H, H₀ and
# H_p and every Δ at the run nearest r_c from above. Normal: 2000 steps a run, 6 r points, 2 seeds
# (about 20 s on 2 cores); --full: N ≈ 450–620, 7 points, 3 seeds, 20000 steps; --tiny: 200 steps on tiny networks.
jam="$out/jamming"
jsteps=2000; jpoints=6; jseeds=2; jrand2="10 10"; jrand3="10 10"; jfash="10 10"; jrmax=3.5; jfmax=6
jfdata=fashion-mnist-pca
jmode="${mode:-${2:-}}"   # the mode, read without touching the positional parameters
if [ "$jmode" = "--full" ]; then jsteps=20000; jpoints=7; jseeds=3; jrand2="15 15"; jrand3="12 12"; jfash="10 20"; jrmax=4; jfmax=8; fi
if [ "$jmode" = "--tiny" ]; then jsteps=200; jpoints=3; jrand2="6 8"; jrand3="5 6"; jfash="5 6"; jrmax=3; jfmax=3
  jfdata="fashion-mnist-pca:$root/fixtures/fashion-mnist-small"; fi
jamming() {  # NAME DATA "D H" L R_MAX
  local d h ck
  read -r d h <<< "$3"
  "$bin" jamming --data "$2" --input-dimension "$d" --width "$h" --depth "$4" --r-min 1 --r-max "$5" --points "$jpoints" \
    --seeds "$jseeds" --steps "$jsteps" --output "$jam/$1"
  ck=$(sed -n 's/.*"spectrum_checkpoint": "\([^"]*\)".*/\1/p' "$jam/$1/summary.json")
  if [ -n "$ck" ]; then once "$jam/$1-spectrum/summary.json" "$bin" jamming-spectrum --checkpoint "$jam/$1/$ck" --output "$jam/$1-spectrum"; fi
}
jamming random-L2 random "$jrand2" 2 "$jrmax"
jamming random-L3 random "$jrand3" 3 "$jrmax"
jamming fashion-pca-L2 "$jfdata" "$jfash" 2 "$jfmax"

# Fig. 1: q statistics over data sets, architectures, nonlinearities and training stages.
for spec in "fashion-mnist mlp" "fashion-mnist cnn" "sphere mlp" "mixture mlp"; do
  read -r dataset arch <<< "$spec"
  for act in relu tanh; do
    q="$out/fig1/$dataset-$arch-$act"
    source="$dataset"; [ "$dataset" = fashion-mnist ] && source="$data"
    "$bin" train --data "$source" --batch-size "$batch" --arch "$arch" --activation "$act" --steps "$qsteps" --checkpoints 2 --eval-examples 1000 --output "$q" >/dev/null
    for ckpt in "$q"/step-000000.safetensors "$(ls "$q"/step-*.safetensors | tail -1)"; do
      step=$(basename "$ckpt" .safetensors)
      once "$q/measure-$step/summary.json" "$bin" measure --checkpoint "$ckpt" --data "$source" --per-class "$small" \
        --skip-hessian --output "$q/measure-$step" >/dev/null
    done
  done
done
echo "real networks: done ($out)"
