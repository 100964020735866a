# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # The jamming transition of hinge-loss networks (Geiger et al. 2018)
#
# ReLU networks with L hidden layers of width h are trained with the quadratic hinge
# ℓ = ½max(0, Δ)², Δ = ε − y·f (ε = ½), by full-batch Adam on P = r·N patterns, N the number of
# weights minus one per hidden neuron. Below r_c every pattern is fitted (N_Δ = 0); above it the
# number of unsatisfied patterns per parameter N_Δ/N jumps to a finite value (the paper: ≈ 0.7 on
# random data, ≈ 0.5 on MNIST-PCA, r_c ≈ 2.8–2.9 for 10⁷-step runs; short runs give lower r_c).
#
# Row 1 (Figs. 5A–C, 8A–C): N_Δ/N against r and against the final loss (the latter without the
# scatter), misclassified patterns against the loss, and N_Δ/N against r at several training times
# of one grid (the transition moves right as training goes on). Row 2 (Figs. 6 and 8E–H): the
# spectra of H₀ (a delta at zero of weight 1 − N_Δ/N, a gap, a continuum), of H_p (symmetric:
# linear, and its positive part on log axes) and of the total Hessian H at the run nearest r_c from
# above. Row 3 (Fig. 7, 8D, 9): P₊(z), z = Δ/√L, and P₋(|Δ|) on 130 log bins from 10⁻⁹ to 10⁴,
# pooled over the runs just above r_c, with the maximum-likelihood exponents θ and γ (± standard
# error) on the fitted range; the spectra of the Fashion-MNIST-PCA network; N* (the network size
# at the transition) against the number of patterns P* = r_c·N for random and real data.
#
# Data: `real/jamming/<grid>/{jamming.csv,summary.json,runs/*/delta.npy,runs/*/history.csv}` and
# `real/jamming/<grid>-spectrum/{h0,hp,h,delta}.npy, summary.json`, made by `fortganguli jamming`
# and `jamming-spectrum` (run by `scripts/reproduce-real.sh`), drawn by
# `scripts/figures.sh results/reproduce` (this file reads `$RESULTS`).

# %%
import csv
import json
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent) if "__file__" in globals() else "notebooks-export")
from _real import num, save  # noqa: E402

RESULTS = Path(os.environ.get("RESULTS", "results/reproduce"))
JAM = RESULTS / "real" / "jamming"
grids = sorted(p.parent for p in JAM.glob("*/jamming.csv")) if JAM.exists() else []
if not grids:
    print(f"jamming: no {JAM}/*/jamming.csv; run `fortganguli jamming` (scripts/reproduce-real.sh) first — skipped")
    raise SystemExit(0)


def rows(grid):
    with open(grid / "jamming.csv", newline="") as f:
        return [{k: num(v) for k, v in r.items()} for r in csv.DictReader(f)]


def summary(folder):
    path = folder / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def label(grid, s):
    kind = "Fashion-MNIST-PCA" if str(s.get("data", "")).startswith("fashion") else "random"
    return f"{kind}, L = {s.get('depth')}, d = {s.get('input_dimension')}, h = {s.get('width')} (N = {s.get('parameters')})"


GRIDS = []
for i, g in enumerate(grids):
    s = summary(g)
    GRIDS.append(dict(path=g, rows=rows(g), summary=s, label=label(g, s), color=f"C{i}",
                      marker="os^Dv<>"[i % 7], fashion=str(s.get("data", "")).startswith("fashion")))
for G in GRIDS:
    s = G["summary"]
    rc, res = s.get("r_c"), s.get("r_c_resolution")
    rc_text = "not bracketed" if rc is None else f"{rc:.3g} ± {res:.2g}"
    print(f"{G['path'].name}: {len(G['rows'])} runs, {G['label']}, {s.get('steps')} steps a run; "
          f"r_c = {rc_text} "
          f"(all fit at {s.get('r_all_fitted')}, none at {s.get('r_none_fitted')}); "
          f"jump N_Δ/N = {s.get('n_delta_over_n_jump')}; θ = {s.get('theta')} ± {s.get('theta_standard_error')}, "
          f"γ = {s.get('gamma')} ± {s.get('gamma_standard_error')}")


