"""Benchmark of `make bench` (`--quick`: model only; `--short-phase`: a 4×4 instead of 20×20 phase grid;
`--phase-full`: the phase grid with `--spectrum full` too): wall time of one paper configuration end to
end (process start to files on disk), of a 41-point sweep, and of the vectorised NumPy reference
(bench/numpy_model.py) doing the same computation; the Gram engine at D = 1e9 on both spectrum paths
beside its NumPy Gram-route peer (bench/numpy_gram.py), N = 1000 and 2000 with `--spectrum top`; the
phase diagram; real networks and jamming; all in this one run. Prints a table and one JSON line."""
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "fortganguli")


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def resident_run(cmd):
    """Wall time and peak resident memory (MiB) of one command, via GNU time if present."""
    if os.path.exists("/usr/bin/time"):
        t = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        return time.perf_counter() - t, int(r.stderr.strip().splitlines()[-1]) / 1024
    return timed(cmd), float("nan")


def gram_benchmarks(tmp):
    """Gram engine: D = 1e9 end to end, dense vs Gram at D = 1000, 2000, 4000, and the time per
    point of a 20×20 phase diagram at D = 1e6."""
    out = {}
    walls, mem = [], []
    for seed in range(3):
        w, m = resident_run([BIN, "simulate", "--dimension", "1e9", "--seed", str(seed), "--output", os.path.join(tmp, "g9")])
        walls.append(w)
        mem.append(m)
    out["gram_1e9_wall_median_s"] = round(statistics.median(walls), 3)
    out["gram_1e9_peak_rss_mib"] = round(max(mem), 1)
    # --spectrum top: the same point by block Lanczos on the Bartlett factor, then N = 1000 and 2000.
    walls, mem = [], []
    for seed in range(3):
        w, m = resident_run([BIN, "simulate", "--dimension", "1e9", "--spectrum", "top", "--seed", str(seed),
                             "--output", os.path.join(tmp, "t9")])
        walls.append(w)
        mem.append(m)
    out["top_1e9_wall_median_s"] = round(statistics.median(walls), 3)
    out["top_1e9_peak_rss_mib"] = round(max(mem), 1)
    for n in (1000, 2000):
        w, m = resident_run([BIN, "simulate", "--examples", str(n), "--dimension", "1e9", "--spectrum", "top",
                             "--output", os.path.join(tmp, f"t9-{n}")])
        out[f"top_1e9_N{n}_wall_s"] = round(w, 2)
        out[f"top_1e9_N{n}_peak_rss_mib"] = round(m, 1)
    # Like for like with the NumPy peer: the full path's statistics without simulate's class
    # decomposition of the G-term (a 1-point sweep computes exactly the peer's statistics).
    walls = [timed([BIN, "sweep", "--dimension", "1e9", "--points", "1", "--seeds", "1", "--seed", str(seed),
                    "--output", os.path.join(tmp, f"sw9-{seed}")]) for seed in range(3)]
    out["gram_1e9_statistics_only_wall_median_s"] = round(statistics.median(walls), 3)
    gram_peer = os.path.join(ROOT, "bench", "numpy_gram.py")
    if os.path.exists(gram_peer):
        run = subprocess.run([sys.executable, gram_peer, "--repeats", "3"], check=True, capture_output=True, text=True)
        out["numpy_gram"] = json.loads(run.stdout.strip().splitlines()[-1])
    for d in (1000, 2000, 4000):
        for mode in ("dense", "gram"):
            out[f"{mode}_D{d}_wall_s"] = round(timed([BIN, "simulate", "--dimension", str(d), "--mode", mode,
                                                      "--output", os.path.join(tmp, f"{mode}{d}")]), 3)
    side = 4 if "--short-phase" in sys.argv else 20
    out["phase_grid"] = f"{side}x{side}"
    # phase defaults to --spectrum top; `--phase-full` also times the full path (≈ 8.5 min at 20×20).
    for spectrum in (("top", "full") if "--phase-full" in sys.argv else ("top",)):
        t = timed([BIN, "phase", "--dimension", "1e6", "--sigma-z-points", str(side), "--snr-points", str(side),
                   "--spectrum", spectrum, "--output", os.path.join(tmp, f"phase-{spectrum}")])
        out[f"phase_{spectrum}_D1e6_total_s"] = round(t, 1)
        out[f"phase_{spectrum}_D1e6_per_point_s"] = round(t / (side * side), 3)
    return out


