"""The overoptimisation analyses of a finished sweep (``gao``, ``coste``): fitted curve families and coefficients,
and ensemble objectives against the single reward model. They read the sweep directory only
(:class:`~oversight_lab.analyses.sweeps.SweepData`) and return the numbers ``sweep.json`` stores; the report
(``report/overopt.py``) draws them. The scenarios and grids are in :mod:`oversight_lab.scenarios.overoptimisation`
and ``oversight_lab/data/grids/``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from oversight_lab.analyses.sweeps import SweepData, register_sweep_analysis
from oversight_lab.metrics.overopt import fit_seeds, paired_difference
from oversight_lab.metrics.stats import cluster_estimate

__all__ = ["OPTIMISERS", "analyse_coste", "analyse_gao", "objective", "rm_parameters", "seed_curves"]


# best-of-n against the analytic d (Gao et al.), against the exact plug-in d, and RL
OPTIMISERS = ("bon", "bon_exact", "rl")


# -- reading curves ------------------------------------------------------------------------------------------
def seed_curves(
    rows: list[dict[str, Any]], arm: str, optimizer: str, metric: str = "gold/mean"
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per seed: (d, R) with d = √KL from the initial policy and R = metric − its value at the first point.

    Best-of-n (``bon``) uses the analytic KL of Gao et al., ``bon_exact`` the plug-in exact KL of best-of-n
    over the pool (Beirami et al. 2024); RL the Monte-Carlo KL of the checkpoint (clipped at 0).
    """
    kl_key = "kl/bon_exact_pool" if optimizer == "bon_exact" else "kl/bon_analytic"
    optimizer = "bon" if optimizer == "bon_exact" else optimizer
    out = {}
    for seed in sorted({r["seed"] for r in rows if r["arm"] == arm}):
        pts = sorted(
            (r for r in rows if r["arm"] == arm and r["seed"] == seed and r["optimizer"] == optimizer),
            key=lambda r: r["step"],
        )
        if len(pts) < 3:
            continue
        if optimizer == "bon":
            d = np.sqrt(np.maximum([r.get(kl_key, float("nan")) for r in pts], 0.0))
        else:
            d = np.sqrt(np.maximum([r["kl/seq_k1"] for r in pts], 0.0))
        v = np.array([r.get(metric, float("nan")) for r in pts], dtype=float)
        out[seed] = (d, v - v[0])
    return out


def replicate_paths(rows: list[dict[str, Any]], arm: str, seeds: Any) -> list[tuple[int, int]]:
    """(pretraining seed, RLHF seed) of each of ``seeds`` in ``arm``'s rows: the units intervals nest in."""
    pretrain = {r["seed"]: r.get("pretrain_seed", 0) for r in rows if r["arm"] == arm}
    return [(pretrain[s], s) for s in seeds]


def rm_parameters(backbone: str, tiny: dict[str, Any]) -> int:
    """Non-embedding parameters 12·L·W² of a reward model's backbone (the size axis of Gao et al.)."""
    if backbone == "policy":
        layers, width = tiny["n_layer"], tiny["n_embd"]
    else:
        from oversight_lab.models.sizes import shape_of

        try:
            layers, width, _ = shape_of(backbone)
        except ValueError:
            raise ValueError(f"unknown backbone {backbone!r}") from None
    return 12 * layers * width * width


def _shape(rows: list[dict[str, Any]], arm: str, optimizer: str) -> dict[str, Any]:
    """Does gold rise then fall while proxy rises? Per replicate, then mean [CI] over pretraining seeds
    (replicates of one pretrained evaluatee averaged first)."""
    gold, proxy = seed_curves(rows, arm, optimizer), seed_curves(rows, arm, optimizer, "proxy/mean")
    rise = [float(np.max(r)) for _, r in gold.values()]
    fall = [float(np.max(r) - r[-1]) for _, r in gold.values()]
    gain = [float(r[-1]) for _, r in proxy.values()]
    argmax = [float(d[int(np.argmax(r))]) for d, r in gold.values()]
    units = replicate_paths(rows, arm, gold)  # proxy curves come from the same checkpoints as gold's
    out = {}
    for key, vals in (
        ("gold_rise", rise),
        ("gold_fall", fall),
        ("proxy_gain", gain),
        ("d_peak_empirical", argmax),
    ):
        est = cluster_estimate(vals, units)
        out[key] = {"mean": est.value, "lo": est.lo, "hi": est.hi}
    out["rise_then_fall_seeds"] = sum(1 for r, f in zip(rise, fall, strict=True) if r > 0.02 and f > 0.02)
    out["n_seeds"] = len(rise)
    if optimizer == "bon":
        last = [
            max(
                (r for r in rows if r["arm"] == arm and r["optimizer"] == "bon" and r["seed"] == s),
                key=lambda r: r["step"],
            )
            for s in gold
        ]
        out["n_max"] = int(last[0]["n"]) if last else None
        out["kl_analytic_max"] = (
            float(np.mean([r["kl/bon_analytic"] for r in last])) if last else float("nan")
        )
        out["kl_exact_pool_max"] = (
            float(np.mean([r.get("kl/bon_exact_pool", float("nan")) for r in last])) if last else float("nan")
        )
    return out