def col(rs, key):
    return np.array([r[key] for r in rs], dtype=float)


def shade_rc(ax, s, color):
    lo, hi = s.get("r_all_fitted"), s.get("r_none_fitted")
    if lo is not None and hi is not None and lo < hi:
        ax.axvspan(lo, hi, color=color, alpha=0.08)


# %%
fig, axes = plt.subplots(3, 4, figsize=(22, 15.5), constrained_layout=True)

# (a) N_Δ/N against r; fitted runs sit at 0.
ax = axes[0, 0]
for G in GRIDS:
    r, f = col(G["rows"], "r"), col(G["rows"], "n_delta_over_n")
    ax.plot(r, f, G["marker"], color=G["color"], ms=5, alpha=0.75, mfc="none" if G["fashion"] else None, label=G["label"])
    shade_rc(ax, G["summary"], G["color"])
    if G["summary"].get("r_c") is not None:
        ax.axvline(G["summary"]["r_c"], color=G["color"], ls=":", lw=1)
ax.axhline(0.7, color="gray", ls="--", lw=0.8, label="paper: ≈ 0.7 just above r_c (random data)")
ax.set_xlabel("r = P/N")
ax.set_ylabel("N_Δ / N  (unsatisfied patterns per parameter)")
ax.set_title("(a) N_Δ/N vs r; shaded: r_c bracket (all seeds fit | none fit), dotted: r_c", fontsize=10)
ax.legend(fontsize=7.5, loc="upper left")

