"""Pretraining time and final loss of each size of the model-size family (oversight_lab.models.sizes).

    python benchmarks/bench_sizes.py --sizes xs s m l --seeds 0 --world alchemy

Each (size, seed) is pretrained once into a temporary cache (never the shared one, so every figure is a cold
pretraining) on the tiny.* defaults (1000 steps of 32 × 64 tokens, one torch thread); the load average before
and after is recorded, since the machine is shared. Results go to benchmarks/results/sizes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["xs", "s", "m", "l"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--world", default="alchemy")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "sizes.json"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OVERSIGHT_LAB_CACHE"] = tmp
        from oversight_lab.config import resolve_config
        from oversight_lab.models.loading import tiny_config
        from oversight_lab.models.tiny import load_or_pretrain
        from oversight_lab.worlds.base import make_world

        world = make_world(args.world)
        rows = []
        for size in args.sizes:
            for seed in args.seeds:
                cfg = tiny_config(resolve_config({}, {"tiny.size": size, "tiny.seed": seed}))
                load_before = os.getloadavg()[0]
                t0 = time.perf_counter()
                _, _, _, info = load_or_pretrain(world, cfg)
                row = {
                    "size": size, "seed": seed, "world": args.world,
                    "wall_s": round(time.perf_counter() - t0, 1),
                    "train_s": round(info["seconds"], 1), "final_loss": round(info["final_loss"], 4),
                    "parameters": info["parameters"], "load_before": load_before,
                    "load_after": os.getloadavg()[0],
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
    flags = [f"--sizes {' '.join(args.sizes)}", f"--seeds {' '.join(map(str, args.seeds))}",
             f"--world {args.world}"]
    command = "python benchmarks/bench_sizes.py " + " ".join(flags)
    Path(args.out).write_text(json.dumps({"command": command, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
