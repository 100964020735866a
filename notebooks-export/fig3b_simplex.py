# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 3b — softmax probabilities freeze as the logit scale σ_z grows
#
# Fort & Ganguli (2019), Fig. 3b: in the random model the logits are i.i.d. z ~ N(0, σ_z²).
# For C = 3 classes each example's probability vector is a point in the 2-simplex. Small σ_z
# (blue) keeps the points near the centre (p ≈ 1/3 each, entropy ≈ log₂3 bits); large σ_z (red)
# pushes them to the corners (one class takes nearly all the probability, entropy → 0).
# Left: the points in the simplex, coloured by σ_z. Right: mean entropy vs σ_z.
#
# Data: `simplex.csv` (columns `sigma_z,example,p0,p1,p2,entropy_bits`), made by
#
#     swift run -c release fortganguli reproduce --output results/reproduce
#
# and drawn by `scripts/figures.sh results/reproduce` (this file reads `$RESULTS`).

# %%
import csv
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import num  # noqa: E402  (shared CSV-cell parser)

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
OUT = RESULTS / "figures"
OUT.mkdir(parents=True, exist_ok=True)



with open(RESULTS / "simplex.csv", newline="") as f:
    rows = list(csv.DictReader(f))
sz = np.array([num(r["sigma_z"]) for r in rows])
p = np.array([[num(r["p0"]), num(r["p1"]), num(r["p2"])] for r in rows])
h = np.array([num(r["entropy_bits"]) for r in rows])
ok = np.isfinite(sz) & (sz > 0) & np.isfinite(p).all(axis=1)
sz, p, h = sz[ok], p[ok], h[ok]
if not ok.any():
    raise SystemExit(f"{RESULTS / 'simplex.csv'}: no rows with finite sigma_z and p0..p2")
levels = np.unique(sz)
print(f"{len(sz)} examples at σ_z = {', '.join(f'{z:g}' for z in levels)}")

# %%
# Barycentric → 2-D: class 0 at (0, 0), class 1 at (1, 0), class 2 at (1/2, √3/2).
corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
xy = (p / p.sum(axis=1, keepdims=True)) @ corners

fig, (ax, axh) = plt.subplots(1, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [1.15, 1]})
norm = LogNorm(vmin=levels.min(), vmax=max(levels.max(), levels.min() * 1.001))
order = np.argsort(sz)  # small σ_z first, so the frozen (red) points are drawn on top
sc = ax.scatter(xy[order, 0], xy[order, 1], c=sz[order], cmap="coolwarm", norm=norm, s=7, alpha=0.6, linewidths=0)
ax.add_patch(plt.Polygon(corners, closed=True, fill=False, color="k", lw=1))
for k, (x, y) in enumerate(corners):
    ax.annotate(f"class {k}", (x, y), xytext=(0, 10 if k == 2 else -16), textcoords="offset points",
                ha="center", fontsize=10)
ax.set_xlim(-0.1, 1.1)
ax.set_ylim(-0.12, 0.98)
ax.set_aspect("equal")
ax.axis("off")
ax.set_title("softmax probabilities in the 2-simplex (C = 3)")
fig.colorbar(sc, ax=ax, shrink=0.8, label="logit std σ_z (log scale)")

mean_h = np.array([np.nanmean(h[sz == z]) for z in levels])
axh.plot(levels, mean_h, "o-", color="C0", label="mean entropy of p")
axh.axhline(np.log2(3), ls="--", color="gray", label="log₂3 (uniform p)")
axh.set_xscale("log")
axh.set_xlabel("logit std σ_z")
axh.set_ylabel("mean entropy (bits)")
axh.set_ylim(bottom=0)
axh.legend()
axh.set_title("entropy falls as σ_z grows")
fig.suptitle("Fig. 3b: increasing logit variance σ_z² freezes the class probabilities (blue → red)")
fig.tight_layout()

# %%
for ext in ("png", "pdf"):
    fig.savefig(OUT / f"fig3b_simplex.{ext}", dpi=150)
print("wrote", OUT / "fig3b_simplex.png", "and .pdf")
