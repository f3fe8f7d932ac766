"""The classic reward-model overoptimisation results at CPU scale, and the essay's variation on them.

* ``gao`` — Gao, Schulman & Hilton (2022), "Scaling Laws for Reward Model Overoptimization": gold is the
  world's expert; proxy reward models of three sizes (tiny GPT-2 backbones ``tiny:1x16``, ``tiny:1x32``,
  ``tiny:2x64``, the last being the evaluatee's own) trained on three amounts of comparison data;
  best-of-n up to n = 10⁴ from one pool per task with the unbiased estimator (Nakano et al. 2021), RL with
  checkpoints along KL; R_bon(d) = d(α − βd) and R_RL(d) = d(α − β log d) fitted per cell. Two evaluators
  produce the comparisons: ``expert`` (gold with Bradley–Terry noise: Gao's own setting, where the proxy is
  wrong only through finite data and capacity) and ``flawed`` (the essay's incomplete criteria: a quarter of
  the mercury-bearing ingredients known).
* ``coste`` — Coste, Anwar, Kirk & Krueger (2023), "Reward Model Ensembles Help Mitigate Overoptimization":
  a single reward model against ensembles of five with mean, worst-case (min) and uncertainty-weighted
  (mean − λ·var) objectives, under best-of-n and RL; once with 25% label noise as in the paper, and once
  with the essay's structured flaws (incomplete criteria here; hidden information, ``HIDDEN``, in the grid
  ``examples/grids/coste-hidden.yaml``) — a question the papers did not ask. Objectives are compared seed by
  seed (the same comparisons train every objective).

Both are multi-config experiments: the scenario's overrides are one cell (``oversight-lab run gao`` runs the
evaluatee-sized reward model on 1,000 comparisons), and the shipped grid of the same name is the experiment
(``oversight-lab sweep gao``). The analyses below read a finished sweep and are stored in its ``sweep.json``;
``report/overopt.py`` draws them. KL for best-of-n is the analytic log n − (n−1)/n, as in Gao et al.; it is an
upper bound for a discrete policy (Beirami et al. 2024), and every row also carries the plug-in exact KL of
best-of-n over the pool (``kl/bon_exact_pool``), which the analysis reports beside it.
"""

from __future__ import annotations

from dataclasses import replace

import math
import re
from typing import Any

import numpy as np
from scipy import stats

from oversight_lab.metrics.overopt import fit_seeds, paired_difference
from oversight_lab.metrics.stats import mean_ci
from oversight_lab.scenarios import SCENARIOS, Preregistration, Scenario, register_scenario
from oversight_lab.sweeps.analysis import Analysis, SweepData, register_analysis
from oversight_lab.sweeps.grid import register_grid

__all__ = ["COSTE_GRID", "GAO_GRID", "analyse_coste", "analyse_gao", "rm_parameters", "seed_curves"]

SOURCES = (
    "Gao, Schulman & Hilton 2022, Scaling Laws for Reward Model Overoptimization",
    "Coste, Anwar, Kirk & Krueger 2023, Reward Model Ensembles Help Mitigate Overoptimization",
    "Nakano et al. 2021, WebGPT (appendix: the unbiased best-of-n estimator)",
    "Beirami et al. 2024, Theoretical guarantees on the best-of-n alignment policy",
    "the essay, 'Flawed evaluations might lead to catastrophic alignment failures'",
)
NOISE = {"kind": "noise", "temperature": 0.1}
EXPERT = {"kind": "expert", "flaws": [NOISE]}
INCOMPLETE = {"kind": "simulated", "flaws": [{"kind": "incomplete_criteria", "known_fraction": 0.25}, NOISE]}
HIDDEN = {"kind": "simulated", "flaws": [{"kind": "hidden_information", "budget": 1}, NOISE]}
LABEL_NOISE = {"kind": "expert", "flaws": [{"kind": "noise", "temperature": 0.1, "flip_rate": 0.25}]}

# Shared by both: a pool of 10^4 samples on each of 8 held-out tasks (sampled once per seed and cached, since
# it depends on the initial policy only), RL far along KL with a checkpoint every 5 steps, no DPO.
COMMON = {
    "dpo.enabled": False,
    "bon.pool_size": 10_000,
    "bon.n_tasks": 8,
    "bon.cache_pool": True,
    "rl.steps": 40,
    "rl.checkpoint_every": 5,
    "rl.beta": 0.0,
    "rl.lr": 2e-4,
    "eval.n_tasks": 32,
    "eval.samples_per_task": 4,
}

register_scenario(
    Scenario(
        name="gao",
        description=(
            "Gao et al. 2022 at CPU scale: gold vs proxy under best-of-n (n ≤ 10⁴) and RL for reward "
            "models of 3 sizes × 3 data sizes; `oversight-lab sweep gao` runs the grid and fits α, β."
        ),
        sources=SOURCES,
        overrides={
            **COMMON,
            "arms": {"expert": EXPERT, "flawed": INCOMPLETE},
            "reward.backbone": "tiny:2x64",
            "feedback.n_comparisons": 1000,
            # the fits need smooth curves: a best-of-n curve is a step function per task, and with 8 tasks the
            # mean over tasks kept their steps (2x64 / 250 comparisons: R² 0.48 with 8 tasks, 0.90 with 32)
            "bon.n_tasks": 32,
        },
    )
)
register_scenario(
    Scenario(
        name="coste",
        description=(
            "Coste et al. 2023: ensembles (mean, min, mean − λ·var) against one reward model, under 25% "
            "label noise and under structured flaws; `oversight-lab sweep coste` runs the four objectives."
        ),
        sources=SOURCES,
        overrides={
            **COMMON,
            # the essay's other flaw, hidden information, is its own grid: examples/grids/coste-hidden.yaml
            "arms": {"label_noise": LABEL_NOISE, "incomplete_criteria": INCOMPLETE},
            "feedback.n_comparisons": 1000,
            "reward.cache": True,  # the mean, min and uwo cells combine one trained ensemble per (arm, seed)
        },
    )
)

