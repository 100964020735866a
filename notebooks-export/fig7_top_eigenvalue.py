# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 7 — the top Hessian eigenvalue rises, then falls, as σ_z grows
#
# Fort & Ganguli (2019), Fig. 7: σ_z is swept from 10⁻³ to 10² (a proxy for training time) while
# the mean logit-gradient scale σ_c grows with it (σ_c/σ_E fixed). Freezing probabilities shrink
# the C×C matrix P of eq. (16) while growing σ_c enlarges the outliers, so the top eigenvalue is
# non-monotonic. Top: mean ± std over seeds of the top eigenvalue and of the bulk edge (log–log).
# Bottom: the number of outliers above the bulk.
#
# Data: `sweep/sweep.csv` (one row per σ_z point and seed) and `sweep/sweep.json`, made by
#
#     swift run -c release fortganguli reproduce --output results/reproduce
#
# (or alone: `swift run -c release fortganguli sweep --growth power:0.25 --output results/reproduce/sweep`)
# and drawn by `scripts/figures.sh results/reproduce` (this file reads `$RESULTS`).

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
OUT = RESULTS / "figures"
OUT.mkdir(parents=True, exist_ok=True)
SWEEP = RESULTS / "sweep"
sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _sweep import Sweep  # noqa: E402  (shared sweep loader)


sweep = Sweep(SWEEP)
rows, manifest, C, points, by_point = sweep.rows, sweep.manifest, sweep.classes, sweep.points, sweep.by_point


print(f"{len(rows)} rows, {len(points)} σ_z points, C = {C}, growth {manifest.get('growth', '?')}")

# %%
fig, (ax, axo) = plt.subplots(2, 1, figsize=(7.5, 7.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
for column, label, color in [("top_eigenvalue", "top eigenvalue λ₁", "C3"), ("bulk_edge", "bulk edge", "C0")]:
    z, m, s = by_point(column)
    ax.plot(z, m, "o-", ms=3, color=color, label=f"{label} (mean ± std over seeds)")
    lo = np.where(m - s > 0, m - s, m)  # keep the band on the log axis
    ax.fill_between(z, lo, m + s, color=color, alpha=0.25, lw=0)
    if column == "top_eigenvalue" and np.isfinite(m).any():
        i = np.nanargmax(m)
        ax.annotate(f"peak {m[i]:.3g} at σ_z = {z[i]:.3g}", (z[i], m[i]), xytext=(0, 10),
                    textcoords="offset points", ha="center", fontsize=9)
ax.set_xscale("log")
ax.set_yscale("log")
ax.margins(y=0.12)
ax.set_ylabel("Hessian eigenvalue")
ax.legend()
ax.set_title(f"Fig. 7: top Hessian eigenvalue vs logit scale σ_z (σ_c growth: {manifest.get('growth', 'see sweep.json')})",
             fontsize=10)

z, m, s = by_point("outliers")
axo.errorbar(z, m, yerr=s, fmt="o-", ms=3, color="C2", capsize=2, label="outliers (mean ± std)")
axo.axhline(C - 1, color="gray", ls="--", lw=1, label=f"C − 1 = {C - 1}")
axo.set_xscale("log")
axo.set_xlabel("logit std σ_z (∝ training time)")
axo.set_ylabel("outliers above bulk")
axo.set_ylim(bottom=-0.5)
axo.legend(fontsize=8)
fig.tight_layout()

# %%
for ext in ("png", "pdf"):
    fig.savefig(OUT / f"fig7_top_eigenvalue.{ext}", dpi=150)
print("wrote", OUT / "fig7_top_eigenvalue.png", "and .pdf")
