"""Benchmark: sweep speed-up with 2 workers against 1, measured in one command, on the same grid.

    python benchmarks/bench_sweep.py [GRID] [--set key=value ...] [--out DIR]

Runs the grid (default examples/grids/tiny.yaml with RL off) once with --workers 1 and once with --workers 2
into fresh directories, after warming the model cache so pretraining is not timed, and reports the wall time
of the jobs in each and their ratio. Also checks that both gave identical metrics (one torch thread per job).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from oversight_lab.config import parse_set
from oversight_lab.sweeps import load_grid, run_sweep
from oversight_lab.sweeps.engine import _local, _preparation

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("grid", nargs="?", default=str(ROOT / "examples" / "grids" / "tiny.yaml"))
    ap.add_argument("--set", dest="sets", action="append", default=["rl.enabled=false"])
    ap.add_argument(
        "--out", default=None, help="where to keep the two sweep directories (default: a temp dir)"
    )
    args = ap.parse_args()
    grid = load_grid(args.grid, extra=dict(parse_set(s) for s in args.sets))
    root = Path(args.out or tempfile.mkdtemp(prefix="bench-sweep-"))
    t0 = time.perf_counter()
    _local(_preparation(grid, grid.cells), [], 2, lambda *a: None)  # warm the model cache (not timed below)
    warm = time.perf_counter() - t0
    result = {
        "grid": args.grid,
        "cells": len(grid.cells),
        "seeds": len(grid.seeds),
        "jobs": len(grid.jobs()),
        "warm_cache_seconds": warm,
        "cpus": os.cpu_count(),
    }
    for workers in (1, 2):
        load0 = os.getloadavg()[0]
        meta = run_sweep(grid, root / f"workers-{workers}", workers=workers)
        result[f"workers_{workers}"] = {
            "jobs_wall": meta["timings"]["jobs_wall"],
            "wall": meta["timings"]["wall"],
            "job_seconds": meta["timings"]["job_seconds"],
            "load_avg_before": load0,
        }
    result["speedup_2_vs_1"] = result["workers_1"]["jobs_wall"] / result["workers_2"]["jobs_wall"]
    same = all(
        (root / "workers-1" / "cells" / c.id / "metrics.jsonl").read_text()
        == (root / "workers-2" / "cells" / c.id / "metrics.jsonl").read_text()
        for c in grid.cells
    )
    result["identical_metrics"] = same
    print(json.dumps(result, indent=1))
    print(
        f"{result['jobs']} jobs: 1 worker {result['workers_1']['jobs_wall']:.1f} s, 2 workers "
        f"{result['workers_2']['jobs_wall']:.1f} s, speed-up {result['speedup_2_vs_1']:.2f}×, "
        f"identical metrics: {same}"
    )


if __name__ == "__main__":
    main()
