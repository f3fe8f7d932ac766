"""The debate analysis of a finished run directory: judge accuracy against debater strength.

Reads ``metrics.jsonl`` (rows ``optimizer == "debate"``, one per replicate, RL step and best-of-n), and
computes on the one statistics layer (:mod:`oversight_lab.metrics.stats`, replicates = (pretraining seed,
RLHF seed), RLHF seeds averaged within their pretraining seed, a t-interval over pretraining seeds, kept in
[0, 1]):

* ``by_n``: each protocol's accuracy against best-of-n at the last RL checkpoint;
* ``by_step``: each protocol's accuracy against RL steps at the largest n;
* ``primary``: the pre-registered contrast, debate − consultancy at the strongest debaters (last RL step,
  largest n), paired within replicates, with the verdict against the registered direction and minimum effect;
* ``consultancy_split``: the judge's accuracy when the consultant argues the right and the wrong answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from oversight_lab.analyses.stories import is_confirmatory
from oversight_lab.config import RunConfig, replicates
from oversight_lab.metrics.stats import cluster_estimate
from oversight_lab.runs.rundir import read_rows

__all__ = ["PROTOCOL_NAMES", "analyse_debate"]

PROTOCOL_NAMES = {"judge": "judge alone", "consultancy": "consultancy", "debate": "debate"}


def _ci(values: list[float], units: list[tuple[int, int]], bounds: tuple[float, float] = (0.0, 1.0),
        what: str = "accuracy") -> dict[str, Any]:
    est = cluster_estimate(values, units, bounds=bounds, what=what)
    return {"mean": est.value, "lo": est.lo, "hi": est.hi, "method": est.method, "p_value": est.p_value}


def _values(rows: list[dict], units: list[tuple[int, int]], step: int, n: int, key: str) -> list[float]:
    """``key`` per replicate at (RL step, n), in ``units`` order (NaN where a replicate lacks the row)."""
    at = {(r.get("pretrain_seed", 0), r["seed"]): r.get(key, float("nan")) for r in rows
          if r["step"] == step and r["n"] == n}
    return [at.get(u, float("nan")) for u in units]


def analyse_debate(run_dir: str | Path) -> dict[str, Any]:
    """The debate run's analysis (what ``analysis.json`` holds for it)."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    rows = [r for r in read_rows(run_dir / "metrics.jsonl") if r.get("optimizer") == "debate"]
    if not rows:
        raise ValueError(f"run {str(run_dir)!r}: no debate rows in metrics.jsonl")
    units = [tuple(u) for u in replicates(RunConfig.model_validate(config))]
    steps = sorted({r["step"] for r in rows})
    ns = sorted({r["n"] for r in rows})
    last, top = steps[-1], ns[-1]

    def acc(protocol: str, step: int, n: int) -> dict[str, Any]:
        return _ci(_values(rows, units, step, n, f"debate/acc_{protocol}"), units)

    by_n = {p: [acc(p, last, n) for n in ns] for p in PROTOCOL_NAMES}
    by_step = {p: [acc(p, s, top) for s in steps] for p in PROTOCOL_NAMES}
    diff = _values(rows, units, last, top, "debate/debate_minus_consultancy")
    primary = _ci(diff, units, bounds=(-1.0, 1.0), what="debate − consultancy")
    weakest = _ci(_values(rows, units, steps[0], ns[0], "debate/debate_minus_consultancy"), units,
                  bounds=(-1.0, 1.0), what="debate − consultancy")
    speakers = {
        p: {k: _ci(_values(rows, units, last, top, f"debate/{k}_rate_{p}"), units, what=k)
            for k in ("evidence", "caught", "relevant")}
        for p in ("consultancy", "debate")
    }
    split = {side: _ci(_values(rows, units, last, top, f"debate/acc_consultancy_{side}"), units)
             for side in ("right", "wrong")}
    prereg = json.loads((run_dir / "prereg.json").read_text()) if (run_dir / "prereg.json").exists() else {}
    reg = prereg.get("prereg") or {}
    confirmatory, why = is_confirmatory(run_dir)
    min_effect = float(reg.get("min_effect", 0.10))
    sign = 1.0 if reg.get("direction", "up") == "up" else -1.0
    holds = sign * primary["mean"] >= min_effect and (primary["lo"] > 0 if sign > 0 else primary["hi"] < 0)
    verdict = (
        f"{config['scenario']} [{'confirmatory' if confirmatory else 'exploratory'}]: judge accuracy under "
        f"debate − consultancy at the strongest debaters (RL step {last}, best-of-{top}) "
        f"{primary['mean']:+.3f} [{primary['lo']:+.3f}, {primary['hi']:+.3f}] over "
        f"{len({u[0] for u in units})} pretraining seeds: "
        f"{'holds' if holds else 'does not hold'} (registered: {reg.get('direction', 'up')}, minimum effect "
        f"{min_effect}); at the weakest (step {steps[0]}, best-of-{ns[0]}) {weakest['mean']:+.3f}. {why}."
    )
    return {
        "analysis": "debate",
        "scenario": config["scenario"],
        "seeds": [s for _, s in units],
        "replicates": [list(u) for u in units],
        "steps": steps,
        "n_values": ns,
        "turns": config.get("debate", {}).get("turns"),
        "question_size": config.get("debate", {}).get("question_size"),
        "by_n": by_n,
        "by_step": by_step,
        "primary": primary,
        "weakest": weakest,
        "speakers": speakers,
        "consultancy_split": split,
        "holds": bool(holds),
        "confirmatory": confirmatory,
        "verdict": verdict,
    }
