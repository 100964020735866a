"""Vectorised NumPy reference for the Fort-Ganguli (2019) random model benchmark.

Mirrors the Swift implementation's single-configuration computation at the
paper setting (N=300 examples, C=10 classes, D=1000 parameters, sigma_z=15,
sigma_c=1/sqrt(D), sigma_e=0.7/sqrt(D), label accuracy 0.95, hyperplane d=10):

  1. logits z ~ N(0, sigma_z^2), stable softmax p;
  2. labels: argmax class w.p. 0.95, otherwise a uniform other class;
  3. logit gradients J^mu_k = c_k + E^mu_k;
  4. Hessian (eq. 16)  H = c^T Pbar c + (1/N) sum_mu E^mu^T P^mu E^mu, built as
     A^T A with A = [sqrt(Pbar) c ; B], B^mu = F^mu^T E^mu / sqrt(N),
     F = diag(sqrt p) - p sqrt(p)^T (so F F^T = diag p - p p^T);
  5. gradient g = (1/N) sum_mu sum_k (y - p)^mu_k J^mu_k;
  6. eigh(H), top-C noise eigenvalues, cos^2(g, eigenvectors), fraction of
     ||g||^2 in the top C, Trace(H)/lambda_max, and Trace/||.||_2 of Q^T H Q
     for a random d-dimensional hyperplane Q;
  7. q_SL, q_SLSC, q_DL (eqs. 11-13) from unit-normalised J, without O(N^2) loops;
  8. mean max probability and mean entropy (bits).

Usage: python bench/numpy_model.py [--repeats R] [--seed S]
Prints one line of JSON with timing (sampling included) and sanity numbers.
"""
import argparse
import json
import time

import numpy as np

N, C, D = 300, 10, 1000
SIGMA_Z, SIGMA_C, SIGMA_E = 15.0, 1.0 / np.sqrt(D), 0.7 / np.sqrt(D)
ACCURACY, HYPERPLANE_DIM = 0.95, 10


def run(seed):
    rng = np.random.default_rng(seed)

    # 1. logits and stable softmax
    z = rng.normal(0.0, SIGMA_Z, (N, C))
    logp = z - z.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    p = np.exp(logp)

    # 2. labels: correct w.p. ACCURACY, else a uniformly chosen other class
    top = p.argmax(axis=1)
    wrong = rng.random(N) >= ACCURACY
    labels = np.where(wrong, (top + rng.integers(1, C, N)) % C, top)
    y = np.eye(C)[labels]

    # 3. class means, residuals, logit gradients
    c = rng.normal(0.0, SIGMA_C, (C, D))
    E = rng.normal(0.0, SIGMA_E, (N, C, D))
    J = c[None] + E

    # 4. Hessian: exact per-example factor F (F F^T = diag p - p p^T)
    sp = np.sqrt(p)
    F = np.einsum("nk,kl->nkl", sp, np.eye(C)) - p[:, :, None] * sp[:, None, :]
    B = np.einsum("nkj,nkd->njd", F, E).reshape(N * C, D) / np.sqrt(N)
    Pbar = np.diag(p.mean(axis=0)) - p.T @ p / N
    w, V = np.linalg.eigh(Pbar)
    sqrt_Pbar = (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T
    A = np.vstack([sqrt_Pbar @ c, B])
    H = A.T @ A
    noise_top = np.linalg.eigvalsh(B.T @ B)[-C:]

    # 5. gradient
    g = np.einsum("nk,nkd->d", y - p, J) / N

    # 6. spectrum, gradient overlap, effective ranks
    evals, evecs = np.linalg.eigh(H)  # ascending
    cos2 = (evecs.T @ g) ** 2 / (g @ g)
    power_top_c = cos2[-C:].sum()
    trace_over_max = np.trace(H) / evals[-1]
    Q, _ = np.linalg.qr(rng.normal(size=(D, HYPERPLANE_DIM)))
    Hq = Q.T @ H @ Q
    hyper_trace_over_norm = np.trace(Hq) / np.linalg.eigvalsh(Hq)[-1]
    outliers = int((evals > noise_top[-1]).sum())

    # 7. q statistics (eqs. 11-13)
    u = J / np.linalg.norm(J, axis=2, keepdims=True)
    S = u.sum(axis=0)  # (C, D)
    S_sq = (S * S).sum(axis=1)
    q_sl = np.mean((S_sq - N) / (N * (N - 1)))
    n_k = y.sum(axis=0)
    S_cls = np.einsum("nk,nkd->kd", y, u)
    ok = n_k > 1
    q_slsc = np.mean(((S_cls * S_cls).sum(axis=1)[ok] - n_k[ok]) / (n_k[ok] * (n_k[ok] - 1)))
    S_tot = S.sum(axis=0)
    cross_all = S_tot @ S_tot - S_sq.sum()
    per_ex = u.sum(axis=1)
    cross_self = (per_ex * per_ex).sum() - N * C
    q_dl = (cross_all - cross_self) / (N * (N - 1) * C * (C - 1))

    # 8. confidence and entropy
    mean_max_prob = p.max(axis=1).mean()
    mean_entropy_bits = -(p * logp).sum(axis=1).mean() / np.log(2.0)

    return {
        "mean_max_prob": float(mean_max_prob),
        "mean_entropy_bits": float(mean_entropy_bits),
        "q_sl": float(q_sl),
        "q_slsc": float(q_slsc),
        "q_dl": float(q_dl),
        "outliers_above_noise_edge": outliers,
        "gradient_power_top_c": float(power_top_c),
        "trace_over_max": float(trace_over_max),
        "hyperplane_trace_over_norm": float(hyper_trace_over_norm),
        "cos2": cos2,
    }


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            return f"{libs[0]['internal_api']} {libs[0].get('version', '')}".strip()
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    run(args.seed)  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        result = run(args.seed)
        times.append(time.perf_counter() - t0)

    print(json.dumps({
        "implementation": "numpy",
        "numpy_version": np.__version__,
        "blas": blas_info(),
        "median_seconds": float(np.median(times)),
        "min_seconds": float(np.min(times)),
        "repeats": args.repeats,
        "mean_max_prob": result["mean_max_prob"],
        "q_sl": result["q_sl"],
        "outliers_above_noise_edge": result["outliers_above_noise_edge"],
        "gradient_power_top_c": result["gradient_power_top_c"],
    }))


if __name__ == "__main__":
    main()
