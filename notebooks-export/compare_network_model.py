# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Figs. 5–8 for a real network beside the calibrated random models
#
# `fortganguli compare` calibrates two random models on the trained 784-256-256-10 ReLU MLP of
# `make reproduce` from its own logit-gradient Gram: the Fort–Ganguli model as the paper calibrates it
# (σ_d = σ_s = 0) and the class-conditional model (σ_c, σ_d, σ_s, σ_e fitted so that the gradient energy,
# q^SLSC and q^SL are the network's), each run at several seeds (error bars: sd over seeds).
# (a) Fig. 5: G-term spectra on a log axis, the network's three levels marked (λ₁ of its class and
# cross-class terms, its bulk edge). (b) Fig. 6: the network's cumulative gradient power in its top
# G-term eigenvectors, the models' top-C power beside it. (c) Fig. 7: the top eigenvalue along training,
# network (G-term and full Hessian) and the models calibrated at each checkpoint. (d) Fig. 8:
# Trace/‖·‖ against the logit scale — the network's own measured logit std as its weights are scaled
# (scale-sweep) and along training, the paper's model against σ_z, and the class-conditional model
# calibrated along training; exact traces, error bars from the hyperplane draws and the model seeds.
#
# Data: `real/compare/`, `real/measure/`, `real/compare-run/compare-trajectory.csv`,
# `real/mlp-relu/trajectory.csv`, `real/scale-sweep/scale.csv`, `sweep/sweep.csv`, made by `make reproduce`.

# %%
import json
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import save, summary, table  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
REAL = RESULTS / "real"
COMPARE = REAL / "compare"
compared = json.loads((COMPARE / "compare.json").read_text())
rows = {r["key"]: r for r in compared["statistics"]}
MODELS = [("class-conditional", "class-conditional model", "C3"), ("fort-ganguli", "Fort–Ganguli model", "C0")]
overlap = table(REAL / "measure" / "overlap_ggn.csv")
measured = summary(REAL / "measure" / "summary.json")
run = table(REAL / "compare-run" / "compare-trajectory.csv")
trajectory = table(REAL / "mlp-relu" / "trajectory.csv")
scale = table(REAL / "scale-sweep" / "scale.csv")
sweep_path = RESULTS / "sweep" / "sweep.csv"
sweep = table(sweep_path) if sweep_path.exists() else None

# %%
fig, axes = plt.subplots(2, 2, figsize=(13, 9.5), constrained_layout=True)
ax = axes[0, 0]
network = np.load(COMPARE / "network_ggn_spectrum.npy")
top = network.max()
bins = np.logspace(np.log10(1e-5 * top), np.log10(3 * top), 70)
ax.hist(network[network > 1e-5 * top], bins=bins, histtype="step", lw=1.8, color="k", label="network G-term")
for key, label, color in MODELS:
    values = np.load(COMPARE / f"{key}_ggn_spectrum.npy")
    ax.hist(values[values > 1e-5 * top], bins=bins, histtype="step", lw=1.2, color=color, label=f"{label} (first seed)")
for value, label, style in [(rows["ggn_class_top"]["source"], "network λ₁(G_class)", "-."),
                            (rows["ggn_cross_top"]["source"], "network λ₁(G_cross)", ":"),
                            (rows["ggn_bulk_edge"]["source"], "network bulk edge", "--")]:
    ax.axvline(value, color="k", ls=style, lw=1, label=f"{label} = {value:.3g}")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("eigenvalue")
ax.set_ylabel("count")
ax.set_title(f"Fig. 5: G-term spectra; outliers above the bulk: network {rows['ggn_outliers']['source']:.0f}, "
             + ", ".join(f"{label.split()[0]} {rows['ggn_outliers'][key]['mean']:.0f} ± {rows['ggn_outliers'][key]['sd']:.1g}"
                         for key, label, _ in MODELS), fontsize=9)
ax.legend(fontsize=7, loc="lower left")

