# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The embedding principle: critical embeddings, Hessian degeneracy, and a wide net at a narrow net's critical point
#
# Zhang et al. (2021): splitting a hidden neuron (same incoming weights, outgoing weights shared as
# 1 − α and α) preserves the network's function and its criticality, and at a critical point each
# split adds a zero Hessian eigenvalue — the direction (+a, −a) on the pair's outgoing weights —
# while the counts of negative, zero and positive eigenvalues never fall. Wide networks trained from
# a small initialisation stall near such embedded critical points of narrow networks.
#
# (a) Loss of a wide two-layer tanh network (1-D fitting set, full-batch gradient descent from
# N(0, 10⁻⁶) weights) against the step; shaded: plateau rows (loss fell by < 1% since the previous
# row), annotated by the effective width (groups of neurons whose input-weight vectors have
# |cosine| ≥ 0.99); dashed: the loss of the width-1 minimum; dots: where the reduced network settles
# when trained on its own from a plateau row. (b) The effective width along training.
# (c) Counts of negative, zero and positive Hessian eigenvalues at the width-1 minimum and its 1-, 2-
# and 3-step embeddings, with the counts the block formula predicts (`CriticalEmbedding.splitBlock`).
# (d) The spectra: signed |λ| on a log scale, the zero threshold (|λ| ≤ 1e-9·max|λ|) and the gap
# below it.
#
# Data: `real/embedding/` from `scripts/reproduce-real.sh` (`fortganguli critical`, `embed`,
# `embed --check --spectrum`, `condense`), drawn by `scripts/figures.sh` (this file reads `$RESULTS`).

# %%
import csv
import json
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import num, save  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
EMB = RESULTS / "real" / "embedding"
if not (EMB / "check-1" / "summary.json").exists():
    print(f"embedding: no {EMB / 'check-1' / 'summary.json'}; run scripts/reproduce-real.sh first — skipped")
    raise SystemExit(0)


def load(path):
    return json.loads(Path(path).read_text())


def trace(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([num(r[k]) if k != "group_sizes" else 0 for r in rows]) for k in rows[0]} if rows else None


critical = load(EMB / "critical" / "summary.json")
checks = [load(EMB / f"check-{k}" / "summary.json") for k in (1, 2, 3) if (EMB / f"check-{k}" / "summary.json").exists()]
runs = sorted(EMB.glob("condense-seed*/trace.csv"), key=lambda p: int(p.parent.name.removeprefix("condense-seed")))
narrow_loss = critical["loss_final"]
print(f"width-1 minimum: loss {narrow_loss:.8g}, gradient norm {critical['gradient_norm']:.3g} "
      f"({critical['steps']} gradient-descent steps, {critical['newton_steps']} Newton steps)")

# %%
fig, axes = plt.subplots(2, 2, figsize=(14, 10), constrained_layout=True)
ax_l, ax_w, ax_c, ax_s = axes[0, 0], axes[1, 0], axes[0, 1], axes[1, 1]

