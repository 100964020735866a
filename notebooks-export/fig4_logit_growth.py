# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 4 — logit scale, logit-gradient length and weight norm grow with training and weight scale
#
# Fort & Ganguli (2019), Fig. 4, for a 784-256-256-10 ReLU MLP on Fashion-MNIST: the logit standard
# deviation across classes (averaged over examples), the mean logit-gradient length ‖∂z_k/∂θ‖ and
# the weight norm over training steps; and, at initialisation, the logit standard deviation as the
# initial weights are scaled by α.
#
# Data: `real/mlp-relu/trajectory.csv` (`fortganguli trajectory`) and `real/scale-sweep/scale.csv`
# (`fortganguli scale-sweep`), made by `scripts/reproduce-real.sh`.

# %%
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import save, table  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
traj = table(RESULTS / "real" / "mlp-relu" / "trajectory.csv")
scale = table(RESULTS / "real" / "scale-sweep" / "scale.csv")
step = np.maximum(traj["step"], 0.5)  # step 0 on the log axis

# %%
fig, axes = plt.subplots(2, 2, figsize=(9, 7), constrained_layout=True)
for ax, (column, label) in zip(axes.flat[:3], [("logit_std", "logit std across classes"),
                                                ("mean_logit_grad_norm", "mean logit-gradient length ‖∂z_k/∂θ‖"),
                                                ("weight_norm", "weight norm ‖θ‖")]):
    ax.plot(step, traj[column], "o-", ms=4)
    ax.set_xscale("log")
    ax.set_xlabel("training step (step 0 drawn at 0.5)")
    ax.set_ylabel(label)
ax = axes[1, 1]
ax.loglog(scale["alpha"], scale["logit_std"], "o-", ms=4, color="C3")
ax.set_xlabel("initial weight scale α")
ax.set_ylabel("logit std across classes")
ax.set_title("at initialisation", fontsize=9)
fig.suptitle("Fig. 4: logit variance, logit-gradient length and weight norm over training; logit variance vs weight scale")
save(fig, RESULTS / "figures", "fig4_logit_growth")
