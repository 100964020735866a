# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The Goldilocks zone of a real network: restricted curvature and training in random hyperplanes
#
# Fort & Scherlis (2018) rescale a network's initial weights to norm r and restrict the Hessian to
# random d-dimensional hyperplanes (and hyperspheres) through that point: in a shell of radii around
# the standard initialisation, the restricted Hessian QᵀHQ has a large Trace/‖·‖ and an excess of
# positive eigenvalues, and Li et al. (2018) find that training confined to θ = θ₀ + Pφ (φ ∈ R^d)
# succeeds there with small d (intrinsic dimension d_int90: the smallest d reaching 90% of the
# full-space test accuracy).
#
# (a) Trace(QᵀHQ)/‖QᵀHQ‖₂ and the fraction of positive eigenvalues of QᵀHQ against r, mean ± standard
# error over R random hyperplanes (solid) and hyperspheres (dashed) for each d, and the full Hessian
# (exact trace); the vertical line is the standard initialisation radius r₀ and 0.5 the null of the
# positive fraction. (b) Test accuracy of training inside random d-dimensional hyperplanes against r,
# with the full-space baseline and d_int90 per r. (c) The paper's random model's Trace/‖H‖ against
# σ_z (reproduce sweep, mean ± std over seeds) beside the network's full-space Trace/‖H‖ against its
# measured logit std at each r, the standard initialisation highlighted.
#
# Data: `real/goldilocks/goldilocks.csv`, `goldilocks-train.csv`, `intrinsic.csv` (made by
# `fortganguli goldilocks … --train`, run by `scripts/reproduce-real.sh`) and `sweep/sweep.csv`
# (`fortganguli reproduce`), drawn by `scripts/figures.sh results/reproduce` (this file reads `$RESULTS`).

# %%
import csv
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import num, save  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
GOLD = RESULTS / "real" / "goldilocks"
if not (GOLD / "goldilocks.csv").exists():
    print(f"goldilocks: no {GOLD / 'goldilocks.csv'}; run `fortganguli goldilocks … --train` "
          "(scripts/reproduce-real.sh) first — skipped")
    raise SystemExit(0)


def read(path):
    """A CSV as a list of dicts: numbers as floats (NaN for empty or undefined cells), `kind` as text."""
    with open(path, newline="") as f:
        return [{k: (v.strip() if k == "kind" else num(v)) for k, v in r.items()} for r in csv.DictReader(f)]


def column(rows, key):
    return np.array([r[key] for r in rows], dtype=float)


rows = read(GOLD / "goldilocks.csv")
if not rows:
    print(f"goldilocks: {GOLD / 'goldilocks.csv'} has no rows yet — skipped")
    raise SystemExit(0)
r0 = float(np.nanmedian(column(rows, "standard_init_radius")))
full = sorted((r for r in rows if r["kind"] == "full"), key=lambda r: r["radius"])
D = int(full[0]["dimension"]) if full else None
dims = sorted({int(r["dimension"]) for r in rows if r["kind"] in ("hyperplane", "sphere")})
planes = sorted({int(r["hyperplanes"]) for r in rows if r["kind"] in ("hyperplane", "sphere") and np.isfinite(r["hyperplanes"])})
R = "/".join(str(p) for p in planes) or "?"
radii = np.unique(column(rows, "radius"))


def series(kind, d=None):
    """Rows of one kind (and dimension), sorted by radius, as arrays of every column."""
    sel = sorted((r for r in rows if r["kind"] == kind and (d is None or int(r["dimension"]) == d)),
                 key=lambda r: r["radius"])
    return {k: column(sel, k) for k in (sel[0] if sel else {}) if k != "kind"}


def at_r0(x, y):
    """y at the standard initialisation radius, interpolated in log r (exact when r₀ is a grid point)."""
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    if ok.sum() == 0:
        return np.nan
    return float(np.interp(np.log(r0), np.log(x[ok]), y[ok], left=np.nan, right=np.nan))


COLORS = {d: f"C{i}" for i, d in enumerate(dims)}
print(f"{len(radii)} radii from {radii.min():.3g} to {radii.max():.3g} (standard initialisation r₀ = {r0:.4g}); "
      f"hyperplane dimensions {dims}, R = {R} hyperplanes/spheres each; D = {D}")

# %%
fig, axes = plt.subplots(2, 2, figsize=(14, 10.5), constrained_layout=True)
ax_t, ax_p, ax_b, ax_c = axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]


