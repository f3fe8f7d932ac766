"""Run several stories in one pool of workers: ``oversight-lab run --all-stories``.

Every story is a normal run directory (``OUT/<story>/``: config, env, metrics, summary, arms/); they share one
process pool (:func:`oversight_lab.runs.runner.execute_many`), so torch and TRL are imported once per worker,
each distinct pretrained evaluatee is built once and the (story, arm, pretraining seed, RLHF seed) jobs keep
both workers busy. The analyses and the combined report are made afterwards from the run directories.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from oversight_lab.config import RunConfig
from oversight_lab.runs.rundir import write_json
from oversight_lab.runs.runner import execute_many

__all__ = ["execute_stories"]


def execute_stories(
    cfgs: dict[str, RunConfig], out_dir: Path, workers: int = 2, show_progress: bool = True
) -> dict[str, Any]:
    """Run every story config into ``out_dir/<name>``; returns (and writes ``timings.json``) the timings."""
    t_start = time.perf_counter()
    dirs = {name: out_dir / name for name in cfgs}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    summaries = execute_many(cfgs, dirs, workers, show_progress)
    first = next(iter(summaries.values()))["timings"]
    timings = {
        "wall": time.perf_counter() - t_start,
        "prepare": first["prepare"],
        "workers": first["workers"],
        "job_seconds_by_story": {n: s["timings"]["job_seconds"] for n, s in summaries.items()},
        "pretrain": first["pretrain"],
    }
    write_json(out_dir / "timings.json", timings)
    return timings
