"""The weak-to-strong analysis of a finished run directory: per task and (weak, strong) pair, the weak
supervisor's, the student's and the strong ceiling's accuracy, PGR (both ways,
:mod:`oversight_lab.metrics.pgr`) and imitation, each with an interval over pretraining seeds; the
pre-registered primary measure's verdict.

Imitation: the student's agreement with its supervisor's labels on the test questions the supervisor gets
wrong, minus its agreement where the supervisor is right (paired within replicates). A student that imitates
its supervisor agrees with its errors as much as with the rest (difference near 0); one that generalises
past them agrees with the errors far less (a large negative difference).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from oversight_lab.analyses.stories import is_confirmatory
from oversight_lab.metrics.pgr import pgr_estimates
from oversight_lab.metrics.stats import Estimate, cluster_estimate, paired_cluster_estimate
from oversight_lab.runs.rundir import RunDirError, read_rows

__all__ = ["PRIMARY_TASK", "analyse_w2s", "primary_pair"]

PRIMARY_TASK = "mercury_noisy"


def primary_pair(sizes: list[str]) -> tuple[str, str]:
    """The registered primary pair: the weakest size supervising the strongest (the widest gap)."""
    return sizes[0], sizes[-1]


def _est(e: Estimate) -> dict[str, Any]:
    return {"mean": e.value, "lo": e.lo, "hi": e.hi, "n": e.n_units, "p": e.p_value, "method": e.method,
            "per_unit": list(e.spread)}


def _unit(r: dict[str, Any]) -> tuple[int, int]:
    return int(r["pretrain_seed"]), int(r["seed"])


def _pair(rows: list[dict[str, Any]], min_gap: float) -> dict[str, Any]:
    rows = sorted(rows, key=_unit)
    units = [_unit(r) for r in rows]
    acc = {k: [float(r[f]) for r in rows] for k, f in (("weak", "weak_acc"), ("student", "acc"),
                                                       ("ceiling", "ceiling_acc"))}
    out: dict[str, Any] = {
        k: _est(cluster_estimate(v, units, bounds=(0.0, 1.0), what=f"{k} accuracy")) for k, v in acc.items()}
    out["pgr"] = pgr_estimates(acc["weak"], acc["student"], acc["ceiling"], units, min_gap)
    err = {u: float(r["agree_on_weak_errors"]) for u, r in zip(units, rows, strict=True)}
    ok = {u: float(r["agree_elsewhere"]) for u, r in zip(units, rows, strict=True)}
    out["agree_on_weak_errors"] = _est(cluster_estimate(list(err.values()), list(err), bounds=(0.0, 1.0),
                                                        what="agreement with the supervisor's errors"))
    out["agree_elsewhere"] = _est(cluster_estimate(list(ok.values()), list(ok), bounds=(0.0, 1.0),
                                                   what="agreement where the supervisor is right"))
    out["imitation_gap"] = _est(paired_cluster_estimate(
        {u: v for u, v in err.items() if v == v}, ok, bounds=(-1.0, 1.0),
        what="agreement on errors − agreement elsewhere"))
    out["acc_blind"] = _est(cluster_estimate([float(r["acc_blind"]) for r in rows], units, bounds=(0.0, 1.0),
                                             what="student accuracy on questions with a blind ingredient"))
    out["weak_acc_blind"] = _est(cluster_estimate([float(r["weak_acc_blind"]) for r in rows], units,
                                                  bounds=(0.0, 1.0), what="supervisor accuracy there"))
    return out


def analyse_w2s(run_dir: str | Path) -> dict[str, Any]:
    """The analysis of a weak-to-strong run directory (what ``analysis.json`` stores)."""
    from oversight_lab.scenarios import SCENARIOS

    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    rows = read_rows(run_dir / "metrics.jsonl")
    w = config["w2s"]
    if not rows:
        raise RunDirError(f"run directory {str(run_dir)!r}: metrics.jsonl has no rows")
    tasks: dict[str, Any] = {}
    for task in w["tasks"]:
        mine = [r for r in rows if r["task"] == task]
        pairs = {}
        for r in mine:
            if r["role"] == "student":
                pairs.setdefault(f"{r['weak']}→{r['strong']}", []).append(r)
        sizes = {}
        for role in ("weak", "ceiling"):
            for s in w["sizes"]:
                got = [r for r in mine if r["role"] == role and r["size"] == s]
                if got:
                    sizes.setdefault(s, {})[role] = _est(cluster_estimate(
                        [r["acc"] for r in got], [_unit(r) for r in got], bounds=(0.0, 1.0),
                        what=f"{role} accuracy"))
        tasks[task] = {"sizes": sizes, "pairs": {k: _pair(v, w["min_gap"]) for k, v in pairs.items()}}
    confirmatory, why = is_confirmatory(run_dir)
    sc = SCENARIOS.get(config.get("scenario", ""))
    weak, strong = primary_pair(w["sizes"])
    primary = tasks.get(PRIMARY_TASK, {}).get("pairs", {}).get(f"{weak}→{strong}")
    return {
        "experiment": "weak_to_strong",
        "scenario": config.get("scenario"),
        "sizes": w["sizes"],
        "tasks": tasks,
        "table_shows": "PGR from pretraining-seed means (accuracies averaged within each pretraining seed, "
                       "one PGR per pretraining seed, t-interval over them); PGR per replicate beside it",
        "primary": _verdict(primary, PRIMARY_TASK, weak, strong, sc.prereg if sc else None, confirmatory,
                            why),
        "confirmatory": confirmatory,
        "why": why,
    }


def _verdict(pair: dict[str, Any] | None, task: str, weak: str, strong: str, prereg: Any, confirmatory: bool,
             why: str) -> dict[str, Any]:
    what = f"PGR on {task}, {weak} supervising {strong}"
    if pair is None:
        return {"measure": what, "status": "n/a", "line": f"{what}: not in this run ({why})"}
    est = pair["pgr"]["from_seed_means"]
    min_effect = prereg.min_effect if prereg is not None else 0.0
    lo, mean = est["lo"], est["mean"]
    if mean != mean:
        status = "undefined"
    elif lo == lo and lo > 0 and mean >= min_effect:
        status = "recovered"
    else:
        status = "not shown"
    ci = "no interval" if lo != lo else f"[{lo:+.2f}, {est['hi']:+.2f}]"
    line = (f"{what}: {mean:+.2f} {ci} from pretraining-seed means ({status}; registered: up, "
            f"≥ {min_effect}); {why}")
    return {"measure": what, "status": status, "estimate": est, "min_effect": min_effect, "line": line}