def mark_r0(ax, label=True):
    """The standard initialisation radius as a vertical line; the measured radii as the x ticks."""
    ax.axvline(r0, color="gray", ls="-.", lw=1, label=f"standard init r₀ = {r0:.3g}" if label else None)
    ax.set_xscale("log")
    ax.set_xticks(radii, [f"{r:.3g}" for r in radii], fontsize=8)
    ax.xaxis.set_minor_formatter(NullFormatter())


# (a) restricted Trace/‖·‖ and positive fraction against r
ton_all = []
for d in dims:
    for kind, style, mfc in [("hyperplane", "-", None), ("sphere", "--", "none")]:
        s = series(kind, d)
        if not s:
            continue
        ton_all.append(s["trace_over_norm"])
        ax_t.errorbar(s["radius"], s["trace_over_norm"], yerr=s["trace_over_norm_se"], fmt="o" + style, ms=4, mfc=mfc,
                      color=COLORS[d], capsize=2, lw=1.3, label=f"d = {d}, random {kind}s")
        if np.isfinite(s["positive_fraction"]).any():
            ax_p.errorbar(s["radius"], s["positive_fraction"], yerr=s["positive_fraction_se"], fmt="o" + style, ms=4,
                          mfc=mfc, color=COLORS[d], capsize=2, lw=1.3, label=f"d = {d}, random {kind}s")
if full:
    f = series("full")
    ton_all.append(f["trace_over_norm"])
    ax_t.plot(f["radius"], f["trace_over_norm"], "ks-", ms=4, lw=1.5, label=f"full Hessian (D = {D}, exact trace)")
    if np.isfinite(f["positive_fraction"]).any():
        ax_p.plot(f["radius"], f["positive_fraction"], "ks-", ms=4, lw=1.5, label=f"full Hessian (D = {D})")
ton_all = np.concatenate(ton_all) if ton_all else np.array([])
ton_all = ton_all[np.isfinite(ton_all)]
if len(ton_all) and ton_all.max() > 0:
    if ton_all.min() > 0 and ton_all.max() / ton_all.min() > 30:
        ax_t.set_yscale("log")   # d = 10, d = 100 and D differ by decades
    elif ton_all.min() <= 0 and ton_all.max() > 30 * max(np.abs(ton_all[ton_all != 0]).min(), 1e-3):
        ax_t.set_yscale("symlog", linthresh=1.0)   # negative values and decades: linear within ±1
        ax_t.axhline(0, color="gray", lw=0.6)
mark_r0(ax_t)
ax_t.set_xlabel("weight-vector norm r = ‖θ‖ (initial weights rescaled)")
ax_t.set_ylabel("Trace / ‖·‖₂ of the restricted Hessian QᵀHQ")
ax_t.set_title(f"(a) Trace/‖·‖ of the Hessian restricted to random d-dim. subspaces vs radius r\n"
               f"mean ± se over R = {R} random hyperplanes (solid) and hyperspheres (dashed)", fontsize=9.5)
ax_t.legend(fontsize=7.5, loc="best")

ax_p.axhline(0.5, color="k", ls=":", lw=1.2, label="0.5: null (symmetric spectrum)")
mark_r0(ax_p)
ax_p.set_xlabel("weight-vector norm r = ‖θ‖ (initial weights rescaled)")
ax_p.set_ylabel("fraction of positive eigenvalues of QᵀHQ")
ax_p.set_title(f"(a) Fraction of positive eigenvalues of the restricted Hessian vs radius r\n"
               f"mean ± se over R = {R} random hyperplanes (solid) and hyperspheres (dashed)", fontsize=9.5)
ax_p.legend(fontsize=7.5, loc="best")

