"""Vectorised NumPy peer of `fortganguli simulate --dimension 1e9` (Gram engine, full spectrum).

The Swift tool never touches a D-vector at D = 10^9: it samples the Gram W of the model's
generator vectors directly and works in that (m + d)-dimensional space. This script does the same
computation by the same route with NumPy alone, so `make bench` can time the two side by side
(paper setting: N = 300 examples, C = 10 classes, sigma_z = 15, sigma_c = 1, sigma_E = 0.7 in
units of 1/sqrt(D), accuracy 0.95, one hyperplane of d = 10, eq. 16 Hessian):

  1. logits z ~ N(0, sigma_z^2), softmax p; label = argmax w.p. 0.95, else a uniform other class
     (`LogitSample`; the random streams differ from Swift's, the distributions do not);
  2. W of the m + d vectors (m = C + N*C generators c_k, e^mu_k, then the d hyperplane Gaussians)
     by the Bartlett decomposition W = U U^T, U upper triangular with U_ii = sqrt(chi2(D - (n-1-i))),
     U_ij ~ N(0, 1) for i < j (`Wishart.bartlett`), U U^T formed blockwise over U's nonzero
     triangle (n^3/3 flops, as LAPACK's dlauum, not a dense matmul's 2n^3); then scaled by
     sigma_c/sqrt(D) (c rows), sigma_E/sqrt(D) (e rows), 1 (hyperplane rows) (`GeneratorLayout.scales`);
  3. the block-diagonal mixing F (`GramModel.mixing`, eq. 16): block 0 is the C x (C-1) factor
     G = Q (Q^T Pbar Q)^(1/2) of Pbar on the c rows, block 1 + mu is G(P^mu)/sqrt(N) on e^mu's rows,
     Q an orthonormal basis of 1-perp (`reducedFactor`); H = Y F F^T Y^T has the nonzero spectrum
     of K = F^T W F, order (N+1)(C-1);
  4. as `ModelSimulation.measure(_: GramModel)`: all eigenvalues of K (eigh: NumPy exposes no
     dsytrd/dormtr, so the eigenvectors are formed where Swift only transforms its probes), the
     gradient g = Y v (`gradientCoefficients`) and its overlaps (w_i . F^T W v)/sqrt(lambda_i), the
     power of g in the top C; the noise term's top C eigenvalues as those of K's trailing block behind
     the C-1 signal columns, by vectorised inertia bisection (`Eigen.trailingBlockLargest`); bulk
     edge, margin and outliers (`OutlierCount`); Trace/||H||; the hyperplane's Trace/||Q^T H Q||
     with Q^T H Q = (Z R^-1)^T (Z R^-1), Z = F^T W[:, hyperplane], R^T R = W[hyperplane, hyperplane];
  5. q_SLSC, q_SL, q_DL (eqs. 11-13) from the (N*C)^2 logit-gradient Gram A^T W A (J^mu_k = c_k + e^mu_k)
     by one-hot group sums of the normalised Gram (`LogitGradientPairSums(gram:)`), no loops over pairs.

Not done (Swift's `simulate` also does it): the class decomposition of the G-term (ggn_* keys).

Usage: python bench/numpy_gram.py [--repeats R] [--examples N] [--seed S] [--dimension D]
Runs seeds S, S+1, ... (one a repeat; no warm-up: one run takes seconds), prints one line of
statistics per seed and, as its last line, one JSON object with the timings (computation only).
"""
import argparse
import json
import time

import numpy as np

from numpy_model import blas_info  # the BLAS numpy runs on, named as the dense reference names it

C, SIGMA_Z, SIGMA_C, SIGMA_E, ACCURACY, HYPERPLANE_DIM = 10, 15.0, 1.0, 0.7, 0.95, 10