def realnet_benchmarks(tmp):
    """Real networks: one epoch of Fashion-MNIST for a 784-256-256-10 MLP, `measure` on it with 30
    examples a class, the factorised NTK Gram against explicit Jacobian rows (5 a class), one r point
    of `goldilocks` and one epoch of `subspace-train` at d = 1000."""
    run = os.path.join(tmp, "run")
    out = {"train_epoch_mlp_s": round(timed([BIN, "train", "--steps", "469", "--checkpoints", "2", "--eval-examples", "1000",
                                             "--output", run]), 2)}
    ckpt = os.path.join(run, "step-000469.safetensors")
    out["measure_mlp_30_per_class_s"] = round(timed([BIN, "measure", "--checkpoint", ckpt, "--per-class", "30", "--top-k", "10",
                                                     "--density-probes", "0",
                                                     "--output", os.path.join(tmp, "m")]), 2)
    for flag, key in (([], "gram_factorised_s"), (["--explicit-jacobian"], "gram_explicit_rows_s")):
        subprocess.run([BIN, "measure", "--checkpoint", ckpt, "--per-class", "5", "--top-k", "1", "--skip-hessian",
                        "--output", os.path.join(tmp, "g")] + flag, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(tmp, "g", "summary.json")) as f:
            out[key] = round(json.load(f)["gram_seconds"], 4)
    out["gram_speedup"] = round(out["gram_explicit_rows_s"] / out["gram_factorised_s"], 1)
    # Goldilocks: one r point of restricted curvature (d = 10, R = 8 hyperplanes and 8 hyperspheres,
    # plus the full-space row) on 784-256-256-10 at 30 examples a class, and one epoch of training
    # inside a random d = 1000 hyperplane (469 steps of 128).
    out["goldilocks_r_point_d10_R8_s"] = round(timed([BIN, "goldilocks", "--points", "1", "--radius-min", "13", "--radius-max", "13",
                                                      "--dimensions", "10", "--hyperplanes", "8", "--per-class", "30",
                                                      "--output", os.path.join(tmp, "gl")]), 2)
    out["hyperplane_train_epoch_d1000_s"] = round(timed([BIN, "subspace-train", "--dimension", "1000", "--steps", "469",
                                                         "--batch-size", "128", "--eval-examples", "1000",
                                                         "--output", os.path.join(tmp, "st")]), 2)
    return out


def jamming_benchmarks(tmp):
    """Jamming (Geiger et al.): one hinge-loss run at N ≈ 300, P ≈ 900 (d = h = 12, L = 2: N = 301,
    P = 900) to N_Δ = 0 or a 20 000-step budget, and `jamming-spectrum` (all eigenvalues of the dense
    H, H₀ and H_p, N_eff) at N ≈ 2000 (d = h = 31, L = 2: D = 2016, N = 1954) on a run of 2000 steps
    at P = 2N, whose training is timed too."""
    out = {}
    run = os.path.join(tmp, "jam300")
    out["jamming_run_N301_P900_s"] = round(timed([BIN, "jamming", "--input-dimension", "12", "--width", "12", "--depth", "2",
                                                   "--r-min", "2.99", "--r-max", "2.99", "--points", "1", "--seeds", "1",
                                                   "--steps", "20000", "--output", run]), 2)
    with open(os.path.join(run, "jamming.csv")) as f:
        row = list(csv.DictReader(f))[0]
    out["jamming_run_N301_P900_steps"] = int(row["steps"])
    out["jamming_run_N301_P900_fitted"] = row["fitted"] == "1"
    out["jamming_run_N301_P900_n_delta_over_n"] = round(float(row["n_delta_over_n"]), 4)
    big = os.path.join(tmp, "jam2000")
    out["jamming_run_N1954_P3908_2000_steps_s"] = round(timed([BIN, "jamming", "--input-dimension", "31", "--width", "31", "--depth", "2",
                                                              "--r-min", "2", "--r-max", "2", "--points", "1", "--seeds", "1",
                                                              "--steps", "2000", "--output", big]), 2)
    out["jamming_spectrum_D2016_s"] = round(timed([BIN, "jamming-spectrum", "--checkpoint",
                                                   os.path.join(big, "runs", "point-000-seed-0", "model.safetensors"),
                                                   "--output", os.path.join(tmp, "jamspec")]), 2)
    with open(os.path.join(tmp, "jamspec", "summary.json")) as f:
        spec = json.load(f)
    out["jamming_spectrum_D2016_n_delta"] = spec["n_delta"]
    out["jamming_spectrum_D2016_parameters_effective"] = spec["parameters_effective"]
    return out