ax = axes[0, 1]
k = np.arange(1, len(overlap["cumulative_power"]) + 1)
ax.semilogx(k, overlap["cumulative_power"], "k-", label="network: cumulative ‖g‖² in its top-k G eigenvectors")
C = int(measured["classes"])
topk = int(compared["top_k"])
for n, (key, label, color) in enumerate(MODELS):
    r = rows["gradient_power"][key]
    ax.errorbar([topk * (1.08 + 0.08 * n)], [r["mean"]], yerr=[r["sd"]], fmt="o", color=color, capsize=3,
                label=f"{label}: top-{topk} power ({r['verdict']})")
ax.axvline(topk, color="gray", ls="--", lw=1)
ax.set_xlabel("k (eigenvectors sorted by eigenvalue)")
ax.set_ylabel("fraction of gradient power")
ax.set_ylim(0, 1.02)
ax.set_title("Fig. 6: gradient confinement to the top of the G-term", fontsize=10)
ax.legend(fontsize=7, loc="lower right")

ax = axes[1, 0]
step = np.maximum(run["step"], 0.5)
ax.loglog(step, run["network_ggn_top"], "ko-", ms=4, label="network G-term λ₁")
tsteps = np.maximum(trajectory["step"], 0.5)
ax.loglog(tsteps, trajectory["hessian_top"], "k^--", ms=4, label="network Hessian λ₁")
for key, label, color in MODELS:
    ax.errorbar(step, run[f"{key}_ggn_top"], yerr=run[f"{key}_ggn_top_sd"], fmt="s-", color=color, ms=3, capsize=2,
                label=f"{label} calibrated at the checkpoint")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("training step (step 0 drawn at 0.5)")
ax.set_ylabel("top eigenvalue")
ax.set_title("Fig. 7: top eigenvalue along training", fontsize=10)
ax.legend(fontsize=7)

ax = axes[1, 1]
ax.errorbar(scale["logit_std"], scale["trace_over_norm"], yerr=scale["trace_over_norm_standard_error"], fmt="ko-", ms=4,
            capsize=2, label="network, initial weights × α: Trace(H)/‖H‖ (exact trace)")
ax.errorbar(scale["logit_std"], scale["trace_over_norm_hyperplane"], yerr=scale["trace_over_norm_hyperplane_standard_error"],
            fmt="k^:", ms=4, capsize=2, label="network, weights × α: hyperplane (mean ± se of R planes)")
ax.plot(run["sigma_z"], run["network_trace_over_norm"], "kD", ms=4, mfc="none", label="network along training")
cc = run["class-conditional_trace_over_norm"]
ax.errorbar(run["sigma_z"], cc, yerr=run["class-conditional_trace_over_norm_sd"], fmt="s", color="C3", ms=4, capsize=2,
            label="class-conditional model calibrated along training (G-term)")
if sweep is not None:
    points = np.unique(sweep["point"])
    z = np.array([sweep["sigma_z"][sweep["point"] == p][0] for p in points])
    for column, style, label in [("trace_over_norm", "-", "paper's model (N = 300, D = 1000) vs σ_z"),
                                 ("trace_over_norm_hyperplane", ":", "paper's model, hyperplane")]:
        values = [sweep[column][sweep["point"] == p] for p in points]
        mean = np.array([np.nanmean(v) for v in values])
        sd = np.array([np.nanstd(v, ddof=1) if np.isfinite(v).sum() > 1 else 0 for v in values])
        ax.plot(z, mean, style, color="C0", label=label)
        ax.fill_between(z, mean - sd, mean + sd, color="C0", alpha=0.15, lw=0)
ax.set_xscale("log")
ax.set_xlabel("logit scale: σ_z (models), measured logit std (network)")
ax.set_ylabel("Trace/‖·‖")
ax.set_title("Fig. 8: Trace/‖·‖ against the logit scale", fontsize=10)
ax.legend(fontsize=6.5, loc="lower left")
fig.suptitle("A trained ReLU MLP (Fashion-MNIST) beside the random models calibrated on it "
             f"({compared['seeds']} model seeds; verdicts in real/compare/compare.md)")
save(fig, RESULTS / "figures", "compare_network_model")
