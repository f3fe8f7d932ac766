"""The alchemist on SmolLM2-135M-Instruct at the full budget, on a GPU when one exists.

    python benchmarks/bench_realmodel_gpu.py [--out runs/alchemist_smollm2-gpu] [--cpu-budget]

Runs the ``alchemist_smollm2`` scenario with ``scenarios.realmodel.GPU_BUDGET`` (800 comparisons, a pool of
64 per task on 32 tasks, 40 GRPO steps of 8 × 8 completions, 3 seeds) through ``oversight-lab run``, and
prints wall time and the headline numbers per arm. Without CUDA it refuses, unless ``--cpu-budget`` asks for
the CPU budget instead (the scenario as shipped). Needs ``oversight-lab models add smollm2-135m-instruct``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from oversight_lab.scenarios.realmodel import GPU_BUDGET


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/alchemist_smollm2-gpu"))
    ap.add_argument("--cpu-budget", action="store_true", help="run the scenario's CPU budget instead")
    args = ap.parse_args()
    sets: list[str] = []
    if not args.cpu_budget:
        if not torch.cuda.is_available():
            sys.exit("no CUDA device: run on a GPU machine, or pass --cpu-budget for the 2-core budget")
        sets = [f"--set={k}={json.dumps(v)}" for k, v in GPU_BUDGET.items() if k != "policy"]
    cmd = [
        sys.executable,
        "-m",
        "oversight_lab.cli",
        "run",
        "alchemist_smollm2",
        "--quiet",
        "--out",
        str(args.out),
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd + sets, check=True)
    wall = time.perf_counter() - t0
    summary = json.loads((args.out / "summary.json").read_text())
    print(json.dumps({"wall_seconds": wall, "device": "cuda" if not args.cpu_budget else "cpu"}, indent=1))
    for arm, data in summary["arms"].items():
        agg = data["aggregate"]
        print(arm, {k: round(v["mean"], 3) for k, v in agg.items() if isinstance(v, dict) and "mean" in v})


if __name__ == "__main__":
    main()