def main(repeats=7):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sim")
        timed([BIN, "simulate", "--output", out])  # warm-up (page cache, OpenBLAS threads)
        walls, inner = [], []
        for seed in range(repeats):
            walls.append(timed([BIN, "simulate", "--seed", str(seed), "--output", out]))
            with open(os.path.join(out, "summary.json")) as f:
                inner.append(json.load(f)["seconds"])
        # Like for like with the NumPy reference: the same statistics without simulate's class
        # decomposition of the G-term (a 1-point sweep at σ_z = 15 computes exactly the reference's).
        same = [timed([BIN, "sweep", "--points", "1", "--seeds", "1", "--sigma-z-min", "15", "--sigma-z-max", "15",
                       "--seed", str(seed), "--output", os.path.join(tmp, f"same-{seed}")]) for seed in range(repeats)]
        sweep = timed([BIN, "sweep", "--points", "41", "--seeds", "1", "--output", os.path.join(tmp, "sweep")])
        gram = gram_benchmarks(tmp) if "--quick" not in sys.argv else {}
        real = realnet_benchmarks(tmp) if "--quick" not in sys.argv else {}
        jam = jamming_benchmarks(tmp) if "--quick" not in sys.argv else {}
    numpy_run = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "numpy_model.py"), "--repeats", str(repeats)],
                               check=True, capture_output=True, text=True)
    numpy = json.loads(numpy_run.stdout.strip().splitlines()[-1])
    swift_median = statistics.median(walls)
    result = {
        "swift_simulate_wall_median_s": round(swift_median, 4),
        "swift_simulate_wall_min_s": round(min(walls), 4),
        "swift_simulate_in_process_median_s": round(statistics.median(inner), 4),
        "swift_sweep_41_points_wall_s": round(sweep, 3),
        "numpy_median_s": round(numpy["median_seconds"], 4),
        "numpy_min_s": round(numpy["min_seconds"], 4),
        "swift_statistics_only_wall_median_s": round(statistics.median(same), 4),
        "numpy_over_swift": round(numpy["median_seconds"] / statistics.median(same), 2),
        "numpy_blas": numpy.get("blas"),
        "cores": os.cpu_count(),
        **gram,
        **real,
        **jam,
    }
    print(f"one paper configuration (N=300, C=10, D=1000), {repeats} runs:")
    print(f"  the reference's statistics (1-point sweep), end to end   median {statistics.median(same):.3f} s   target < 0.3 s")
    print(f"  NumPy reference (vectorised)                             median {numpy['median_seconds']:.3f} s  (min {numpy['min_seconds']:.3f} s)")
    print(f"  NumPy / Swift                                            {result['numpy_over_swift']:.2f}x")
    print(f"  fortganguli simulate, end to end, with the G-term's class structure (three N(C−1)-square reductions): "
          f"median {swift_median:.3f} s (min {min(walls):.3f} s; in-process {statistics.median(inner):.3f} s)")
    print(f"41-point σ_z sweep (1 seed a point): {sweep:.2f} s")
    if gram:
        print(f"Gram engine, simulate --dimension 1e9 (with the G-term's class structure): median {gram['gram_1e9_wall_median_s']:.2f} s, "
              f"peak memory {gram['gram_1e9_peak_rss_mib']:.0f} MiB; its eq.-16 statistics alone (1-point sweep) "
              f"{gram['gram_1e9_statistics_only_wall_median_s']:.2f} s   target < 1.5 s, < 1 GiB")
        for d in (1000, 2000, 4000):
            print(f"  D = {d}: dense {gram[f'dense_D{d}_wall_s']:.2f} s, gram {gram[f'gram_D{d}_wall_s']:.2f} s")
        print(f"simulate --dimension 1e9 --spectrum top: median {gram['top_1e9_wall_median_s']:.2f} s, peak memory "
              f"{gram['top_1e9_peak_rss_mib']:.0f} MiB   (full path above; issue 13: 0.96 s before, target < 0.15 s)")
        if "numpy_gram" in gram:
            ng = gram["numpy_gram"]
            full = gram["gram_1e9_statistics_only_wall_median_s"]
            print(f"  NumPy Gram-route peer (bench/numpy_gram.py, full spectrum, no G-term class structure): median "
                  f"{ng['median_seconds']:.2f} s; Swift's same statistics (1-point sweep, full path) {full:.2f} s: "
                  f"NumPy / Swift full {ng['median_seconds'] / full:.2f}x, NumPy / Swift top "
                  f"{ng['median_seconds'] / gram['top_1e9_wall_median_s']:.2f}x")
        for n, target in ((1000, "target < 5 s, < 2 GiB"), (2000, "report")):
            print(f"  --examples {n} (m = {10 * n + 10}): {gram[f'top_1e9_N{n}_wall_s']:.1f} s, "
                  f"peak memory {gram[f'top_1e9_N{n}_peak_rss_mib'] / 1024:.2f} GiB   ({target})")
        for spectrum in ("top", "full"):
            if f"phase_{spectrum}_D1e6_total_s" in gram:
                print(f"{gram['phase_grid']} phase diagram at D = 1e6, --spectrum {spectrum}: {gram[f'phase_{spectrum}_D1e6_total_s']:.0f} s, "
                      f"{gram[f'phase_{spectrum}_D1e6_per_point_s']:.2f} s a point   (issue 13: ≈ 510 s before, target < 40 s)")
    if real:
        print(f"real networks: one Fashion-MNIST epoch of the 784-256-256-10 MLP {real['train_epoch_mlp_s']:.1f} s (target < 10 s); "
              f"measure, 30 a class {real['measure_mlp_30_per_class_s']:.1f} s (issue 13: block products and block Lanczos, target < 4 s)")
        print(f"  NTK Gram at 5 a class: factorised {real['gram_factorised_s']:.3f} s, explicit rows {real['gram_explicit_rows_s']:.2f} s "
              f"({real['gram_speedup']:.0f}x)")
    if jam:
        fitted = "fitted (N_Δ = 0)" if jam["jamming_run_N301_P900_fitted"] else f"N_Δ/N = {jam['jamming_run_N301_P900_n_delta_over_n']}"
        print(f"jamming: one hinge run at N = 301, P = 900: {jam['jamming_run_N301_P900_s']:.1f} s for "
              f"{jam['jamming_run_N301_P900_steps']} full-batch Adam steps, {fitted}")
        print(f"  jamming-spectrum at D = 2016 (N = 1954, P = 3908, N_Δ = {jam['jamming_spectrum_D2016_n_delta']}): dense H, H₀, H_p "
              f"and N_eff = {jam['jamming_spectrum_D2016_parameters_effective']} in {jam['jamming_spectrum_D2016_s']:.1f} s "
              f"(its 2000 training steps {jam['jamming_run_N1954_P3908_2000_steps_s']:.1f} s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
