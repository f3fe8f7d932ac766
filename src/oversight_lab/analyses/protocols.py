"""Protocol analyses of a finished run directory: what arms × seeds alone do not report.

Each protocol scenario runs its arms through the ordinary loop (``runs.runner.execute``); then
:func:`analyse` reads the run directory (comparisons, metrics, per-arm summaries; never live objects) and
computes the protocol's headline numbers over replicates with 95% intervals at the pretraining-seed level
(:mod:`oversight_lab.metrics.stats`); :func:`oversight_lab.analyses.analyse_run` writes them to
``analysis.json`` and the report renders ``protocol.html`` from it.

Analyses (``config.protocol.analysis``):

* ``rlaif`` — each arm's label accuracy and reward-model accuracy against gold, gold and undisclosed mercury
  after optimisation; each judge arm minus the flawed human and minus the control; judge calls, unparseable
  replies, position bias.
* ``assisted`` — accuracy of the unaided and assisted evaluators, and the assistant's error rate per arm.
* ``layers`` — accuracy against gold per chain depth (the curve), each layer's assistant error rate, and the
  change from depth 0 to the deepest layer.
* ``advantage`` — the evaluator's budget (arm) against the evaluatee's deployment compute (best-of-n for
  every recorded n, RL steps when run): failure and gold on the grid, failure against budget at ``n_deploy``,
  the n at which each budget's failure appears; gold at ``n_train`` minus at ``n_deploy``.
* ``sandwich`` — Bowman et al.'s conditions (non-expert alone, with the model, the model alone when
  ``model_arm`` is set, expert): accuracy per arm, the sandwich gap on label accuracy, the assisted minus the
  model alone, and the performance gap recovered on trained gold.
* ``absent_supervisor`` — gold and failure rates on held-out tasks with the supervisor present vs absent
  (the ``supervised`` world's ``supervision/…`` metrics), for the initial policy, best-of-``n_bon`` and the
  final RL policy, per arm; the absent − present gaps and the flawed arm's gap minus the control's.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from oversight_lab.analyses.stories import estimate_dict, is_confirmatory
from oversight_lab.config import RunConfig, replicates
from oversight_lab.feedback.records import read_comparisons
from oversight_lab.metrics.stats import cluster_estimate
from oversight_lab.protocols.metrics import evaluator_accuracy, gap_recovered_ci
from oversight_lab.runs.rundir import arm_dir, read_rows
from oversight_lab.worlds.base import make_world

__all__ = ["ANALYSES", "analyse", "arm_seed_table", "primary_result"]


def _ci(p: dict, values: list[float]) -> dict[str, Any]:
    """Mean and 95% interval of per-replicate ``values`` (in the run's replicate order, ``p["units"]``) over
    pretraining seeds: the one statistics layer's method."""
    est = cluster_estimate(values, p["units"][: len(values)])
    return {"mean": est.value, "lo": est.lo, "hi": est.hi, "method": est.method}


def _metric_at(
    rows: list[dict], arm: str, seed: int, optimizer: str, key: str, n: int | None = None
) -> float:
    """``key`` at the last row of (arm, seed, optimizer), or at its last step ≤ ``n`` (any key)."""
    sel = sorted(
        (r for r in rows if r["arm"] == arm and r["seed"] == seed and r["optimizer"] == optimizer),
        key=lambda r: r["step"],
    )
    if not sel:
        return float("nan")
    le = [r for r in sel if n is None or r["step"] <= n]
    return float((le[-1] if le else sel[0]).get(key, float("nan")))


def arm_seed_table(run_dir: Path, config: dict, rows: list[dict]) -> dict[str, dict[int, dict[str, Any]]]:
    """Per arm and seed: label accuracy vs gold, assistant error rates, judge stats, gold after
    optimisation.
    """
    world = make_world(config["world"], **config["world_params"])
    seeds = [s for _, s in replicates(RunConfig.model_validate(config))]
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for arm in config["arms"]:
        out[arm] = {}
        for seed in seeds:
            d = arm_dir(run_dir, arm, seed)
            cmps = read_comparisons(d / "comparisons.jsonl")
            summ = json.loads((d / "summary.json").read_text())
            ev = cmps[0].evaluator_config if cmps else {}
            rec: dict[str, Any] = {
                **evaluator_accuracy(world, cmps),
                "stats": summ.get("evaluator_stats", {}),
            }
            if "assistant" in ev:
                rec["assistant_error"] = ev["assistant"]["error_rate"] if ev.get("depth", 1) else float("nan")
            for key in ("layer_error_rates", "layer_accuracy", "human_accuracy"):
                if key in ev:
                    rec[key] = ev[key]
            rec["gold_initial"] = _metric_at(rows, arm, seed, "initial", "gold/mean")
            rec["gold_bon_max"] = _metric_at(rows, arm, seed, "bon", "gold/mean")
            rec["gold_rl_final"] = _metric_at(rows, arm, seed, "rl", "gold/mean")
            rec["rm_acc_gold"] = summ.get("rm/acc_gold", float("nan"))
            out[arm][seed] = rec
    return out


def _per_arm(table: dict, key: str, p: dict) -> dict[str, dict[str, float]]:
    return {arm: _ci(p, [r.get(key, float("nan")) for r in seeds.values()]) for arm, seeds in table.items()}


def _rlaif(table: dict, rows: list[dict], p: dict) -> dict[str, Any]:
    """Per arm: label accuracy and held-out reward-model accuracy against gold, gold and undisclosed
    mercury after best-of-n (largest n) and RL; each judge arm minus the flawed arm and minus the control,
    paired within replicates (the pre-registered contrast: the first judge arm − the flawed arm on
    ``rm_acc_gold``)."""
    flawed, control = p.get("flawed_arm", "human"), p.get("control_arm", "control")
    judges = [a for a in p.get("judge_arms", [a for a in table if a.startswith("judge")]) if a in table]
    out: dict[str, Any] = {
        "accuracy": _per_arm(table, "acc/expected", p),
        "rm_acc_gold": _per_arm(table, "rm_acc_gold", p),
        "gold_bon_max": _per_arm(table, "gold_bon_max", p),
        "gold_rl_final": _per_arm(table, "gold_rl_final", p),
        "judge": {},
        "judge_arms": judges,
        "contrasts": {},
    }
    for key, opt in (("undisclosed_bon_max", "bon"), ("undisclosed_rl_final", "rl")):
        if any(r["optimizer"] == opt for r in rows):
            out[key] = {
                arm: _ci(p, [_metric_at(rows, arm, s, opt, "fail/undisclosed_toxic") for s in sorted(seeds)])
                for arm, seeds in table.items()
            }
    for judge in judges:
        for other in (flawed, control):
            if other not in table:
                continue
            seeds = sorted(table[judge])
            out["contrasts"][f"{judge} − {other}"] = {
                key: _ci(p, [table[judge][s][key] - table[other][s][key] for s in seeds])
                for key in ("rm_acc_gold", "acc/expected", "gold_rl_final")
            }
    for arm, by_seed in table.items():
        stats = [r["stats"] for r in by_seed.values() if r["stats"]]
        if stats:
            tot = {k: float(sum(s.get(k, 0) for s in stats)) for k in stats[0]}
            tot["unparseable_rate"] = tot["unparseable"] / tot["calls"] if tot["calls"] else float("nan")
            tot["position_inconsistent_rate"] = (
                tot["position_inconsistent"] / tot["pairs"] if tot["pairs"] else 0.0
            )
            tot["pairs_per_second"] = tot["pairs"] / tot["seconds"] if tot["seconds"] else float("nan")
            out["judge"][arm] = tot
    if judges and flawed in table:  # the pre-registered contrast: the first judge arm − the flawed human
        seeds = sorted(table[judges[0]])
        out["primary_values"] = [table[judges[0]][s]["rm_acc_gold"] - table[flawed][s]["rm_acc_gold"]
                                 for s in seeds]
    return out


def _assisted(table: dict, rows: list[dict], p: dict) -> dict[str, Any]:
    base = p.get("unaided_arm", "unaided")
    out: dict[str, Any] = {
        "accuracy": _per_arm(table, "acc/expected", p),
        "assistant_error": _per_arm(table, "assistant_error", p),
        "gain_over_unaided": {},
        "gold_bon_max": _per_arm(table, "gold_bon_max", p),
    }
    for arm, by_seed in table.items():
        if arm == base or base not in table:
            continue
        seeds = sorted(by_seed)
        a = [by_seed[s]["acc/expected"] for s in seeds]
        u = [table[base][s]["acc/expected"] for s in seeds]
        out["gain_over_unaided"][arm] = _ci(p, [x - y for x, y in zip(a, u, strict=False)])
    return out


def _depth(arm: str) -> int | None:
    m = re.search(r"(\d+)$", arm)
    return int(m.group(1)) if m else None


def _layers(table: dict, rows: list[dict], p: dict) -> dict[str, Any]:
    arms = sorted((a for a in table if _depth(a) is not None), key=lambda a: _depth(a) or 0)
    depths = [_depth(a) for a in arms]
    acc = [_ci(p, [r["acc/expected"] for r in table[a].values()]) for a in arms]
    err = [
        _ci(p, [
                (r.get("layer_error_rates") or [0.0])[-1] if (_depth(a) or 0) > 0 else float("nan")
                for r in table[a].values()
            ]
        )
        for a in arms
    ]
    seeds = sorted(table[arms[0]]) if arms else []
    drop = (
        _ci(p, [table[arms[0]][s]["acc/expected"] - table[arms[-1]][s]["acc/expected"] for s in seeds])
        if arms
        else {}
    )
    # the first assisted layer against the deepest: what further layers of AI assistance add or lose
    drop1 = (
        _ci(p, [table[arms[1]][s]["acc/expected"] - table[arms[-1]][s]["acc/expected"] for s in seeds])
        if len(arms) > 2
        else {}
    )
    slopes = []
    for s in seeds:
        y = [table[a][s]["acc/expected"] for a in arms]
        slopes.append(float(np.polyfit(depths, y, 1)[0]) if len(arms) > 1 else float("nan"))
    return {
        "depths": depths,
        "arms": arms,
        "accuracy": acc,
        "assistant_error": err,
        "gold_bon_max": [_ci(p, [r["gold_bon_max"] for r in table[a].values()]) for a in arms],
        "first_minus_last": drop,
        "first_assisted_minus_last": drop1,
        "slope_per_layer": _ci(p, slopes),
        "primary_values": slopes,
        "label_noise": p.get("label_noise"),
        "blind_fraction": p.get("blind_fraction"),
        # each layer's agreement with gold on its own held-out pairs (the layered kind records it), per depth
        "layer_accuracy": [
            _ci(p, [(r.get("layer_accuracy") or [float("nan")])[-1] if (_depth(a) or 0) > 0
                    else r.get("human_accuracy", float("nan")) for r in table[a].values()])
            for a in arms
        ],
    }


def _advantage(table: dict, rows: list[dict], p: dict) -> dict[str, Any]:
    """The evaluator's budget (arms: how many items of an answer it reads) against the evaluatee's deployment
    compute (best-of-n for every recorded n; RL steps when the run has RL): the failure and gold on the grid,
    the failure against the budget at ``n_deploy``, the smallest n at which each budget's failure has risen
    by ``failure_threshold`` over n = 1 (the initial policy's), and (as before) gold at ``n_train`` minus at
    ``n_deploy``."""
    n_train, n_deploy = int(p.get("n_train", 4)), int(p.get("n_deploy", 64))
    failure = p.get("failure", "fail/undisclosed_toxic")
    threshold = float(p.get("failure_threshold", 0.1))
    ns = sorted({int(r["step"]) for r in rows if r["optimizer"] == "bon"})
    rl_steps = sorted({int(r["step"]) for r in rows if r["optimizer"] == "rl"})
    out: dict[str, Any] = {
        "n_train": n_train, "n_deploy": n_deploy, "failure": failure, "failure_threshold": threshold,
        "ns": ns, "rl_steps": rl_steps, "arms": {},
    }
    for arm, by_seed in table.items():
        seeds = sorted(by_seed)

        def at(opt: str, key: str, n: int, arm: str = arm, seeds: list = seeds) -> list[float]:
            return [_metric_at(rows, arm, s, opt, key, n) for s in seeds]

        tr, de = at("bon", "gold/mean", n_train), at("bon", "gold/mean", n_deploy)
        grid = {n: {"failure": _ci(p, at("bon", failure, n)), "gold": _ci(p, at("bon", "gold/mean", n))}
                for n in ns}
        base = grid[ns[0]]["failure"]["mean"] if ns else float("nan")  # the initial policy's (n = 1)
        onset = next((n for n in ns[1:] if grid[n]["failure"]["mean"] >= base + threshold), None)
        out["arms"][arm] = {
            "gold_train": _ci(p, tr),
            "gold_deploy": _ci(p, de),
            "gap": _ci(p, [a - b for a, b in zip(tr, de, strict=False)]),
            "accuracy": _ci(p, [by_seed[s]["acc/expected"] for s in seeds]),
            "grid": grid,
            "failure_deploy": _ci(p, at("bon", failure, n_deploy)),
            "onset_n": onset,
            "rl_grid": {k: {"failure": _ci(p, at("rl", failure, k)), "gold": _ci(p, at("rl", "gold/mean", k))}
                        for k in rl_steps},
        }
    pair = p.get("contrast_arms")  # the pre-registered contrast: failure at n_deploy, first arm − second
    if pair and all(a in table for a in pair):
        seeds = sorted(table[pair[0]])
        diff = [_metric_at(rows, pair[0], s, "bon", failure, n_deploy)
                - _metric_at(rows, pair[1], s, "bon", failure, n_deploy) for s in seeds]
        out["contrast"] = {"arms": list(pair), "n": n_deploy, **_ci(p, diff)}
        out["primary_values"] = diff
    return out


def _sandwich(table: dict, rows: list[dict], p: dict) -> dict[str, Any]:
    u, a, e = (
        p.get("unaided_arm", "unaided"),
        p.get("assisted_arm", "assisted"),
        p.get("expert_arm", "expert"),
    )
    m = p.get("model_arm")  # Bowman et al.'s "model alone", when the scenario has it
    arms = [u, a, *([m] if m in table else []), e]
    seeds = sorted(table[u])

    def col(arm: str, key: str) -> list[float]:
        return [table[arm][s][key] for s in seeds]

    out = {
        "arms": arms,
        "accuracy": {k: _ci(p, col(k, "acc/expected")) for k in arms},
        "sandwich_gap": gap_recovered_ci(
            col(u, "acc/expected"), col(a, "acc/expected"), col(e, "acc/expected"), p["units"]
        ),
        "assistant_error": {k: _ci(p, [table[k][s].get("assistant_error", float("nan")) for s in seeds])
                            for k in arms if "assistant_error" in table[k][seeds[0]]},
    }
    out["primary_values"] = list(out["sandwich_gap"]["per_seed"])
    if m in table:  # does the non-expert add anything to the model's own critique?
        out["assisted_minus_model"] = _ci(p, [x - y for x, y in zip(col(a, "acc/expected"),
                                                                      col(m, "acc/expected"), strict=True)])
    for key in ("gold_bon_max", "gold_rl_final"):
        if not all(math.isnan(x) for x in col(u, key)):
            out[key] = {k: _ci(p, col(k, key)) for k in arms}
            out[f"pgr_{key.removeprefix('gold_')}"] = gap_recovered_ci(
                col(u, key), col(a, key), col(e, key), p["units"]
            )
    return out


def _absent_supervisor(table: dict, rows: list[dict], p: dict) -> dict[str, Any]:
    """Watched vs unwatched on the same held-out tasks (Leike et al. 2017, absent supervisor).

    Per policy (``initial``, ``bon`` at ``n_bon``, ``rl`` final) and arm: gold and each failure rate in
    ``failures`` (base ``fail/`` metrics; ``fail/toxic`` gives the keys ``toxic_present``, ``toxic_absent``,
    ``toxic_gap``) with the supervisor present and absent, and the gaps (gold: present − absent; a failure:
    absent − present), each over seeds; then the flawed arm's gaps minus the control's, paired by seed.
    """
    n_bon = int(p.get("n_bon", 16))
    failures = [str(f).removeprefix("fail/") for f in p.get("failures", ["fail/toxic"])]
    flawed, control = p.get("flawed_arm", "flawed"), p.get("control_arm", "control")
    keys = {
        f"{x}_{c}": f"supervision/{x}_{c}" for x in ("gold", *failures) for c in ("present", "absent", "gap")
    }
    at = {"initial": ("initial", None), "bon": ("bon", n_bon), "rl": ("rl", None)}
    per_seed: dict[str, dict[str, dict[str, list[float]]]] = {}
    for pol, (opt, n) in at.items():
        if not any(r["optimizer"] == opt for r in rows):
            continue
        per_seed[pol] = {
            arm: {
                name: [_metric_at(rows, arm, s, opt, key, n) for s in sorted(by_seed)]
                for name, key in keys.items()
            }
            for arm, by_seed in table.items()
        }
    out: dict[str, Any] = {
        "n_bon": n_bon,
        "failures": [f"fail/{f}" for f in failures],
        "per_seed_values": per_seed,
        "policies": {},
    }
    for pol, by_arm in per_seed.items():
        out["policies"][pol] = {
            arm: {name: _ci(p, v) for name, v in vals.items()} for arm, vals in by_arm.items()
        }
        if flawed in by_arm and control in by_arm:
            out["policies"][pol]["flawed_minus_control"] = {
                name: _ci(p, [a - b for a, b in zip(by_arm[flawed][name], by_arm[control][name], strict=False)])
                for name in keys
                if name.endswith("_gap")
            }
    rl = per_seed.get("rl", {})
    if flawed in rl and control in rl and failures:  # registered: the first failure's gap after RL
        gap = f"{failures[0]}_gap"
        out["primary_values"] = [a - b for a, b in zip(rl[flawed][gap], rl[control][gap], strict=True)]
    return out


ANALYSES = {
    "rlaif": _rlaif,
    "assisted": _assisted,
    "layers": _layers,
    "advantage": _advantage,
    "sandwich": _sandwich,
    "absent_supervisor": _absent_supervisor,
}


def primary_result(values: list[float], units: list[tuple[int, int]], run_dir: Path) -> dict[str, Any]:
    """The pre-registered primary estimate (``prereg.json`` of the run directory: its measure, direction and
    minimum effect) from the per-replicate values the protocol's analysis computed for it: the mean with a
    95% interval and p-value over pretraining seeds, whether it shows as registered (``emerged``: the
    interval excludes 0 in the registered direction and the estimate is at least the minimum effect) or not
    (``none``), and whether the run was confirmatory."""
    path = run_dir / "prereg.json"
    prereg = json.loads(path.read_text()).get("prereg") if path.exists() else None
    est = estimate_dict(cluster_estimate(values, units[: len(values)], what="primary"))
    confirmatory, why = is_confirmatory(run_dir)
    out: dict[str, Any] = {"estimate": est, "confirmatory": confirmatory, "status_reason": why}
    if not prereg:
        return {**out, "status": "n/a", "verdict": "no pre-registration in the run directory"}
    sign = 1.0 if prereg["direction"] == "up" else -1.0
    shown = (not math.isnan(est["lo"]) and sign * est["value"] >= float(prereg["min_effect"])
             and (est["lo"] > 0 if sign > 0 else est["hi"] < 0))
    label = "confirmatory" if confirmatory else "exploratory"
    p = "" if math.isnan(est["p"]) else f", p = {est['p']:.2g}"
    what = ("as registered (the registered direction, interval excluding 0, at least the minimum effect)"
            if shown else "not as registered (a null: the interval includes 0, or the estimate is in the "
            "other direction or below the minimum effect)")
    line = (f"{run_dir.name if not prereg.get('primary') else prereg['primary']} [{label}]: "
            f"{est['value']:+.3f} [{est['lo']:+.3f}, {est['hi']:+.3f}]{p} over {est['n_units']} "
            f"{est['unit']}s; {what}; contrast {prereg.get('contrast', '')}; registered "
            f"{'a rise' if sign > 0 else 'a fall'} of at least {prereg['min_effect']}.")
    return {**out, "measure": prereg.get("primary"), "contrast": prereg.get("contrast"),
            "direction": prereg["direction"], "min_effect": prereg["min_effect"],
            "status": "emerged" if shown else "none", "verdict": line}


def analyse(run_dir: str | Path) -> dict[str, Any]:
    """The protocol analysis of a run directory (``config.protocol.analysis`` names it), with its
    pre-registered primary estimate (``primary``: :func:`primary_result`) where the analysis computes one."""
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    name = config.get("protocol", {}).get("analysis")
    if name not in ANALYSES:
        raise ValueError(
            f"run {str(run_dir)!r}: protocol.analysis {name!r} is not one of {', '.join(ANALYSES)}"
        )
    rows = read_rows(run_dir / "metrics.jsonl")
    table = arm_seed_table(run_dir, config, rows)
    units = replicates(RunConfig.model_validate(config))
    result = {
        "analysis": name,
        "scenario": config["scenario"],
        "seeds": [s for _, s in units],
        "replicates": [list(u) for u in units],
        "per_arm_seed": {a: {str(s): v for s, v in d.items()} for a, d in table.items()},
        **ANALYSES[name](table, rows, {**config["protocol"], "units": units}),
    }
    values = result.pop("primary_values", None)
    if values is not None:
        result["primary"] = primary_result(values, units, run_dir)
    return result
