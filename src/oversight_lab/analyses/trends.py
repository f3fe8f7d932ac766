"""Trends over an optimiser's checkpoints: does a failure grow with the steps of optimisation?

The essay worries that sandbagging (and other failures an evaluator rewards) is not a jump but a drift that RL
feeds. A story's verdict compares the first and the last checkpoint; :func:`checkpoint_trend` reads every
checkpoint of a finished run directory and fits, per replicate and arm, the least-squares slope of a metric
against the optimiser's step (per 100 steps), then estimates the mean slope per arm and the flawed − control
slope (paired within replicates) at the pretraining-seed level (:mod:`oversight_lab.metrics.stats`).
``oversight-lab`` runs of the ``sandbagger`` story record ``sandbag/gap`` (accuracy for high- minus
low-education users, sampled) at every RL checkpoint, so ``checkpoint_trend(run, "sandbag/gap")`` is the
sandbagging trend.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from oversight_lab.metrics.stats import cluster_estimate, paired_cluster_estimate
from oversight_lab.runs.rundir import read_rows

__all__ = ["checkpoint_trend", "slopes"]


def slopes(rows: list[dict[str, Any]], key: str, optimizer: str = "rl") -> dict[str, dict[tuple, float]]:
    """Per arm, per replicate (pretraining seed, RLHF seed): the slope of ``key`` per 100 ``optimizer`` steps
    over the replicate's checkpoints (the initial policy as step 0 when the optimiser recorded none)."""
    series: dict[str, dict[tuple, dict[float, float]]] = {}
    for r in sorted(rows, key=lambda r: r.get("optimizer") != "initial"):  # an optimiser's own step 0 wins
        if r.get("optimizer") not in (optimizer, "initial") or key not in r:
            continue
        value = float(r[key])
        if math.isnan(value):
            continue
        unit = (int(r.get("pretrain_seed", 0)), int(r["seed"]))
        step = 0.0 if r["optimizer"] == "initial" else float(r["step"])
        series.setdefault(r["arm"], {}).setdefault(unit, {})[step] = value
    out: dict[str, dict[tuple, float]] = {}
    for arm, by_unit in series.items():
        for unit, points in by_unit.items():
            if len(points) < 2:
                continue  # one checkpoint: no trend to fit
            steps, values = np.array(list(points)), np.array(list(points.values()))
            out.setdefault(arm, {})[unit] = float(np.polyfit(steps, values, 1)[0]) * 100.0
    return out


def checkpoint_trend(
    run_dir: str | Path, key: str, optimizer: str = "rl", flawed: str = "flawed", control: str = "control"
) -> dict[str, Any]:
    """The trend of ``key`` over ``optimizer``'s checkpoints in a run directory: slope per 100 steps per arm
    and flawed − control, each an estimate over pretraining seeds (RLHF seeds averaged first)."""
    run_dir = Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"run {str(run_dir)!r} has no metrics.jsonl")
    rows = read_rows(path)
    by_arm = slopes(rows, key, optimizer)
    if not by_arm:
        raise ValueError(
            f"run {str(run_dir)!r}: no {optimizer} checkpoints with {key!r} (two or more per replicate)"
        )
    config = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").exists() else {}
    out: dict[str, Any] = {
        "key": key, "optimizer": optimizer, "scenario": config.get("scenario"), "per_100_steps": {},
        "per_replicate": {arm: {f"{u[0]}/{u[1]}": v for u, v in d.items()} for arm, d in by_arm.items()},
    }
    for arm, d in by_arm.items():
        units = sorted(d)
        est = cluster_estimate([d[u] for u in units], units, what=f"slope of {key}")
        out["per_100_steps"][arm] = est.to_dict()
    if flawed in by_arm and control in by_arm:
        out["flawed_minus_control"] = paired_cluster_estimate(
            by_arm[flawed], by_arm[control], what=f"slope of {key}, {flawed} − {control}"
        ).to_dict()
    return out