# (b) hyperplane training
TRAIN, INTRINSIC = GOLD / "goldilocks-train.csv", GOLD / "intrinsic.csv"
train = read(TRAIN) if TRAIN.exists() else []
d90 = {}
if train:
    tdims = sorted({int(r["dimension"]) for r in train})
    # the largest dimension at each radius is the full-space baseline
    base = {}
    for r in train:
        p = int(r["radius_point"])
        if p not in base or r["dimension"] > base[p]["dimension"]:
            base[p] = r
    brows = sorted(base.values(), key=lambda r: r["radius"])
    br, bacc = column(brows, "radius"), column(brows, "test_accuracy")
    steps = sorted({int(r["steps"]) for r in train if np.isfinite(r["steps"])})
    sub = sorted({int(r["dimension"]) for r in train if int(r["radius_point"]) in base and r is not base[int(r["radius_point"])]})
    tcolors = {d: COLORS.get(d, f"C{len(dims) + i}") for i, d in enumerate(sub)}
    for d in sub:
        sel = sorted((r for r in train if int(r["dimension"]) == d and r is not base[int(r["radius_point"])]),
                     key=lambda r: r["radius"])
        ax_b.plot(column(sel, "radius"), column(sel, "test_accuracy"), "o-", ms=4, color=tcolors[d], label=f"d = {d}: test")
        ax_b.plot(column(sel, "radius"), column(sel, "train_accuracy"), ":", lw=1, color=tcolors[d])
    ax_b.plot(br, bacc, "ks-", ms=4, lw=1.5, label=f"full space (D = {int(brows[0]['dimension'])}): test")
    ax_b.plot(br, column(brows, "train_accuracy"), "k:", lw=1)
    ax_b.plot(br, 0.9 * bacc, color="gray", ls="--", lw=1, label="90% of the full-space test accuracy")
    ax_b.plot([], [], "k:", lw=1, label="dotted: train accuracy")
    if INTRINSIC.exists():
        for r in read(INTRINSIC):
            d90[r["radius"]] = r["d_int90"]
    else:   # the same rule as the tool: the smallest hyperplane d reaching 90% of the baseline's test accuracy
        for p, b in base.items():
            ok = [int(r["dimension"]) for r in train if int(r["radius_point"]) == p and r is not b
                  and r["test_accuracy"] >= 0.9 * b["test_accuracy"]]
            d90[b["radius"]] = float(min(ok)) if ok else np.nan
    top = max(1.0, np.nanmax(column(train, "train_accuracy")) + 0.02) if np.isfinite(column(train, "train_accuracy")).any() else 1.0
    ax_b.set_ylim(0, top + 0.1)
    for r, v in d90.items():
        ax_b.annotate(f"d₉₀={int(v)}" if np.isfinite(v) else f"d₉₀>{max(sub) if sub else '?'}", (r, top + 0.05),
                      ha="center", va="center", fontsize=7.5,
                      bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.7", lw=0.6))
    mark_r0(ax_b)
    ax_b.legend(fontsize=7.5, loc="best")
    ax_b.set_title(f"(b) Accuracy after training only inside a random d-dimensional hyperplane through θ₀ at radius r\n"
                   f"({'/'.join(map(str, steps))} steps; boxes: d₉₀, the smallest d reaching 90% of the full-space "
                   "test accuracy)", fontsize=9.5)
else:
    ax_b.text(0.5, 0.5, f"no {TRAIN.name}\n(run `fortganguli goldilocks … --train`)", ha="center", va="center",
              transform=ax_b.transAxes)
    ax_b.set_title("(b) Training inside random hyperplanes: not run", fontsize=9.5)
ax_b.set_xlabel("weight-vector norm r = ‖θ‖ at which θ₀ is placed")
ax_b.set_ylabel("accuracy")

# (c) the model against σ_z beside the network against its logit std
SWEEP = RESULTS / "sweep"
model_d = None
if (SWEEP / "sweep.csv").exists():
    from _sweep import Sweep  # noqa: E402

    sweep = Sweep(SWEEP)
    Dm = sweep.manifest.get("dimension", "D")
    model_d = sweep.manifest.get("hyperplane_dimension")
    z, m, s = sweep.by_point("trace_over_norm")
    ax_c.plot(z, m, "-", color="C3", lw=1.5, label=f"model: full Hessian (D = {Dm}) vs σ_z, ± std over seeds")
    ax_c.fill_between(z, m - s, m + s, color="C3", alpha=0.2, lw=0)
    if model_d in dims and "trace_over_norm_hyperplane" in sweep.rows[0]:
        z, m, s = sweep.by_point("trace_over_norm_hyperplane")
        ax_c.plot(z, m, ":", color="C3", lw=1.5, label=f"model: random d = {model_d} hyperplanes vs σ_z")
        ax_c.fill_between(z, m - s, m + s, color="C3", alpha=0.12, lw=0)
else:
    ax_c.text(0.5, 0.03, "no sweep/sweep.csv: model curve not drawn", ha="center", transform=ax_c.transAxes, fontsize=8)
if full:
    f = series("full")
    ax_c.plot(f["logit_std"], f["trace_over_norm"], "ks-", ms=4, lw=1.5,
              label=f"network: full Hessian (D = {D}) vs logit std, a point per r")
    if model_d in dims:
        h = series("hyperplane", model_d)
        ax_c.errorbar(h["logit_std"], h["trace_over_norm"], yerr=h["trace_over_norm_se"], fmt="o:", ms=4, color="k",
                      mfc="none", capsize=2, label=f"network: random d = {model_d} hyperplanes (± se, R = {R})")
    ls0 = np.exp(at_r0(f["radius"], np.log(f["logit_std"])))
    t0 = at_r0(f["radius"], f["trace_over_norm"])
    exact = np.isclose(f["radius"], r0, rtol=1e-4).any()
    if np.isfinite(ls0):
        ax_c.axvline(ls0, color="gray", ls="-.", lw=1)
        ax_c.plot([ls0], [t0], "*", ms=16, color="gold", mec="k", zorder=5,
                  label=f"network at standard init (r₀ = {r0:.3g}, logit std {ls0:.2g}"
                        + (")" if exact else "; interpolated in log r)"))
ax_c.set_xscale("log")
ax_c.set_xlabel("logit scale: σ_z (model), measured logit std at radius r (network)")
ax_c.set_ylabel("Trace(H) / ‖H‖₂")
ax_c.set_title("(c) Trace/‖H‖ against the logit scale: the paper's random model vs σ_z,\n"
               "the network (weights rescaled to radius r) vs its measured logit std", fontsize=9.5)
ys = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in ax_c.get_lines()] + [np.array([0.0])])
low, high = ax_c.get_ylim()
low = 0 if np.nanmin(ys) >= 0 else low
ax_c.set_ylim(low, high + 0.5 * (high - low))   # headroom for the legend above the curves
ax_c.legend(fontsize=7.5, loc="upper center")
fig.suptitle("Goldilocks zone of the network at initialisation (weights rescaled to norm r): "
             f"d = {', '.join(map(str, dims))}, R = {R} random hyperplanes and spheres per point, D = {D}")