# (a), (b): the wide networks' training; rows coloured by their effective width
WIDTH_COLORS = {1: "C2", 2: "C1", 3: "C4", 4: "C5"}
SEED_STYLES = [("0.15", "-"), ("0.45", "--"), ("0.6", "-."), ("0.3", ":")]
seen_widths = set()
shaded = None
for i, path in enumerate(runs):
    t = trace(path)
    if t is None:
        continue
    seed = path.parent.name.removeprefix("condense-seed")
    color, style = SEED_STYLES[i % len(SEED_STYLES)]
    manifest = load(path.with_suffix(".json"))
    steps, loss, plateau, width = t["step"], t["loss"], t["plateau"] == 1, t["effective_width"]
    ax_l.plot(steps, loss, style, color=color, lw=1.2, zorder=2,
              label=f"wide net, m = {manifest['width']}, init std {manifest['init_std']:g}, lr {manifest['learning_rate']:g}, seed {seed}")
    for w in np.unique(width):
        sel = width == w
        ax_l.scatter(steps[sel], loss[sel], s=14, color=WIDTH_COLORS.get(int(w), "0.6"), zorder=3,
                     label=None if int(w) in seen_widths else (f"effective width {int(w)}" if int(w) in WIDTH_COLORS else None))
        seen_widths.add(int(w))
    ax_w.step(steps, width, where="post", color=color, ls=style, lw=1.5, label=f"seed {seed}")
    # plateau runs of the first run: shaded, labelled with the effective widths met on them
    edges = np.flatnonzero(np.diff(np.r_[0, plateau.astype(int), 0])) if shaded is None else []
    shaded = seed if shaded is None else shaded
    for a, b in zip(edges[::2], edges[1::2]):
        ax_l.axvspan(steps[a], steps[b - 1], color="0.5", alpha=0.12, lw=0)
        widths = width[a:b]
        label = "plateau: width " + "→".join(str(int(w)) for w in widths[np.r_[True, np.diff(widths) != 0]])
        ax_l.annotate(label, (0.5 * (steps[a] + steps[b - 1]), loss[a:b].max() * 2.2), ha="center", fontsize=8,
                      bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.6", lw=0.6))
    trained = np.isfinite(t["reduced_trained_loss"])
    ax_l.plot(steps[trained], t["reduced_trained_loss"][trained], "kx", ms=4, mew=0.8, zorder=4,
              label="reduced net trained alone (2000 steps) from that row" if i == 0 else None)
ax_l.axhline(narrow_loss, color="k", ls="--", lw=1, label=f"width-1 minimum, loss {narrow_loss:.5g}")
ax_l.set_yscale("log")
ax_l.set_xlabel("full-batch gradient-descent step")
ax_l.set_ylabel("training loss (½ mean squared error)")
ax_l.set_title("(a) Wide two-layer tanh net from a small initialisation: loss coloured by effective width;\n"
               f"shaded: plateaus{' of seed ' + str(shaded) if len(runs) > 1 else ''} (loss fell < 1% since the previous row)",
               fontsize=9.5)
handles, labels = ax_l.get_legend_handles_labels()
order = sorted(range(len(labels)), key=lambda k: (labels[k].startswith("effective"), labels[k]))
ax_l.legend([handles[k] for k in order], [labels[k] for k in order], fontsize=7.5, loc="upper right")
ax_w.set_xlabel("full-batch gradient-descent step")
ax_w.set_ylabel("effective width (groups of condensed neurons)")
ax_w.yaxis.get_major_locator().set_params(integer=True)
ax_w.set_title("(b) Effective width along training (|cos| ≥ 0.99 between input-weight vectors;\n"
               "neurons below 1% of the largest amplitude ignored)", fontsize=9.5)
ax_w.legend(fontsize=7.5)

# (c) eigenvalue counts
if checks:
    labels = [f"width {checks[0]['widths_narrow'].split(',')[1]}\n(narrow)"] + \
             [f"{k + 1}-step\nwidth {c['widths_wide'].split(',')[1]}" for k, c in enumerate(checks)]
    neg = [checks[0]["negative_narrow"]] + [c["negative_wide"] for c in checks]
    zero = [checks[0]["zero_narrow"]] + [c["zero_wide"] for c in checks]
    pos = [checks[0]["positive_narrow"]] + [c["positive_wide"] for c in checks]
    x = np.arange(len(labels))
    for off, vals, name, color in [(-0.25, neg, "negative", "C3"), (0, zero, "zero", "0.5"), (0.25, pos, "positive", "C0")]:
        bars = ax_c.bar(x + off, vals, 0.24, color=color, label=name)
        ax_c.bar_label(bars, fontsize=8)
    pred = [c.get("predicted_zero_wide") for c in checks]
    if all(p is not None for p in pred):
        for k, c in enumerate(checks):
            for off, key in [(-0.25, "predicted_negative_wide"), (0, "predicted_zero_wide"), (0.25, "predicted_positive_wide")]:
                ax_c.plot(k + 1 + off, c[key], "k_", ms=14, mew=2)
        ax_c.plot([], [], "k_", ms=10, mew=2, label="predicted: narrow counts + inertia of each split's block K")
    ax_c.set_xticks(x, labels)
    ax_c.set_ylabel("number of Hessian eigenvalues")
    tau = checks[0].get("zero_threshold", 1e-9)
    ax_c.set_title(f"(c) Hessian counts at the width-1 minimum (gradient norm {critical['gradient_norm']:.1g}) and its embeddings\n"
                   f"zero: |λ| ≤ {tau:g}·max|λ|; splits 1:0, 1:1, 1:0 with α = 0.3", fontsize=9.5)
    ax_c.legend(fontsize=8)

# (d) spectra
for k, c in enumerate([None] + checks):
    folder = EMB / f"check-{max(k, 1)}"
    values = np.load(folder / ("narrow_spectrum.npy" if k == 0 else "wide_spectrum.npy"))
    top = np.abs(values).max()
    tau = checks[0].get("zero_threshold", 1e-9)
    rel = np.abs(values) / top
    floor = 1e-20
    shown = np.maximum(rel, floor)
    colors = np.where(rel <= tau, "0.5", np.where(values < 0, "C3", "C0"))
    ax_s.scatter(np.full(len(values), k) + np.linspace(-0.15, 0.15, len(values)), shown, c=colors, s=18, zorder=3)
ax_s.axhline(checks[0].get("zero_threshold", 1e-9), color="k", ls=":", lw=1, label="zero threshold |λ| = τ·max|λ|")
ax_s.set_yscale("log")
ax_s.set_ylim(1e-20, 3)
ax_s.set_xticks(range(1 + len(checks)), ["narrow"] + [f"{k + 1}-step" for k in range(len(checks))])
ax_s.set_ylabel("|λ| / max|λ| (zeros below 1e-20 drawn at 1e-20)")
ax_s.scatter([], [], c="C3", s=18, label="negative")
ax_s.scatter([], [], c="0.5", s=18, label="zero")
ax_s.scatter([], [], c="C0", s=18, label="positive")
gaps = [c["smallest_nonzero_wide"] / c["largest_zero_wide"] for c in checks if c["largest_zero_wide"] > 0]
gap_text = f"the zeros lie ≥ {np.log10(min(gaps)):.0f} decades below the rest" if gaps else "no zero eigenvalues"
ax_s.set_title(f"(d) Spectra of the narrow critical point and of its embeddings:\n{gap_text}", fontsize=9.5)
ax_s.legend(fontsize=8, loc="lower left")
fig.suptitle("Embedding principle (Zhang et al. 2021) on the 1-D fitting set, tanh, mean squared error")
save(fig, RESULTS / "figures", "embedding")

# %% [markdown]
# ## Tables: counts before and after each embedding step, and the plateau trace

# %%
print(f"{'network':>10} {'D':>4} {'negative':>9} {'zero':>5} {'positive':>9} {'predicted':>12} {'largest zero':>13} {'smallest nonzero':>17}")
if checks:
    c0 = checks[0]
    print(f"{'narrow':>10} {c0['parameters_narrow']:>4} {c0['negative_narrow']:>9} {c0['zero_narrow']:>5} {c0['positive_narrow']:>9} "
          f"{'':>12} {c0['largest_zero_narrow']:>13.2g} {c0['smallest_nonzero_narrow']:>17.3g}")
    for k, c in enumerate(checks):
        p = (c.get("predicted_negative_wide"), c.get("predicted_zero_wide"), c.get("predicted_positive_wide"))
        print(f"{str(k + 1) + '-step':>10} {c['parameters_wide']:>4} {c['negative_wide']:>9} {c['zero_wide']:>5} {c['positive_wide']:>9} "
              f"{str(p):>12} {c['largest_zero_wide']:>13.2g} {c['smallest_nonzero_wide']:>17.3g}")
for path in runs:
    t = trace(path)
    if t is None:
        continue
    print(f"\n{path.parent.name}: step, loss, effective width, reduced net's loss (direct; trained alone)")
    for i in range(len(t["step"])):
        if t["plateau"][i] == 1 or i == len(t["step"]) - 1 or i % max(1, len(t["step"]) // 10) == 0:
            print(f"{int(t['step'][i]):>8} {t['loss'][i]:>12.5g} {int(t['effective_width'][i]):>4} {t['reduced_loss'][i]:>12.5g} "
                  f"{t['reduced_trained_loss'][i]:>12.5g}{'  plateau' if t['plateau'][i] == 1 else ''}")
fm = EMB / "fmnist-check" / "summary.json"
if fm.exists():
    f = load(fm)
    print(f"\nFashion-MNIST {f['widths_narrow']} → {f['widths_wide']} ({f['examples']} examples): max |Δ logits| "
          f"{f['max_logit_difference']:.2g}, loss {f['loss_narrow']:.6g} → {f['loss_wide']:.6g}, gradient norm "
          f"{f['gradient_norm_narrow']:.3g} → {f['gradient_norm_wide']:.3g}")
