# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Class structure of the G-term: Papyan's three levels, in networks and in the models
#
# Papyan (2019, 2020) splits the Gauss–Newton term exactly, G = G_class + G_cross + G_within, from the
# gradients g_{μ,c′} "as if the label were c′": the class level (one mean direction per class, rank ≤ C:
# the C outliers; the c′ = c terms lie along the same directions and are part of it), the cross-class
# level (the deviations δ_{c,c′} − δ_c: the mini-outliers) and the within-class variation. The bulk,
# whose λ₁ is the bulk edge, is the G-term of the within-class Jacobian residuals J^μ − m_{y_μ}
# (Papyan's G_within also holds the class means seen through the spread of p within a class).
# `fortganguli` computes every term from the per-example logit-gradient Gram (K, p, y), so the same
# code measures the network and the models.
#
# Top row: the 784-256-256-10 ReLU MLP of `make reproduce` after training and at initialisation —
# eigenvalue histograms of G and of each term on log axes (the dashed line is the bulk edge
# (λ₁ of the residual G-term), the dotted one the outlier threshold edge + margin), and the share of each level in
# the top 2C eigenvalues of G. Bottom row: the class-conditional and the Fort–Ganguli models
# calibrated on the trained MLP (first model seed), and the class-conditional model with σ_d = 1
# (`fortganguli simulate --sigma-d 1 --hessian full`): σ_d > 0 gives C outliers and a cross-class
# cloud, which the paper's model (σ_d = 0) cannot make.
#
# Data: `real/measure/`, `real/measure-init/`, `real/compare/`, `class-conditional/`, made by
# `make reproduce` (`fortganguli measure`, `compare`, `simulate`).

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import save, summary, table  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
REAL = RESULTS / "real"
TERMS = [("", "G", "black"), ("_class", "G_class", "C3"), ("_cross", "G_cross", "C1"), ("_within", "G_within", "C0"),
         ("_bulk", "bulk: G-term of J − m_y", "C7")]


def spectra(folder, prefix):
    """The spectra of G and its terms written as PREFIX_spectrum.npy, PREFIX_class_spectrum.npy, …"""
    return {name: np.load(folder / f"{prefix}{suffix}_spectrum.npy") for suffix, name, _ in TERMS}


def panel_spectra(ax, s, title, edge=None, margin=None):
    """Histograms of the full-rank terms (G, G_within, the bulk) on log axes; the low-rank class and
    cross-class terms as ticks along the top, one per nonzero eigenvalue, so none hides behind G."""
    top = s["G"].max()
    floor = 1e-5 * top
    bins = np.logspace(np.log10(floor), np.log10(1.5 * top), 60)
    for suffix, name, color in TERMS:
        values = s[name]
        values = values[values > floor]
        if suffix in ("_class", "_cross"):
            y = 0.97 if suffix == "_class" else 0.91
            ax.plot(values, np.full(len(values), y), "|", ms=10, mew=1.4, color=color, transform=ax.get_xaxis_transform(),
                    label=f"{name}: {len(values)} nonzero (ticks)")
        else:
            ax.hist(values, bins=bins, histtype="step", lw=1.6 if name == "G" else 1.1, color=color, label=f"{name} ({len(values)})")
    if edge is not None:
        ax.axvline(edge, color="C7", ls="--", lw=1, label="bulk edge")
        if margin is not None:
            ax.axvline(edge + margin, color="C7", ls=":", lw=1, label="edge + margin")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 6)
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("count")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="upper right", bbox_to_anchor=(1.0, 0.86), framealpha=0.9)


def panel_levels(ax, folders, labels):
    """Stacked shares of the top 2C eigenvalues: trained left bar of each pair, initialisation right (hatched)."""
    colors = {"class": "C3", "cross": "C1", "within": "C0"}
    width = 0.38
    for n, (folder, label) in enumerate(zip(folders, labels)):
        o = table(folder / "overlap_ggn.csv")
        s = summary(folder / "summary.json")
        k = 2 * int(s["classes"])
        x = np.arange(1, k + 1) + (n - 0.5) * (width + 0.02)
        bottom = np.zeros(k)
        for level, color in colors.items():
            ax.bar(x, o[level][:k], width, bottom=bottom, color=color, hatch="///" if n else None, edgecolor="white", lw=0.3,
                   label=level if n == 0 else None)
            bottom += o[level][:k]
        ax.axvline(s["ggn_outliers"] + 0.5, color="k", ls="--" if n == 0 else ":", lw=1.2,
                   label=f"{label}: {s['ggn_outliers']} outliers ({', '.join(f'{v} {l}' for l, v in s['ggn_outliers_by_level'].items() if v)})")
    ax.set_xlabel("eigenvalue index i of G (pairs: trained, initialisation hatched)")
    ax.set_ylabel("share of λ_i by level")
    ax.set_ylim(0, 1.32)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_title("which level makes which eigenvalue", fontsize=9)
    ax.legend(fontsize=6, loc="upper center", ncol=2)


# %%
trained, init = REAL / "measure", REAL / "measure-init"
fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
for ax, folder, stage in [(axes[0, 0], trained, "trained"), (axes[0, 1], init, "initialisation")]:
    s = summary(folder / "summary.json")
    panel_spectra(ax, spectra(folder, "ggn"), f"MLP, {stage}: {s['ggn_outliers']} outliers above bulk edge {s['ggn_bulk_edge']:.3g}",
                  s["ggn_bulk_edge"], s["ggn_outlier_margin"])
panel_levels(axes[0, 2], [trained, init], ["trained", "initialisation"])
compare = REAL / "compare"
for ax, prefix, title in [(axes[1, 0], "class-conditional_ggn", "class-conditional model calibrated on the trained MLP"),
                          (axes[1, 1], "fort-ganguli_ggn", "Fort–Ganguli model calibrated on the trained MLP")]:
    panel_spectra(ax, spectra(compare, prefix), title)
model = RESULTS / "class-conditional"
s = summary(model / "summary.json")
panel_spectra(axes[1, 2], spectra(model, "ggn"),
              f"model, σ_d = {s['sigma_d']:g}: {s['ggn_outliers']} outliers "
              f"({s['ggn_outliers_by_level']['class']} class-led, {s['ggn_outliers_by_level']['cross']} cross-led)",
              s["ggn_bulk_edge"], s["ggn_outlier_margin"])
fig.suptitle("Papyan's decomposition of the G-term: class level (outliers), cross-class level (mini-outliers), within-class bulk")
save(fig, RESULTS / "figures", "class_structure")
