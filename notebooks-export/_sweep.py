"""Shared loader for the notebooks that read a `fortganguli sweep` folder (sweep.csv + sweep.json):
rows, the manifest, and per-point mean ± std over seeds. Not a notebook itself (figures.sh skips _*.py)."""
import csv
import json

import numpy as np

from _real import num


class Sweep:
    def __init__(self, folder):
        with open(folder / "sweep.csv", newline="") as f:
            self.rows = [r for r in csv.DictReader(f) if r.get("point") not in (None, "")]
        if not self.rows:
            raise SystemExit(f"{folder / 'sweep.csv'}: no data rows yet")
        path = folder / "sweep.json"
        self.manifest = json.loads(path.read_text()) if path.exists() else {}
        self.classes = int(self.manifest.get("classes") or 10)
        self.points = sorted({int(num(r["point"])) for r in self.rows})

    def by_point(self, column):
        """σ_z, mean and std over seeds of `column` for each sweep point (NaN cells ignored)."""
        z, mean, std = [], [], []
        for p in self.points:
            group = [r for r in self.rows if int(num(r["point"])) == p]
            x = np.array([num(r[column]) for r in group])
            x = x[np.isfinite(x)]
            z.append(num(group[0]["sigma_z"]))
            mean.append(x.mean() if len(x) else np.nan)
            std.append(x.std(ddof=1) if len(x) > 1 else 0.0)
        return np.array(z), np.array(mean), np.array(std)
