"""Run the weak-to-strong experiment into a run directory: pretrain every (size, pretraining seed) once, side
by side in worker processes, then one job per replicate (pretraining seed, seed); write the config, env,
metrics and summary, then stop. The analysis (:mod:`oversight_lab.analyses.weak_to_strong`) reads it after.

Workers use one torch thread each (the numbers do not depend on ``workers``); the main process imports no
torch.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from oversight_lab.config import RunConfig, replicates
from oversight_lab.runs.rundir import environment, write_json
from oversight_lab.runs.workers import exit_with_parent

__all__ = ["execute_w2s"]


def _setup() -> Any:
    import os
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(1)
    return torch


def _world_and_base(cfg: RunConfig) -> tuple[Any, Any]:
    from oversight_lab.models.loading import tiny_config
    from oversight_lab.worlds.base import make_world

    return make_world(cfg.world, **cfg.world_params), tiny_config(cfg)


def _pretrain(cfg_data: dict, size: str, pretrain_seed: int) -> dict[str, Any]:
    _setup()
    from oversight_lab.weak_to_strong.experiment import model_path

    cfg = RunConfig.model_validate(cfg_data)
    world, base = _world_and_base(cfg)
    t0 = time.perf_counter()
    path = model_path(world, size, base, pretrain_seed)
    return {"size": size, "pretrain_seed": pretrain_seed, "path": str(path),
            "seconds": time.perf_counter() - t0}


def _replicate(cfg_data: dict, pretrain_seed: int, seed: int) -> tuple[list[dict[str, Any]], float]:
    _setup()
    from oversight_lab.weak_to_strong.experiment import run_replicate

    cfg = RunConfig.model_validate(cfg_data)
    world, base = _world_and_base(cfg)
    t0 = time.perf_counter()
    rows = run_replicate(world, cfg.w2s, base, pretrain_seed, seed)
    return rows, time.perf_counter() - t0


def execute_w2s(cfg: RunConfig, run_dir: Path, show_progress: bool = True) -> dict[str, Any]:
    """Run every replicate of ``cfg``'s weak-to-strong experiment into ``run_dir``; returns the summary."""
    from oversight_lab.models.sizes import is_hf, size_order

    t_start = time.perf_counter()
    say = print if show_progress else (lambda *_: None)
    write_json(run_dir / "config.json", cfg.model_dump())
    reps = replicates(cfg)
    data = cfg.model_dump()
    tiny = sorted((s for s in cfg.w2s.sizes if not is_hf(s)), key=size_order, reverse=True)  # slowest first
    pre = [(s, p) for s in tiny for p in sorted({p for p, _ in reps})]
    ctx = mp.get_context("spawn")
    workers = max(1, cfg.workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=exit_with_parent) as pool:
        prepared = []
        for fut in [pool.submit(_pretrain, data, s, p) for s, p in pre]:
            prepared.append(fut.result())
            say(f"pretrained {prepared[-1]['size']} (pretraining seed {prepared[-1]['pretrain_seed']}): "
                f"{prepared[-1]['seconds']:.1f} s")
        t_prep = time.perf_counter() - t_start
        rows: list[dict[str, Any]] = []
        job_seconds = []
        # each replicate's rows are written as it finishes: a failing one leaves the others on disk
        with open(run_dir / "metrics.jsonl", "w") as f:
            for (p, s), fut in zip(reps, [pool.submit(_replicate, data, p, s) for p, s in reps], strict=True):
                try:
                    got, sec = fut.result()
                except Exception as e:
                    where = run_dir / "metrics.jsonl"
                    raise RuntimeError(
                        f"weak_to_strong: replicate (pretraining seed {p}, seed {s}) failed: {e}; the rows "
                        f"of the {len(job_seconds)} replicates finished before it are in {where}") from e
                f.writelines(json.dumps(r) + "\n" for r in got)
                f.flush()
                rows += got
                job_seconds.append(sec)
                say(f"replicate (pretraining seed {p}, seed {s}): {len(got)} rows in {sec:.1f} s")
    env = environment()
    write_json(run_dir / "env.json", {**env, "seeds": sorted({s for _, s in reps}),
                                      "replicates": [list(r) for r in reps], "seed_block": cfg.seed_block})
    summary = {
        "scenario": cfg.scenario, "experiment": "weak_to_strong", "replicates": [list(r) for r in reps],
        "seeds": sorted({s for _, s in reps}), "rows": len(rows),
        "timings": {"wall": time.perf_counter() - t_start, "prepare": t_prep, "workers": cfg.workers,
                    "job_seconds": sum(job_seconds), "pretrain": prepared},
    }
    write_json(run_dir / "summary.json", summary)
    return summary
