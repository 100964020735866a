# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 8 — Trace(H)/‖H‖ falls as σ_z grows (the Goldilocks zone)
#
# Fort & Ganguli (2019), Fig. 8: over the same σ_z sweep as Fig. 7, Trace(H)/‖H‖ is large for
# small logit scales and small for large ones, mainly because the class probabilities freeze.
# Top: mean ± std over seeds of Trace(H)/‖H‖ for the full D-dimensional Hessian and for its
# projection onto a random d-dimensional hyperplane (d = 10, as in Fort & Scherlis). Bottom: mean
# entropy of the predicted probabilities, which falls from log₂C as the probabilities freeze.
#
# Data: `sweep/sweep.csv` and `sweep/sweep.json`, made by
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
D = manifest.get("dimension", "D")
d = manifest.get("hyperplane_dimension", 10)


print(f"{len(rows)} rows, {len(points)} σ_z points, C = {C}")

# %%
fig, (ax, axh) = plt.subplots(2, 1, figsize=(7.5, 7.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
allm = []
for column, label, color in [("trace_over_norm", f"full Hessian (D = {D})", "C3"),
                             ("trace_over_norm_hyperplane", f"random d = {d} hyperplane", "C0")]:
    z, m, s = by_point(column)
    allm.append(m)
    ax.plot(z, m, "o-", ms=3, color=color, label=f"{label}, mean ± std")
    ax.fill_between(z, m - s, m + s, color=color, alpha=0.25, lw=0)
allm = np.concatenate(allm)
allm = allm[np.isfinite(allm) & (allm > 0)]
if len(allm) and allm.max() / allm.min() > 30:  # the full ratio can span decades: use a log axis then
    ax.set_yscale("log")
ax.set_xscale("log")
ax.set_ylabel("Trace(H) / ‖H‖₂")
ax.legend()
ax.set_title("Fig. 8: Trace(H)/‖H‖ vs logit scale σ_z (paper: large for small σ_z, small for large σ_z)", fontsize=10)

z, m, s = by_point("mean_entropy_bits")
axh.plot(z, m, "o-", ms=3, color="C2", label="mean entropy of p (mean ± std)")
axh.fill_between(z, m - s, m + s, color="C2", alpha=0.25, lw=0)
axh.axhline(np.log2(C), color="gray", ls="--", lw=1, label=f"log₂C = {np.log2(C):.2f} bits (uniform)")
axh.set_xscale("log")
axh.set_xlabel("logit std σ_z (∝ weight scale / training time)")
axh.set_ylabel("mean entropy (bits)")
axh.set_ylim(bottom=0)
axh.legend(fontsize=8)
fig.tight_layout()

# %%
for ext in ("png", "pdf"):
    fig.savefig(OUT / f"fig8_trace_over_norm.{ext}", dpi=150)
print("wrote", OUT / "fig8_trace_over_norm.png", "and .pdf")
