# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Fig. 6 — the gradient lives in the top Hessian eigenspace
#
# Fort & Ganguli (2019), Fig. 6: |cos| of the angle between the loss gradient and each Hessian
# eigenvector, eigenvectors sorted by descending eigenvalue. The mean logit gradients enter both
# the gradient and the top (outlier) eigenspace, so most of the gradient power (71 % in the
# paper) lies in the top C = 10 of D = 1000 eigenvectors. Left: |cos| per eigenvector. Right:
# cumulative fraction of ‖g‖² in the top i eigenvectors.
#
# Data: `defaults/seed-0/overlap.csv` (`index,eigenvalue,cos2,cumulative_power`) and
# `summary.json`, made by
#
#     swift run -c release fortganguli reproduce --output results/reproduce
#
# and drawn by `scripts/figures.sh results/reproduce` (this file reads `$RESULTS`).

# %%
import csv
import json
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import num  # noqa: E402  (shared CSV-cell parser)

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
OUT = RESULTS / "figures"
OUT.mkdir(parents=True, exist_ok=True)
RUN = RESULTS / "defaults" / "seed-0"



with open(RUN / "overlap.csv", newline="") as f:
    rows = list(csv.DictReader(f))
index = np.array([num(r["index"]) for r in rows])
cos2 = np.array([num(r["cos2"]) for r in rows])
cum = np.array([num(r["cumulative_power"]) for r in rows])
if not np.isfinite(cos2).any():
    raise SystemExit(f"{RUN / 'overlap.csv'}: no finite cos2 values")
summary = json.loads((RUN / "summary.json").read_text()) if (RUN / "summary.json").exists() else {}
C = int(summary.get("classes") or 10)
K = int(summary.get("top_k") or C)
power_k = summary.get("gradient_power_top_k")
if not isinstance(power_k, (int, float)):  # null when undefined: fall back to the table
    power_k = cum[K - 1] if len(cum) >= K else float("nan")
print(f"D = {len(rows)}, gradient power in top {K}: {power_k:.3f}")

# %%
fig, (ax, axc) = plt.subplots(1, 2, figsize=(12, 4.5))
top = index <= K
ax.scatter(index[~top], np.sqrt(cos2[~top]), s=8, color="C0", label="bulk eigenvectors")
ax.scatter(index[top], np.sqrt(cos2[top]), s=18, color="C3", label=f"top {K} eigenvectors")
ax.set_xscale("log")
ax.set_xlabel("eigenvector index i (descending eigenvalue)")
ax.set_ylabel("|cos| between gradient and eigenvector i")
ax.set_title("overlap of the gradient with each Hessian eigenvector")
ax.legend()

axc.plot(index, cum, color="C0", label="cumulative fraction of ‖g‖²")
axc.axvline(K, color="C3", ls="--", lw=1, label=f"i = {K}")
if np.isfinite(power_k):
    axc.axhline(power_k, color="gray", ls=":", lw=1)
    axc.annotate(f"{100 * power_k:.0f}% of gradient power\nin the top {K} of {len(rows)}",
                 (K, power_k), xytext=(0.45, 0.1), textcoords="axes fraction", fontsize=10,
                 arrowprops={"arrowstyle": "->", "color": "gray"})
axc.set_xscale("log")
axc.set_ylim(0, 1.02)
axc.set_xlabel("number of top eigenvectors i")
axc.set_ylabel("fraction of gradient power in top i")
axc.set_title("cumulative gradient power")
axc.legend(loc="upper left")
fig.suptitle(f"Fig. 6: the gradient is confined to the top Hessian eigenspace (C = {C}, D = {len(rows)})")
fig.tight_layout()

# %%
for ext in ("png", "pdf"):
    fig.savefig(OUT / f"fig6_overlap.{ext}", dpi=150)
print("wrote", OUT / "fig6_overlap.png", "and .pdf")