# -- gao -----------------------------------------------------------------------------------------------------
def _spearman(x: list[float], y: list[float]) -> float:
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3 or len({a for a, _ in pairs}) < 2 or len({b for _, b in pairs}) < 2:
        return float("nan")
    return float(stats.spearmanr([a for a, _ in pairs], [b for _, b in pairs]).statistic)


def analyse_gao(data: SweepData) -> dict[str, Any]:
    """Fit α, β (CIs over seeds) and R² for every cell, arm and optimiser; trends of d* with size and data."""
    cells = []
    arms: list[str] = []
    for c in data.cells():
        cfg = data.cell_config(c["id"])
        rows = data.rows[c["id"]]
        entry: dict[str, Any] = {
            "id": c["id"],
            "label": c["label"],
            "backbone": cfg["reward"]["backbone"],
            "rm_params": rm_parameters(cfg["reward"]["backbone"], cfg["tiny"]),
            "n_comparisons": cfg["feedback"]["n_comparisons"],
            "arms": {},
        }
        present = {r["arm"] for r in rows}
        for arm in (a for a in cfg["arms"] if a in present):
            arms = arms if arm in arms else [*arms, arm]
            per_arm: dict[str, Any] = {}
            for opt in OPTIMISERS:
                curves = seed_curves(rows, arm, opt)
                form = "rl" if opt == "rl" else "bon"
                if curves and all(np.isfinite(d).all() for d, _ in curves.values()):
                    shape = _shape(rows, arm, form)
                    units = replicate_paths(rows, arm, curves)
                    per_arm[opt] = {**fit_seeds(list(curves.values()), form, units), "shape": shape}
            entry["arms"][arm] = per_arm
        cells.append(entry)
    trends: dict[str, Any] = {}
    verdicts: list[str] = []
    for arm in arms:
        for opt in OPTIMISERS:
            pts = [
                (c["rm_params"], c["n_comparisons"], c["arms"][arm][opt])
                for c in cells
                if opt in c["arms"].get(arm, {}) and "alpha" in c["arms"][arm][opt].get("mean_fit", {})
            ]
            if not pts:
                continue
            d_star = [p[2]["mean_fit"]["d_peak"] for p in pts]
            r2 = [p[2]["mean_fit"]["r2"] for p in pts]
            t = {
                "rho_size": _spearman([math.log(p[0]) for p in pts], d_star),
                "rho_data": _spearman([math.log(p[1]) for p in pts], d_star),
                "r2_min": float(np.nanmin(r2)),
                "r2_median": float(np.nanmedian(r2)),
                "r2_at_least_0.9": int(sum(v >= 0.9 for v in r2)),
                "alpha_negative": int(sum(p[2]["mean_fit"]["alpha"] < 0 for p in pts)),
                "cells": len(pts),
                "rise_then_fall": int(sum(p[2]["shape"]["rise_then_fall_seeds"] for p in pts)),
                "seed_curves": int(sum(p[2]["shape"]["n_seeds"] for p in pts)),
            }
            trends[f"{arm}/{opt}"] = t
            verdicts.append(_gao_verdict(arm, opt, t, pts))
    return {"cells": cells, "arms": arms, "trends": trends, "verdicts": verdicts}


def _gao_verdict(arm: str, opt: str, t: dict[str, Any], pts: list[tuple[int, int, dict]]) -> str:
    name = {"bon": "best-of-n", "bon_exact": "best-of-n with d from the exact KL on the pool", "rl": "RL"}[
        opt
    ]

    def along(axis: int) -> str:
        levels = sorted({p[axis] for p in pts})
        parts = []
        for level in levels:
            ds = [p[2]["mean_fit"]["d_peak"] for p in pts if p[axis] == level]
            finite = [d for d in ds if math.isfinite(d)]
            parts.append(f"{level:,}: {np.mean(finite):.2f}" if finite else f"{level:,}: no peak")
        return "; ".join(parts)

    def moves(rho: float) -> str:
        if math.isnan(rho):
            return "cannot be told (too few finite peaks)"
        if rho >= 0.5:
            return f"moves outward (Spearman ρ = {rho:.2f})"
        if rho <= -0.5:
            return f"moves inward (Spearman ρ = {rho:.2f})"
        return f"does not move consistently (Spearman ρ = {rho:.2f})"

    head = (
        f"{arm}, {name}: R² of the fitted form ≥ 0.9 in {t['r2_at_least_0.9']}/{t['cells']} cells "
        f"(median {t['r2_median']:.2f}, min {t['r2_min']:.2f}); gold rose then fell in {t['rise_then_fall']}/"
        f"{t['seed_curves']} seed curves."
    )
    if t["alpha_negative"] == t["cells"]:
        return head + (
            " The fitted α is negative in every cell: gold falls from the start, so there is no peak "
            "to move with reward-model size or data size."
        )
    falls = (
        f" (The fitted α is negative in {t['alpha_negative']}/{t['cells']} cells.)"
        if t["alpha_negative"]
        else ""
    )
    return (
        head + f" The fitted peak d* {moves(t['rho_size'])} with reward-model size "
        f"(mean d* by non-embedding parameters, {along(0)}) and {moves(t['rho_data'])} with data size "
        f"(by comparisons, {along(1)})." + falls
    )