# (b) N_Δ/N against the final loss; (c) misclassified per pattern against the loss.
for ax, key, ylabel in [(axes[0, 1], "n_delta_over_n", "N_Δ / N"), (axes[0, 2], "misclassified", "misclassified patterns / P")]:
    for G in GRIDS:
        rs = [r for r in G["rows"] if r["loss"] > 0]
        if not rs:
            continue
        y = col(rs, key) / (col(rs, "examples") if key == "misclassified" else 1)
        ax.plot(col(rs, "loss"), y, G["marker"], color=G["color"], ms=5, alpha=0.75, mfc="none" if G["fashion"] else None,
                label=G["label"])
    ax.set_xscale("log")
    ax.set_xlabel("final loss L (fitted runs, L = 0, are left out)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7.5)
axes[0, 1].set_title("(b) N_Δ/N vs the loss: the jump at L → 0 without the scatter in r", fontsize=10)
axes[0, 2].set_title("(c) misclassified patterns (y·f ≤ 0) vs the loss: smooth", fontsize=10)

# (d) N_Δ/N against r at log-spaced training times of the first random grid (history.csv of each run).
ax = axes[0, 3]
G = next((G for G in GRIDS if not G["fashion"]), GRIDS[0])
N = G["summary"].get("parameters") or 1
histories = {}
for h in G["path"].glob("runs/*/history.csv"):
    point, seed = h.parent.name.split("-")[1], h.parent.name.split("-")[3]
    r = next((x["r"] for x in G["rows"] if int(x["point"]) == int(point) and str(int(x["seed"])) == seed), None)
    if r is None:
        continue
    with open(h, newline="") as f:
        histories[(r, seed)] = [(int(float(x["step"])), float(x["n_delta"])) for x in csv.DictReader(f)]
budget = int(G["summary"].get("steps") or 1)
times = sorted({t for t in np.unique(np.geomspace(max(budget / 100, 1), budget, 5).astype(int))})
cmap = plt.get_cmap("viridis")
for i, t in enumerate(times):
    pts = []
    for (r, _), hist in histories.items():
        steps = np.array([s for s, _ in hist])
        nd = np.array([n for _, n in hist])
        # N_Δ at time t: the last recorded value at or before t (a run that stopped has N_Δ = 0 afterwards).
        k = np.searchsorted(steps, t, side="right") - 1
        pts.append((r, nd[max(k, 0)] / N))
    if pts:
        pts = np.array(pts)
        ax.plot(pts[:, 0], pts[:, 1], "o", color=cmap(i / max(len(times) - 1, 1)), ms=4, alpha=0.8, label=f"after {t} steps")
ax.set_xlabel("r = P/N")
ax.set_ylabel("N_Δ / N")
ax.set_title(f"(d) N_Δ/N vs r during training ({G['path'].name}): the transition moves right", fontsize=10)
ax.legend(fontsize=7.5)


# %%
def spectrum(name):
    folder = JAM / name
    if not (folder / "h0.npy").exists():
        return None
    return {k: np.load(folder / f"{k}.npy") for k in ("h0", "hp", "h", "delta")} | {"summary": summary(folder)}


def log_hist(ax, values, color, label, floor):
    """Density of log10 λ for λ > floor (a histogram on log-spaced bins, normalised per eigenvalue of all)."""
    v = values[values > floor]
    if len(v) < 2:
        return
    bins = np.geomspace(v.min(), v.max() * 1.0001, 40)
    counts, edges = np.histogram(v, bins=bins)
    ax.stairs(counts / len(values) / np.diff(np.log10(edges)), edges, color=color, lw=1.5, label=label)


random_spec = next(((G, spectrum(G["path"].name + "-spectrum")) for G in GRIDS if not G["fashion"]
                    and spectrum(G["path"].name + "-spectrum") is not None), (None, None))
fashion_spec = next(((G, spectrum(G["path"].name + "-spectrum")) for G in GRIDS if G["fashion"]
                     and spectrum(G["path"].name + "-spectrum") is not None), (None, None))


def draw_spectra(G, S, ax_h0, ax_hp, ax_log, ax_h, tag):
    s = S["summary"]
    n, d = s["parameters"], s["parameters_total"]
    title = (f"{G['path'].name} at r = {s['r']:.3g}: P = {s['examples']}, N = {n} (D = {d}, N_eff = {s['parameters_effective']}), "
             f"N_Δ = {s['n_delta']}, L = {s['loss']:.2g}")
    thr = s["h0_zero_threshold"]
    if ax_h0 is not None:
        log_hist(ax_h0, S["h0"], "C0", "H₀ nonzero eigenvalues", thr)
        ax_h0.set_xscale("log")
        ax_h0.set_xlabel("λ")
        ax_h0.set_ylabel("density of log₁₀ λ (per eigenvalue)")
        ax_h0.set_title(f"({tag[0]}) H₀: a delta at 0 of weight (N − rank)/N = {s['h0_zero_modes_effective'] / n:.2f} "
                        f"(1 − N_Δ/N = {1 - s['n_delta'] / n:.2f}), a gap, a continuum\n{title}", fontsize=8)
    hp = S["hp"]
    scale = np.abs(hp).max() if len(hp) else 1
    nz = hp[np.abs(hp) > 1e-10 * scale]
    if ax_hp is not None and len(nz):
        lim = np.quantile(np.abs(nz), 0.98)
        ax_hp.hist(np.clip(nz, -lim, lim), bins=60, range=(-lim, lim), color="C1", alpha=0.7)
        ax_hp.axvline(0, color="k", lw=0.6)
        ax_hp.set_xlabel("λ (H_p, nonzero eigenvalues; the outer 2% clipped)")
        ax_hp.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
        ax_hp.locator_params(axis="x", nbins=5)
        ax_hp.set_ylabel("count")
        ax_hp.set_title(f"({tag[1]}) H_p is symmetric: N₋ = {s['hp_negative_fraction']:.3f}·D, N₊ = {s['hp_positive_fraction']:.3f}·D,\n"
                        f"s₃ = m₃/m₂^1.5 = {s['hp_third_moment']:.2g} ± {s['hp_third_moment_standard_error']:.2g}", fontsize=8.5)
    if ax_log is not None:
        log_hist(ax_log, hp, "C1", "H_p, λ > 0", 1e-10 * scale)
        log_hist(ax_log, -hp, "C3", "H_p, −λ for λ < 0", 1e-10 * scale)
        ax_log.legend(fontsize=7.5)
        ax_log.set_xscale("log")
        ax_log.set_xlabel("|λ|")
        ax_log.set_ylabel("density of log₁₀ λ")
        ax_log.set_title(f"({tag[2]}) H_p on log axes (Fig. 6A): its scale is set by √L = {np.sqrt(s['loss']):.2g}", fontsize=8.5)
    if ax_h is not None:
        h = S["h"]
        log_hist(ax_h, h, "C2", "H, λ > 0", 1e-10 * np.abs(h).max())
        log_hist(ax_h, S["h0"], "C0", "H₀, λ > 0", thr)
        ax_h.set_xscale("log")
        ax_h.set_xlabel("λ")
        ax_h.set_ylabel("density of log₁₀ λ")
        ax_h.legend(fontsize=7.5)
        ax_h.set_title(f"({tag[3]}) H = H₀ + H_p: the delta of H₀ smeared;\n{s['h_negative_fraction']:.2f}·D negative eigenvalues", fontsize=8.5)


G, S = random_spec
if S is not None:
    draw_spectra(G, S, axes[1, 0], axes[1, 1], axes[1, 2], axes[1, 3], "efgh")
else:
    for ax in axes[1]:
        ax.text(0.5, 0.5, "no jamming-spectrum of a random-data run", ha="center", transform=ax.transAxes)

# %%
# (i, j) P₊(z) and P₋(|Δ|) on the paper's 130 log bins, pooled over each grid's runs just above r_c.
EDGES = np.geomspace(1e-9, 1e4, 131)
for ax, which in [(axes[2, 0], "theta"), (axes[2, 1], "gamma")]:
    for G in GRIDS:
        s = G["summary"]
        values = []
        for run in s.get("transition_runs") or []:
            path = G["path"] / run / "delta.npy"
            loss = next((r["loss"] for r in G["rows"] if f"point-{int(r['point']):03d}-seed-{int(r['seed'])}" == Path(run).name), np.nan)
            if not path.exists() or not np.isfinite(loss):
                continue
            delta = np.load(path)
            values.append(delta[delta > 0] / np.sqrt(loss) if which == "theta" else -delta[delta < 0])
        values = np.concatenate(values) if values else np.array([])
        values = values[(values >= EDGES[0]) & (values <= EDGES[-1])]
        if len(values) < 2:
            continue
        counts, _ = np.histogram(values, bins=EDGES)
        density = counts / (len(values) * np.diff(EDGES))
        centres = np.sqrt(EDGES[:-1] * EDGES[1:])
        ok = counts > 0
        ax.plot(centres[ok], density[ok], G["marker"] + "-", color=G["color"], ms=3, lw=0.8, mfc="none" if G["fashion"] else None,
                label=f"{G['label']}: {len(values)} values")
        exponent, se, rng = s.get(which), s.get(which + "_standard_error"), s.get(which + "_range")
        if exponent is not None and rng:
            slope = exponent if which == "theta" else -exponent
            x = np.geomspace(rng[0], rng[1], 20)
            inside = (centres >= rng[0]) & (centres <= rng[1]) & ok
            if inside.any():
                # The fitted power law, matched to the histogram's mass on the fitted range.
                c = np.sum(density[inside]) / np.sum(centres[inside] ** slope)
                sym = "θ" if which == "theta" else "γ"
                ax.plot(x, c * x ** slope, "-", color=G["color"], lw=2.5, alpha=0.5, label=f"  fit {sym} = {exponent:.2f} ± {se:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    if which == "theta":
        ax.set_xlabel("z = Δ/√L  (unsatisfied patterns, Δ > 0)")
        ax.set_ylabel("P₊(z)")
        ax.set_title("(i) P₊(z) ~ z^θ near jamming (paper θ ≈ 0.3), runs just above r_c pooled; 130 log bins", fontsize=10)
    else:
        ax.set_xlabel("|Δ|  (satisfied patterns, Δ < 0)")
        ax.set_ylabel("P₋(|Δ|)")
        ax.set_title("(j) P₋(|Δ|) ~ |Δ|^−γ near jamming (paper γ ≈ 0.2)", fontsize=10)
    ax.legend(fontsize=7)

# (k) the Fashion-MNIST-PCA network's spectra (Fig. 8F–G): H_p (linear) and H₀.
G, S = fashion_spec
ax = axes[2, 2]
if S is not None:
    s = S["summary"]
    log_hist(ax, S["h0"], "C0", f"H₀ (zero modes {s['h0_zero_modes_effective']}/N = {s['h0_zero_modes_effective'] / s['parameters']:.2f})",
             s["h0_zero_threshold"])
    scale = np.abs(S["hp"]).max()
    log_hist(ax, S["hp"], "C1", f"H_p, λ > 0 (N₊ = {s['hp_positive_fraction']:.3f}·D)", 1e-10 * scale)
    log_hist(ax, -S["hp"], "C3", f"H_p, −λ for λ < 0 (N₋ = {s['hp_negative_fraction']:.3f}·D)", 1e-10 * scale)
    ax.set_xscale("log")
    ax.set_xlabel("λ")
    ax.set_ylabel("density of log₁₀ λ")
    ax.legend(fontsize=7.5)
    ax.set_title(f"(k) Fashion-MNIST-PCA ({G['path'].name}) at r = {s['r']:.3g}: N = {s['parameters']}, N_Δ = {s['n_delta']}, "
                 f"L = {s['loss']:.2g}", fontsize=9)
else:
    ax.text(0.5, 0.5, "no jamming-spectrum of a Fashion-MNIST-PCA run", ha="center", transform=ax.transAxes)

# (l) N* against P* = r_c·N: one point per grid, the bracket as an error bar.
ax = axes[2, 3]
for G in GRIDS:
    s = G["summary"]
    n = s.get("parameters")
    lo, hi = s.get("r_all_fitted"), s.get("r_none_fitted")
    if n is None or (lo is None and hi is None):
        continue
    if lo is None or hi is None:
        # Only a bound: r_c < (smallest r where none fit) or r_c > (largest r where all fit).
        bound = (hi if lo is None else lo) * n
        ax.plot([bound], [n], "<" if lo is None else ">", color=G["color"], ms=9,
                label=G["label"] + (" (r_c below the grid's first point where none fit)" if lo is None else " (r_c above the grid)"))
        continue
    mid = 0.5 * (lo + hi) * n
    ax.errorbar([mid], [n], xerr=[[mid - lo * n], [hi * n - mid]], fmt=G["marker"], color=G["color"], capsize=3,
                mfc="none" if G["fashion"] else None, label=G["label"])
xs = np.array(ax.get_xlim())
for rc, style in [(2.85, "--")]:
    ax.plot(xs, xs / rc, "k" + style, lw=0.8, label=f"N* = P/{rc} (paper, long runs, random data)")
ax.set_xlabel("P* = r_c·N (patterns at the transition)")
ax.set_ylabel("N* (parameters at the transition)")
ax.set_title("(l) N* vs P: random data against Fashion-MNIST-PCA (smaller N* = easier data)", fontsize=10)
ax.legend(fontsize=7, loc="lower right")

fig.suptitle("The jamming transition of hinge-loss ReLU networks (Geiger et al. 2018), measured by fortganguli jamming and jamming-spectrum",
             fontsize=13)
save(fig, RESULTS / "figures", "jamming")
