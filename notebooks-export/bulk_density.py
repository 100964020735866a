# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The bulk: sampled spectrum against the random-matrix density
#
# Histogram of the Hessian's eigenvalues at the paper's defaults (seed 0; the outliers, far to the
# right, are cut off), normalised as a density of the D eigenvalues, with the density ρ(λ) that the
# Stieltjes-transform fixed point predicts for the same probabilities p (no gradient sampling).
# The vertical lines are the sampled and predicted bulk edges. The atom at zero (mass shown in the
# legend) is not drawn as a curve.
#
# Data: `defaults/seed-0/spectrum.npy`, `defaults/seed-0/summary.json`, `theory/density.csv`,
# `theory/theory.json`, made by
#
#     swift run -c release fortganguli reproduce --output results/reproduce
#
# (or alone: `fortganguli simulate` and `fortganguli theory`), drawn by `scripts/figures.sh results/reproduce`.

# %%
import csv
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
OUT = RESULTS / "figures"
OUT.mkdir(parents=True, exist_ok=True)

spectrum = np.load(RESULTS / "defaults" / "seed-0" / "spectrum.npy")
summary = json.loads((RESULTS / "defaults" / "seed-0" / "summary.json").read_text())
theory = json.loads((RESULTS / "theory" / "theory.json").read_text())
with open(RESULTS / "theory" / "density.csv") as f:
    curve = np.array([[float(r["lambda"]), float(r["density"])] for r in csv.DictReader(f)])

edge = theory["bulk_edge"]
D = len(spectrum) + summary.get("zero_eigenvalues", 0)
bulk = spectrum[(spectrum <= 1.05 * edge) & (spectrum > 0.02 * edge)]

# %%
fig, ax = plt.subplots(figsize=(8, 4.8), constrained_layout=True)
bins = np.linspace(0, 1.05 * edge, 80)
counts, _ = np.histogram(bulk, bins=bins)
width = bins[1] - bins[0]
ax.bar(bins[:-1], counts / (D * width), width=width, align="edge", alpha=0.6,
       label=f"sampled spectrum (D = {D}, seed 0)")
ax.plot(curve[:, 0], curve[:, 1], "k-", lw=2, label=f"theory ρ(λ); atom at 0 of mass {theory['mass_at_zero']:.2f}")
ax.axvline(summary["bulk_edge"], color="C0", ls="--", label=f"sampled bulk edge {summary['bulk_edge']:.3g}")
ax.axvline(edge, color="k", ls=":", label=f"predicted bulk edge λ₊ = {edge:.3g}")
ax.set_xlabel("Hessian eigenvalue λ")
ax.set_ylabel("density of eigenvalues (per unit λ, fraction of D)")
ax.set_ylim(0, 1.3 * np.nanmax(curve[curve[:, 0] > 0.05 * edge, 1]))
ax.set_title(f"Bulk of the model Hessian vs random-matrix theory (N = {summary['examples']}, "
             f"C = {summary['classes']}, σ_z = {summary['sigma_z']:g})")
ax.legend(fontsize=8)
for ext in ("png", "pdf"):
    fig.savefig(OUT / f"bulk_density.{ext}", dpi=150)
print(f"wrote {OUT / 'bulk_density.png'} and .pdf")
