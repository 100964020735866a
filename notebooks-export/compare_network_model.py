# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Figs. 5–8 for a real network beside the calibrated random model
#
# `fortganguli compare` calibrates the Fort–Ganguli model on a trained 784-256-256-10 ReLU MLP
# (σ_z from its logits, σ_c, σ_E and the class-mean lengths from its logit gradients, N, C and D as
# the network) and, in the semi-empirical variant, keeps the network's own probabilities and labels.
# (a) Fig. 5: G-term spectra of network, model and semi-empirical model on the same bins, with the
# network's Hessian density (stochastic Lanczos quadrature). (b) Fig. 6: cumulative gradient power in
# the network's top G-term eigenvectors. (c) Fig. 7: top eigenvalue along training, network (G-term
# and full Hessian) and the model calibrated at each checkpoint, against the calibrated σ_z.
# (d) Fig. 8: Trace/‖·‖ of the network as the initial weights are scaled, and of the model as σ_z grows.
#
# Data: `real/compare/`, `real/measure/`, `real/compare-run/compare-trajectory.csv`,
# `real/scale-sweep/scale.csv`, `sweep/sweep.csv`, made by `make reproduce`.

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import save, table  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
REAL = RESULTS / "real"
spectra = {name: np.load(REAL / "compare" / f"{file}.npy") for name, file in
           [("network", "network_ggn_spectrum"), ("model", "model_spectrum"), ("semi-empirical", "semi_empirical_spectrum")]}
overlap = table(REAL / "measure" / "overlap_ggn.csv")
run = table(REAL / "compare-run" / "compare-trajectory.csv")
scale = table(REAL / "scale-sweep" / "scale.csv")
sweep_path = RESULTS / "sweep" / "sweep.csv"
sweep = table(sweep_path) if sweep_path.exists() else None

# %%
fig, axes = plt.subplots(2, 2, figsize=(12, 9), constrained_layout=True)
ax = axes[0, 0]
top = max(v.max() for v in spectra.values())
bins = np.linspace(0, 1.02 * top, 80)
for (name, values), color in zip(spectra.items(), ["k", "C3", "C0"]):
    ax.hist(values[values > 1e-12 * top], bins=bins, histtype="step", lw=1.5, color=color, label=f"{name} G-term")
density = REAL / "measure" / "hessian_density.csv"
if density.exists():
    d = table(density)
    ax2 = ax.twinx()
    ax2.plot(d["lambda"], d["density"], color="gray", lw=1, ls=":", label="network full Hessian (SLQ density)")
    ax2.set_ylabel("Hessian density (SLQ)")
    ax2.legend(loc="center right", fontsize=7)
ax.set_yscale("log")
ax.set_xlabel("eigenvalue")
ax.set_ylabel("count (log scale)")
ax.set_title("Fig. 5: G-term spectra, same bins", fontsize=10)
ax.legend(fontsize=7)

ax = axes[0, 1]
k = np.arange(1, len(overlap["cumulative_power"]) + 1)
ax.semilogx(k, overlap["cumulative_power"], "k-", label="network: cumulative ‖g‖² in top-k G eigenvectors")
ax.axvline(10, color="gray", ls="--", lw=1, label="k = C")
ax.set_xlabel("k (eigenvectors sorted by eigenvalue)")
ax.set_ylabel("fraction of gradient power")
ax.set_title("Fig. 6: gradient confinement in the network", fontsize=10)
ax.legend(fontsize=7)

ax = axes[1, 0]
step = np.maximum(run["step"], 0.5)
ax.loglog(step, run["network_ggn_top"], "ko-", ms=4, label="network G-term λ₁")
ax.loglog(step, run["network_hessian_top"], "k^--", ms=4, label="network Hessian λ₁")
ax.loglog(step, run["model_top"], "o-", color="C3", ms=4, label="model calibrated at the checkpoint")
ax.loglog(step, run["semi_top"], "s-", color="C0", ms=4, label="semi-empirical model")
for s, z in zip(step, run["sigma_z"]):
    ax.annotate(f"σ_z={z:.2g}", (s, run["network_ggn_top"][list(step).index(s)]), fontsize=6, xytext=(3, -9),
                textcoords="offset points")
ax.set_xlabel("training step (step 0 drawn at 0.5)")
ax.set_ylabel("top eigenvalue")
ax.set_title("Fig. 7: top eigenvalue along training", fontsize=10)
ax.legend(fontsize=7)

ax = axes[1, 1]
ax.semilogx(scale["alpha"], scale["trace_over_norm"], "ko-", ms=4, label="network: Trace(H)/‖H‖ vs weight scale α")
ax.set_xlabel("initial weight scale α (network)")
ax.set_ylabel("Trace/‖·‖")
if sweep is not None:
    axm = ax.twiny()
    pts = np.unique(sweep["point"])
    z = np.array([sweep["sigma_z"][sweep["point"] == p][0] for p in pts])
    m = np.array([np.nanmean(sweep["trace_over_norm"][sweep["point"] == p]) for p in pts])
    axm.semilogx(z, m, "-", color="C3", label="model: Trace(H)/‖H‖ vs σ_z")
    axm.set_xlabel("logit std σ_z (model)")
    axm.legend(fontsize=7, loc="lower left")
ax.legend(fontsize=7, loc="upper right")
ax.set_title("Fig. 8: Trace/‖·‖ falls with scale, network and model", fontsize=10, pad=28)
fig.suptitle("Network (784-256-256-10 ReLU MLP, Fashion-MNIST) beside the calibrated Fort–Ganguli model")
save(fig, RESULTS / "figures", "compare_network_model")