# Pre-registrations, declared 2026-12-01 before any confirmation run (docs/overoptimisation.md is exploratory).
SCENARIOS["gao"] = replace(SCENARIOS["gao"], prereg=Preregistration(
    primary="bon_gold_peak − bon_gold_max_n: the fall of best-of-n gold from its peak", optimizer="bon",
    direction="up", min_effect=0.05, contrast="per replicate, against 0, in each (reward-model size, data) cell"))
SCENARIOS["coste"] = replace(SCENARIOS["coste"], prereg=Preregistration(
    primary="gold drop from the peak under best-of-n and RL", optimizer="rl", direction="down", min_effect=0.05,
    contrast="each ensemble objective − the single reward model (paired within replicates)"))

GAO_GRID: dict[str, Any] = {
    "name": "gao",
    "description": "Gao et al. 2022: reward-model size × data size, gold vs proxy under best-of-n and RL",
    "scenario": "gao",
    "seeds": 3,
    "analysis": "gao",
    "grid": {
        "reward.backbone": ["tiny:1x16", "tiny:1x32", "tiny:2x64"],
        "feedback.n_comparisons": [250, 1000, 4000],
    },
}
COSTE_GRID: dict[str, Any] = {
    "name": "coste",
    "description": "Coste et al. 2023: one reward model against ensembles of five (mean, min, uwo)",
    "scenario": "coste",
    "seeds": 3,
    "analysis": "coste",
    "cells": [
        {"reward.ensemble_size": 1},
        {"reward.ensemble_size": 5, "reward.aggregate": "mean"},
        {"reward.ensemble_size": 5, "reward.aggregate": "min"},
        {"reward.ensemble_size": 5, "reward.aggregate": "uwo", "reward.uwo_lambda": 1.0},
    ],
}
register_grid("gao", GAO_GRID)
register_grid("coste", COSTE_GRID)


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


def rm_parameters(backbone: str, tiny: dict[str, Any]) -> int:
    """Non-embedding parameters 12·L·W² of a reward model's backbone (the size axis of Gao et al.)."""
    if backbone == "policy":
        layers, width = tiny["n_layer"], tiny["n_embd"]
    else:
        match = re.fullmatch(r"tiny:(\d+)x(\d+)", backbone)
        if not match:
            raise ValueError(f"unknown backbone {backbone!r}")
        layers, width = int(match.group(1)), int(match.group(2))
    return 12 * layers * width * width


def _shape(rows: list[dict[str, Any]], arm: str, optimizer: str) -> dict[str, Any]:
    """Does gold rise then fall while proxy rises? Per seed, then mean [CI] across seeds."""
    gold, proxy = seed_curves(rows, arm, optimizer), seed_curves(rows, arm, optimizer, "proxy/mean")
    rise = [float(np.max(r)) for _, r in gold.values()]
    fall = [float(np.max(r) - r[-1]) for _, r in gold.values()]
    gain = [float(r[-1]) for _, r in proxy.values()]
    argmax = [float(d[int(np.argmax(r))]) for d, r in gold.values()]
    out = {}
    for key, vals in (
        ("gold_rise", rise),
        ("gold_fall", fall),
        ("proxy_gain", gain),
        ("d_peak_empirical", argmax),
    ):
        m, lo, hi = mean_ci(vals)
        out[key] = {"mean": m, "lo": lo, "hi": hi}
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
                    per_arm[opt] = {**fit_seeds(list(curves.values()), form), "shape": shape}
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
def _objective(cfg: dict[str, Any]) -> str:
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
        objectives[_objective(cfg)] = {"id": c["id"], "rows": data.rows[c["id"]], "arms": arms}
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
                for key in ("gold_final", "gold_peak", "drop", "proxy_gain"):
                    m, lo, hi = mean_ci([mine[s][key] for s in seeds])
                    row[key] = {"mean": m, "lo": lo, "hi": hi}
                if name != "single":
                    row["vs_single_gold_final"] = paired_difference(
                        [mine[s]["gold_final"] for s in seeds], [base[s]["gold_final"] for s in seeds]
                    )
                    row["vs_single_drop"] = paired_difference(
                        [mine[s]["drop"] for s in seeds], [base[s]["drop"] for s in seeds]
                    )
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


def _render_gao(data: SweepData, result: dict[str, Any]) -> list[tuple[str, str]]:
    from oversight_lab.report.overopt import render_gao

    return render_gao(data, result)


def _render_coste(data: SweepData, result: dict[str, Any]) -> list[tuple[str, str]]:
    from oversight_lab.report.overopt import render_coste

    return render_coste(data, result)


register_analysis(Analysis("gao", analyse_gao, _render_gao))
register_analysis(Analysis("coste", analyse_coste, _render_coste))
