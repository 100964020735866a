"""Shared helpers for the notebooks: reading the tool's CSV/JSON outputs and saving figures.
Not a notebook itself (figures.sh skips _*.py)."""
import csv
import json

import numpy as np


def num(s):
    """A CSV cell as a float; empty or undefined cells are NaN."""
    try:
        return float(s)
    except (TypeError, ValueError):
        return float("nan")


def table(path):
    """A CSV written by the tool as a dict of float arrays, one per column."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{path}: no rows yet")
    return {k: np.array([num(r[k]) for r in rows]) for k in rows[0]}


def summary(path):
    return json.loads(path.read_text())


def save(fig, out, name):
    out.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "pdf"):
        fig.savefig(out / f"{name}.{ext}", dpi=150)
    print(f"wrote {out / name}.png and .pdf")
