# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Phase diagram — where the model has outliers, in the (σ_z, SNR) plane
#
# Left: the number of outliers above the bulk edge counted in simulation (mean over seeds), as a
# heat map over logit scale σ_z and signal-to-noise ratio SNR = σ_c²/σ_E². Over it, the BBP
# boundary predicted by random-matrix theory: the SNR at which the largest spike θ₁ of the
# class-mean term crosses the threshold 1/G(λ₊) of the bulk (θ ∝ SNR, so SNR* = SNR·threshold/θ₁).
# Right: the predicted outlier count on the same grid, counted by the simulation's rule: a predicted
# outlier position counts only if it lies above the predicted edge λ₊ by the finite-size margin the
# simulation measured in that cell (λ₁ − λ_C of its noise term), so both panels use one rule. The
# theory is that of each cell's own sample (its sampled class means), not of their expectation.
#
# Data: `phase/phase.csv`, made by
#
#     swift run -c release fortganguli reproduce --output results/reproduce
#
# (or alone: `fortganguli phase --output results/reproduce/phase`), drawn by
# `scripts/figures.sh results/reproduce` (this file reads `$RESULTS`).

# %%
import csv
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import num  # noqa: E402  (shared CSV-cell parser)

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
OUT = RESULTS / "figures"
OUT.mkdir(parents=True, exist_ok=True)
PHASE = RESULTS / "phase" / "phase.csv"



with open(PHASE) as f:
    rows = list(csv.DictReader(f))
if not rows:
    raise SystemExit(f"{PHASE} has no rows; run `fortganguli phase` first")

iz = np.array([int(r["sigma_z_point"]) for r in rows])
js = np.array([int(r["snr_point"]) for r in rows])
nz, ns = iz.max() + 1, js.max() + 1
sigma_z = np.full(nz, np.nan)
snr = np.full(ns, np.nan)
for r, i, j in zip(rows, iz, js):
    sigma_z[i] = num(r["sigma_z"])
    snr[j] = num(r["snr"])


def cell_mean(column):
    total = np.zeros((ns, nz))
    count = np.zeros((ns, nz))
    for r, i, j in zip(rows, iz, js):
        v = num(r[column])
        if np.isfinite(v):
            total[j, i] += v
            count[j, i] += 1
    with np.errstate(invalid="ignore"):
        return total / count


simulated = cell_mean("outliers")
predicted = cell_mean("theory_outliers")
# BBP boundary: θ₁ ∝ SNR at fixed σ_z, so the critical SNR is SNR·threshold/θ₁ (mean over the column).
ratio = cell_mean("theory_bbp_threshold") / cell_mean("top_spike")
critical = np.nanmean(ratio * snr[:, None], axis=0)


def edges(values):
    logs = np.log10(values)
    step = np.diff(logs).mean() if len(logs) > 1 else 1.0
    return 10 ** np.concatenate([logs - step / 2, [logs[-1] + step / 2]])

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True, constrained_layout=True)
vmax = np.nanmax([np.nanmax(simulated), np.nanmax(predicted), 1])
seeds = len({r["seed"] for r in rows})
for ax, data, title in [(axes[0], simulated, "simulated"),
                        (axes[1], predicted, "theory, counted by the simulation's edge + margin")]:
    mesh = ax.pcolormesh(edges(sigma_z), edges(snr), data, cmap="viridis", vmin=0, vmax=vmax, shading="flat")
    ax.plot(sigma_z, critical, "w--", lw=2, label="theory: BBP boundary θ₁ = 1/G(λ₊)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("logit standard deviation σ_z")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(edges(snr)[0], edges(snr)[-1])
    ax.legend(loc="lower left", fontsize=8)
axes[0].set_ylabel("SNR = σ_c² / σ_E²")
fig.colorbar(mesh, ax=axes, label="number of outliers")
fig.suptitle(f"Outliers above the bulk in the Fort–Ganguli model over logit scale and SNR "
             f"(mean over {seeds} seed{'s' if seeds != 1 else ''} a cell, {nz}×{ns} cells)")
for ext in ("png", "pdf"):
    fig.savefig(OUT / f"phase_diagram.{ext}", dpi=150)
print(f"wrote {OUT / 'phase_diagram.png'} and .pdf")
