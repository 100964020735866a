# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 3a — a real network's probabilities freeze into the simplex's corners
#
# A 784-256-256-3 MLP trained on three Fashion-MNIST classes (0, 1, 2): the softmax probabilities of
# the measured examples at each checkpoint, in the 2-simplex, coloured by true class. Early in
# training they sit near the centre (high entropy); later they move to the corners (frozen), as the
# random model does when σ_z grows (Fig. 3b).
#
# Data: `real/simplex-3class/measure-step-*/probabilities.csv`, made by `scripts/reproduce-real.sh`
# (`fortganguli train --class-subset 0,1,2` then `fortganguli measure` on each checkpoint).

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import save, table  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
RUN = RESULTS / "real" / "simplex-3class"
measures = sorted(RUN.glob("measure-step-*/probabilities.csv"))
if not measures:
    raise SystemExit(f"{RUN}: no probabilities yet")
corners = np.array([[0, 0], [1, 0], [0.5, np.sqrt(3) / 2]])

# %%
fig, axes = plt.subplots(1, len(measures), figsize=(3.6 * len(measures), 3.6), constrained_layout=True)
axes = np.atleast_1d(axes)
for ax, path in zip(axes, measures):
    t = table(path)
    p = np.stack([t["p0"], t["p1"], t["p2"]], axis=1)
    xy = p @ corners
    entropy = -np.nansum(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1)), 0), axis=1).mean()
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="black", lw=0.8)
    for k, color in enumerate(["tab:blue", "tab:orange", "tab:green"]):
        sel = t["label"] == k
        ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.6, color=color, label=f"class {k}")
    step = int(path.parent.name.split("-")[-1])
    ax.set_title(f"step {step}: mean entropy {entropy:.2f} bits", fontsize=9)
    ax.set_aspect("equal")
    ax.axis("off")
axes[0].legend(fontsize=7, loc="upper left")
fig.suptitle("Fig. 3a: probabilities of a 3-class Fashion-MNIST MLP in the simplex during training")
save(fig, RESULTS / "figures", "fig3a_simplex_network")