# -- coste ---------------------------------------------------------------------------------------------------
def objective(cfg: dict[str, Any]) -> str:
    r = cfg["reward"]
    if r["ensemble_size"] == 1:
        return "single"
    return {"mean": "mean", "min": "min (WCO)", "uwo": f"uwo (λ={r['uwo_lambda']:g})"}[
        r["aggregate"]
    ] + f" ×{r['ensemble_size']}"


def _per_seed(rows: list[dict[str, Any]], arm: str, opt: str) -> dict[int, dict[str, float]]:
    out = {}
    for seed, (_, r) in seed_curves(rows, arm, opt).items():
        pts = sorted(
            (x for x in rows if x["arm"] == arm and x["seed"] == seed and x["optimizer"] == opt),
            key=lambda x: x["step"],
        )
        gold = np.array([x["gold/mean"] for x in pts])
        out[seed] = {
            "gold_final": float(gold[-1]),
            "gold_peak": float(gold.max()),
            "drop": float(gold.max() - gold[-1]),
            "gain_final": float(r[-1]),
            "proxy_gain": float(pts[-1]["proxy/mean"] - pts[0]["proxy/mean"]),
        }
    return out


def analyse_coste(data: SweepData) -> dict[str, Any]:
    """Each ensemble objective against the single reward model, seed-paired, per evaluator and optimiser.

    ``gold_final`` is gold at the largest n (best-of-n; the same n for every objective) or after the last RL
    step;
    ``drop`` is the peak gold of the curve minus that final gold (how much overoptimisation cost).
    """
    objectives: dict[str, dict[str, Any]] = {}
    for c in data.cells():
        cfg = data.cell_config(c["id"])
        present = {r["arm"] for r in data.rows[c["id"]]}
        arms = [a for a in cfg["arms"] if a in present]
        objectives[objective(cfg)] = {"id": c["id"], "rows": data.rows[c["id"]], "arms": arms}
    if "single" not in objectives:
        raise ValueError(
            "coste analysis: the grid needs a cell with reward.ensemble_size = 1 (the single RM)"
        )
    single = objectives["single"]
    result: dict[str, Any] = {
        "objectives": list(objectives),
        "arms": single["arms"],
        "table": [],
        "verdicts": [],
    }
    for arm in single["arms"]:
        for opt in ("bon", "rl"):
            base = _per_seed(single["rows"], arm, opt)
            if not base:
                continue
            for name, obj in objectives.items():
                mine = _per_seed(obj["rows"], arm, opt)
                seeds = sorted(set(base) & set(mine))
                row: dict[str, Any] = {"arm": arm, "optimizer": opt, "objective": name, "seeds": seeds}
                units = replicate_paths(obj["rows"], arm, seeds)
                for key in ("gold_final", "gold_peak", "drop", "proxy_gain"):
                    est = cluster_estimate([mine[s][key] for s in seeds], units)
                    row[key] = {"mean": est.value, "lo": est.lo, "hi": est.hi}
                if name != "single":
                    row["vs_single_gold_final"] = paired_difference(
                        [mine[s]["gold_final"] for s in seeds], [base[s]["gold_final"] for s in seeds],
                        units=units)
                    row["vs_single_drop"] = paired_difference(
                        [mine[s]["drop"] for s in seeds], [base[s]["drop"] for s in seeds], units=units)
                result["table"].append(row)
    for arm in single["arms"]:
        for opt in ("bon", "rl"):
            rows = [
                r
                for r in result["table"]
                if r["arm"] == arm and r["optimizer"] == opt and "vs_single_drop" in r
            ]
            if rows:
                result["verdicts"].append(_coste_verdict(arm, opt, rows))
    return result


def _coste_verdict(arm: str, opt: str, rows: list[dict[str, Any]]) -> str:
    name = "best-of-n (at the largest n)" if opt == "bon" else "RL (after the last step)"
    parts = []
    for r in rows:
        d, g = r["vs_single_drop"], r["vs_single_gold_final"]
        if math.isnan(d["lo"]):
            call = "too few seeds to tell"
        elif d["hi"] < 0 and g["lo"] > 0:
            call = "reduces the drop and ends higher"
        elif d["hi"] < 0:
            call = "reduces the drop"
        elif g["lo"] > 0:
            call = "ends higher"
        elif d["lo"] > 0 or g["hi"] < 0:
            call = "does worse"
        else:
            call = "no difference the CIs can resolve"
        parts.append(
            f"{r['objective']}: drop {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}], final gold "
            f"{g['mean']:+.3f} [{g['lo']:+.3f}, {g['hi']:+.3f}] → {call}"
        )
    return (
        f"{arm}, {name}, against the single RM over {len(rows[0]['seeds'])} seeds: " + "; ".join(parts) + "."
    )


register_sweep_analysis("gao", analyse_gao)
register_sweep_analysis("coste", analyse_coste)