save(fig, RESULTS / "figures", "goldilocks")

# %% [markdown]
# ## Summary: where the zone lies relative to the standard initialisation, and d_int90 per r

# %%
def peak(x, y):
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return np.nan, np.nan
    i = np.argmax(np.where(ok, y, -np.inf))
    return x[i], y[i]


def where(r):
    if not np.isfinite(r):
        return "nowhere (no finite values)"
    edge = " (the edge of the grid: the zone may lie beyond)" if r in (radii.min(), radii.max()) and len(radii) > 2 else ""
    return f"r = {r:.3g} = {r / r0:.2g} × r₀{edge}"


on_grid = np.isclose(radii, r0, rtol=1e-4).any()
print(f"standard initialisation r₀ = {r0:.4g}; radii {radii.min():.3g} … {radii.max():.3g} ({len(radii)} points); "
      + ("r₀ is a grid point" if on_grid else "r₀ is not a grid point: values at r₀ are interpolated in log r"))
for d in dims:
    for kind in ("hyperplane", "sphere"):
        s = series(kind, d)
        if not s:
            continue
        rt, vt = peak(s["radius"], s["trace_over_norm"])
        rp, vp = peak(s["radius"], s["positive_fraction"])
        print(f"d = {d:>4} {kind + 's':<11}: highest Trace/‖·‖ {vt:.3g} at {where(rt)}; "
              f"highest positive fraction {vp:.3f} at {where(rp)}; at r₀: Trace/‖·‖ "
              f"{at_r0(s['radius'], s['trace_over_norm']):.3g}, positive fraction {at_r0(s['radius'], s['positive_fraction']):.3f}")
if full:
    f = series("full")
    rt, vt = peak(f["radius"], f["trace_over_norm"])
    print(f"full Hessian: highest Trace/‖H‖ {vt:.3g} at {where(rt)}; at r₀ {at_r0(f['radius'], f['trace_over_norm']):.3g}")
if d90:
    print("\nintrinsic dimension d_int90 (smallest hyperplane d reaching 90% of the full-space test accuracy) per r:")
    print(f"{'r':>10} {'r/r₀':>7} {'baseline test acc':>18} " + " ".join(f"{'d=' + str(d):>8}" for d in sub) + f" {'d_int90':>8}")
    for r, v in sorted(d90.items()):
        p = [b for b in brows if np.isclose(b["radius"], r)]
        acc = {int(t["dimension"]): t["test_accuracy"] for t in train if np.isclose(t["radius"], r)}
        print(f"{r:>10.4g} {r / r0:>7.3g} {p[0]['test_accuracy'] if p else np.nan:>18.3f} "
              + " ".join(f"{acc.get(d, np.nan):>8.3f}" for d in sub) + f" {('%d' % v) if np.isfinite(v) else '> ' + str(max(sub) if sub else '?'):>8}")
else:
    print("no hyperplane training (goldilocks-train.csv): d_int90 not measured")
