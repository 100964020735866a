# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 5 — Hessian spectrum of the random model: bulk + outliers
#
# Fort & Ganguli (2019), Fig. 5: with the paper's setting (N = 300, C = 10, D = 1000, σ_z = 15,
# σ_c = 1/√D, σ_E = 0.7/√D) the model Hessian has a bulk of small eigenvalues from the residual
# logit gradients plus C − 1 outliers from the clustered mean logit gradients (a BBP transition).
# The histogram has a log count axis so the few outliers show. The solid line is the estimated
# bulk edge, the dotted one the edge plus its finite-size margin; eigenvalues beyond it count as
# outliers (marked ▼). A second panel, when present, is the run with unequal class-mean lengths.
#
# Data: `defaults/seed-0/{spectrum.npy,summary.json}` (and `spread/seed-0/...`), made by
#
#     swift run -c release fortganguli reproduce --output results/reproduce
#
# and drawn by `scripts/figures.sh results/reproduce` (this file reads `$RESULTS`).

# %%
import json
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
OUT = RESULTS / "figures"
OUT.mkdir(parents=True, exist_ok=True)


def load(run):
    """Eigenvalues (descending) and summary of RESULTS/run/seed-0, or None if absent."""
    folder = RESULTS / run / "seed-0"
    if not (folder / "spectrum.npy").exists():
        return None
    ev = np.sort(np.load(folder / "spectrum.npy").astype(float))[::-1]
    summary = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
    return ev[np.isfinite(ev)], summary


runs = [("defaults", "equal class-mean lengths (paper setting)")]
if load("spread") is not None:
    runs.append(("spread", "unequal class-mean lengths"))

# %%
def fval(d, key):
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) else float("nan")


fig, axes = plt.subplots(1, len(runs), figsize=(6.5 * len(runs), 4.5), squeeze=False)
for ax, (run, label) in zip(axes[0], runs):
    ev, s = load(run)
    edge, margin = fval(s, "bulk_edge"), fval(s, "outlier_margin")
    n_out = s.get("outliers")
    if not isinstance(n_out, int):
        n_out = int(np.sum(ev > edge + margin)) if np.isfinite(edge + margin) else 0
    C = s.get("classes", "?")
    ax.hist(ev, bins=120, color="C0", alpha=0.8, label=f"eigenvalues (D = {len(ev)})")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5)
    if np.isfinite(edge):
        ax.axvline(edge, color="k", lw=1, label=f"bulk edge {edge:.3g}")
    if np.isfinite(edge + margin):
        ax.axvline(edge + margin, color="k", ls=":", lw=1.2, label=f"edge + margin {edge + margin:.3g}")
    if n_out > 0:
        ax.plot(ev[:n_out], np.full(n_out, 1.6), "v", color="C3", ms=7, label=f"{n_out} outliers")
    ax.set_xlabel("Hessian eigenvalue λ")
    ax.set_ylabel("count (log scale)")
    ax.set_title(f"{label}: bulk + {n_out} outliers (C = {C})")
    ax.legend(fontsize=8)
    print(f"{run}: top eigenvalues {np.array2string(ev[:12], precision=4)}; {n_out} outliers")
s0 = load("defaults")[1]
fig.suptitle("Fig. 5: Hessian eigenspectrum of the random model "
             f"(N = {s0.get('examples', '?')}, C = {s0.get('classes', '?')}, "
             f"D = {s0.get('dimension', '?')}, σ_z = {s0.get('sigma_z', '?')})")
fig.tight_layout()

# %%
for ext in ("png", "pdf"):
    fig.savefig(OUT / f"fig5_spectrum.{ext}", dpi=150)
print("wrote", OUT / "fig5_spectrum.png", "and .pdf")