def bartlett_gram(rng, n, dof, block=512):
    """W ~ Wishart_n(dof, I) as U U^T (`Wishart.bartlett`): U upper triangular, U_ii =
    sqrt(chi2(dof - (n-1-i))), U_ij ~ N(0, 1) for i < j. The product is formed from U's nonzero
    triangle only, block (I, J >= I) = U[I, J0:] U[J, J0:]^T (J0: J's first row; U[J] is zero
    before it), about n^3/3 flops as LAPACK's dlauum, a third of a dense matmul's and on 2 cores
    twice as fast; entries below U's diagonal blocks are drawn but never read."""
    u = rng.standard_normal((n, n))
    u[np.diag_indices(n)] = np.sqrt(rng.chisquare(dof - (n - 1 - np.arange(n))))
    starts = range(0, n, block)
    for i0 in starts:
        u[i0:i0 + block, i0:i0 + block] = np.triu(u[i0:i0 + block, i0:i0 + block])
    w = np.empty((n, n))
    for i0 in starts:
        for j0 in starts[i0 // block:]:
            b = u[i0:i0 + block, j0:] @ u[j0:j0 + block, j0:].T
            w[i0:i0 + block, j0:j0 + block] = b
            w[j0:j0 + block, i0:i0 + block] = b.T
    return w


def reduced_factors(h):
    """G = Q (Q^T H Q)^(1/2), C x (C-1), for a stack of PSD matrices H with range in 1-perp (softmax
    Hessians diag(p) - p p^T and their mean), so that G G^T = H; Q spans 1-perp (`reducedFactor`)."""
    c = h.shape[-1]
    q, _ = np.linalg.qr(np.eye(c)[:, :c - 1] - 1.0 / c)
    vals, vecs = np.linalg.eigh(q.T @ h @ q)
    root = (vecs * np.sqrt(np.clip(vals, 0.0, None))[..., None, :]) @ np.swapaxes(vecs, -1, -2)
    return q @ root


def trailing_block_largest(values, leading, count):
    """The `count` largest eigenvalues of K[L:, L:] from K's eigenvalues (descending) and the first
    L components of its eigenvectors (rows of `leading`), all values bisected at once: by inertia
    additivity, #eig(K[L:, L:]) > mu = #eig(K) > mu - #positive eig(leading^T (Lambda - mu)^-1 leading)."""
    n, l = leading.shape
    j = np.arange(min(count, n - l))
    hi = values[j].copy()
    lo = np.where(j + l < n, values[np.minimum(j + l, n - 1)], min(0.0, values[-1]))
    tol = 4 * np.finfo(float).eps * np.maximum(np.abs(hi), np.abs(lo))
    for _ in range(200):
        if np.all(hi - lo <= tol):
            break
        mid = 0.5 * (lo + hi)
        inv = 1.0 / (values[None, :] - mid[:, None])                   # (count, n)
        r = np.einsum("ni,mn,nj->mij", leading, inv, leading, optimize=True)
        above = (values[None, :] > mid[:, None]).sum(1) - (np.linalg.eigvalsh(r) > 0).sum(1)
        go_up = above >= j + 1
        lo, hi = np.where(go_up, mid, lo), np.where(go_up, hi, mid)
    return 0.5 * (lo + hi)


def run(seed, examples=300, dimension=1e9):
    """One sample of the model (N = `examples`, D = `dimension`) and its statistics, as the Swift
    tool's summary.json names them; everything from one `default_rng(seed)`."""
    rng = np.random.default_rng(seed)
    N, c = examples, C
    m, d = c + N * c, HYPERPLANE_DIM                                     # generators, hyperplane columns
    n = m + d                                                             # order of W

    # 1. logits, softmax, labels (argmax w.p. ACCURACY, else a uniform other class)
    z = SIGMA_Z * rng.standard_normal((N, c))
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    best = p.argmax(axis=1)
    other = rng.integers(0, c - 1, N)
    labels = np.where(rng.random(N) < ACCURACY, best, np.where(other < best, other, other + 1))
    r = np.eye(c)[labels] - p                                            # residuals y - p

    # 2. Bartlett: W ~ Wishart_n(D, I), then the generator scales
    w = bartlett_gram(rng, n, dimension)
    scale = np.concatenate([np.full(c, SIGMA_C), np.full(N * c, SIGMA_E)]) / np.sqrt(dimension)
    scale = np.concatenate([scale, np.ones(d)])
    w *= scale[:, None] * scale[None, :]

    # 3. block-diagonal F: blocks (N+1) of C rows x (C-1) columns; T = W F, K = F^T W F
    hess = p[:, :, None] * np.eye(c) - p[:, :, None] * p[:, None, :]    # P^mu, (N, C, C)
    hess = np.concatenate([hess.mean(0, keepdims=True), hess / N])      # Pbar, then P^mu/N
    g = reduced_factors(hess)                                           # (N+1, C, C-1)
    blocks, cols = N + 1, (N + 1) * (c - 1)
    t_full = np.einsum("nbc,bcj->nbj", w[:, :m].reshape(n, blocks, c), g).reshape(n, cols)
    k = (np.swapaxes(g, 1, 2) @ t_full[:m].reshape(blocks, c, cols)).reshape(cols, cols)

    # 4. spectrum, gradient overlaps, noise edge by bisection, trace, hyperplane
    v = np.concatenate([r.sum(0), r.ravel()]) / N                     # g = Y v
    t = t_full[:m].T @ v
    vals, vecs = np.linalg.eigh(k)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    noise_top = trailing_block_largest(vals, vecs[:c - 1].T, max(c, 2))  # behind the C-1 signal columns
    floor = cols * np.finfo(float).eps * vals[0]
    proj = np.where(vals > floor, (vecs.T @ t) / np.sqrt(np.clip(vals, floor, None)), 0.0)
    cos2 = proj ** 2 / (v @ w[:m, :m] @ v)
    edge = noise_top[0]
    margin = edge - noise_top[min(max(c, 2), noise_top.size) - 1]
    chol = np.linalg.cholesky(w[m:, m:])                                  # W_hh = L L^T, R = L^T
    zr = np.linalg.solve(chol, t_full[m:])                                # (Z R^-1)^T, d x cols
    hyper = np.linalg.eigvalsh(zr @ zr.T)

    # 5. q's from the logit-gradient Gram: J^mu_k = c_k + e^mu_k
    kk = np.tile(np.arange(c), N)                                       # logit k of index mu*C + k
    wce = w[kk, c:m]                                                      # c_k . e^nu_l
    kj = w[c:m, c:m] + wce
    kj += wce.T
    kj.reshape(N, c, N, c)[...] += w[:c, :c][None, :, None, :]          # c_k . c_l
    norms = 1.0 / np.sqrt(np.diag(kj))
    kn = kj * norms[:, None] * norms[None, :]
    group = kk * c + np.repeat(labels, c)                                 # index k*C + y_mu
    onehot = np.eye(c * c)[group]
    sums = onehot.T @ kn @ onehot
    diag = np.diag(kn)
    self_sums = np.bincount(group, weights=diag, minlength=c * c)
    same = kn.reshape(N, c, N, c)[np.arange(N), :, np.arange(N), :]
    cross = same.sum() - diag.sum()
    counts = np.bincount(labels, minlength=c)
    own = np.arange(c) * c + np.arange(c)
    ok = counts >= 2
    q_slsc = np.mean((np.diag(sums)[own] - self_sums[own])[ok] / (counts * (counts - 1.0))[ok])
    per_logit = sums.reshape(c, c, c, c).sum(axis=(1, 3))
    pairs = N * (N - 1.0)
    q_sl = np.mean((np.diag(per_logit) - self_sums.reshape(c, c).sum(1)) / pairs)
    q_dl = (per_logit.sum() - np.trace(per_logit) - cross) / (pairs * c * (c - 1))

    return {
        "bulk_edge": float(edge), "outlier_margin": float(margin),
        "outliers": int((vals > edge + margin).sum()),
        "gradient_power_top_k": float(cos2[:c].sum()),
        "trace": float(np.trace(k)), "trace_over_norm": float(np.trace(k) / np.abs(vals).max()),
        "trace_over_norm_hyperplane": float(hyper.sum() / np.abs(hyper).max()),
        "q_slsc": float(q_slsc), "q_sl": float(q_sl), "q_dl": float(q_dl),
        "eigenvalues_top": vals[:12].tolist(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="seeds to run, one a repeat")
    parser.add_argument("--examples", type=int, default=300, help="N")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--dimension", type=float, default=1e9, help="D")
    args = parser.parse_args()

    times, results = [], []
    for seed in range(args.seed, args.seed + args.repeats):
        t0 = time.perf_counter()
        s = run(seed, args.examples, args.dimension)
        times.append(time.perf_counter() - t0)
        results.append(s)
        print(f"seed {seed}: {times[-1]:.2f} s, bulk edge {s['bulk_edge']:.4g}, {s['outliers']} outliers, "
              f"top-{C} gradient power {s['gradient_power_top_k']:.3f}, Trace/|H| {s['trace_over_norm']:.3g}, "
              f"hyperplane {s['trace_over_norm_hyperplane']:.3g}, q^SLSC {s['q_slsc']:.3f}, "
              f"q^SL {s['q_sl']:.3f}, q^DL {s['q_dl']:.2g}", flush=True)

    print(json.dumps({
        "implementation": "numpy-gram",
        "numpy_version": np.__version__,
        "median_seconds": float(np.median(times)),
        "min_seconds": float(np.min(times)),
        "repeats": args.repeats,
        "examples": args.examples,
        "dimension": args.dimension,
        "blas": blas_info(),
        "outliers": [s["outliers"] for s in results],
        "bulk_edge": [s["bulk_edge"] for s in results],
    }))


if __name__ == "__main__":
    main()
