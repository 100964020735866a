"""Benchmark of `make bench`: wall time of one paper configuration end to end (process start to
files on disk), of a 41-point sweep, and of the vectorised NumPy reference (bench/numpy_model.py)
doing the same computation, all in this one run. Prints a table and one JSON line."""
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


def main(repeats=7):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sim")
        timed([BIN, "simulate", "--output", out])  # warm-up (page cache, OpenBLAS threads)
        walls, inner = [], []
        for seed in range(repeats):
            walls.append(timed([BIN, "simulate", "--seed", str(seed), "--output", out]))
            with open(os.path.join(out, "summary.json")) as f:
                inner.append(json.load(f)["seconds"])
        sweep = timed([BIN, "sweep", "--points", "41", "--seeds", "1", "--output", os.path.join(tmp, "sweep")])
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
        "numpy_over_swift": round(numpy["median_seconds"] / swift_median, 2),
        "numpy_blas": numpy.get("blas"),
        "cores": os.cpu_count(),
    }
    print(f"one paper configuration (N=300, C=10, D=1000), {repeats} runs:")
    print(f"  fortganguli simulate, end to end   median {swift_median:.3f} s  (min {min(walls):.3f} s; "
          f"in-process {statistics.median(inner):.3f} s)   target < 0.3 s")
    print(f"  NumPy reference (vectorised)       median {numpy['median_seconds']:.3f} s  (min {numpy['min_seconds']:.3f} s)")
    print(f"  NumPy / Swift                      {result['numpy_over_swift']:.2f}x")
    print(f"41-point σ_z sweep (1 seed a point): {sweep:.2f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
