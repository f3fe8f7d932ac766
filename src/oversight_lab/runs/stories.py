"""Run several stories in one pool of workers: ``oversight-lab run --all-stories``.

Every story is a normal run directory (``OUT/<story>/``: config, env, metrics, summary, report.html, arms/);
they share one process pool, so torch and TRL are imported once per worker, each distinct pretrained evaluatee
is built once (worlds pretrain in parallel, one per worker) and the (story, arm, seed) jobs keep both workers
busy. ``OUT/stories.html`` and ``OUT/stories.json`` hold the combined report.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from oversight_lab.config import RunConfig
from oversight_lab.runs.rundir import environment, write_json
from oversight_lab.runs.runner import _job, _prepare, _progress_ui, jobs_of
from oversight_lab.runs.summary import summarise

__all__ = ["execute_stories"]


def _pretrain_key(cfg: RunConfig) -> str:
    return json.dumps(
        [cfg.world, cfg.world_params, cfg.tiny.model_dump(), cfg.policy], sort_keys=True, default=str
    )


def execute_stories(
    cfgs: dict[str, RunConfig], out_dir: Path, workers: int = 2, show_progress: bool = True
) -> dict[str, Any]:
    """Run every story config into ``out_dir/<name>`` and write the combined report; returns timings."""
    from oversight_lab.report.html import write_report
    from oversight_lab.report.stories import write_stories_report

    t_start = time.perf_counter()
    env = environment()
    jobs = [(name, arm, seed) for name, cfg in cfgs.items() for arm, seed in jobs_of(cfg)]
    # Pretrain each distinct evaluatee once, the slowest (most steps) first.
    prep: dict[str, str] = {}
    for name, cfg in sorted(cfgs.items(), key=lambda kv: -kv[1].tiny.steps):
        prep.setdefault(_pretrain_key(cfg), name)
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        events = manager.Queue()
        labels = [f"pretrain {n}" for n in prep.values()] + [f"{n} {a} {s}" for n, a, s in jobs]
        close, _ = _progress_ui(events, labels, show_progress)
        try:
            with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=ctx) as pool:
                t0 = time.perf_counter()
                # worlds pretrain side by side, one per worker, each on the config's `tiny.threads` (1 by
                # default; part of the checkpoint's identity, so it is not lowered here to fit the cores)
                pre = {n: pool.submit(_prepare, cfgs[n].model_dump(), events) for n in prep.values()}
                pre_info = {n: f.result() for n, f in pre.items()}
                t_prep = time.perf_counter() - t0
                futures = {
                    (n, a, s): pool.submit(_job, cfgs[n].model_dump(), a, s, str(out_dir / n), events)
                    for n, a, s in jobs
                }
                results = {k: f.result() for k, f in futures.items()}
        finally:
            close()
    per_story: dict[str, float] = {}
    for name, cfg in cfgs.items():
        run_dir = out_dir / name
        seeds = sorted({s for _, s in jobs_of(cfg)})
        write_json(run_dir / "config.json", cfg.model_dump())
        write_json(run_dir / "env.json", {**env, "seeds": seeds})
        rows = [r for (n, _, _), res in results.items() if n == name for r in res.rows]
        with open(run_dir / "metrics.jsonl", "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        summary = summarise(rows, list(cfg.arms), seeds)
        job_seconds = sum(res.summary["timings"]["total"] for (n, _, _), res in results.items() if n == name)
        per_story[name] = job_seconds
        summary["timings"] = {"job_seconds": job_seconds}
        summary["scenario"] = cfg.scenario
        write_json(run_dir / "summary.json", summary)
        write_report(run_dir)
    write_stories_report(out_dir, list(cfgs))
    timings = {
        "wall": time.perf_counter() - t_start,
        "prepare": t_prep,
        "workers": workers,
        "job_seconds_by_story": per_story,
        "pretrain": pre_info,
    }
    write_json(out_dir / "timings.json", timings)
    return timings
