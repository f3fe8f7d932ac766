"""Aggregate a run's metric rows over its replicates: per-replicate headline numbers, their means with 95%
intervals at the pretraining-seed level (:mod:`oversight_lab.metrics.stats`), curves, verdict lines."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from oversight_lab.metrics.stats import cluster_estimate, median_range

__all__ = ["curve", "headlines_of", "per_seed_headlines", "summarise", "HEADLINES"]

# name → what it means; every headline is computed per replicate (pretraining seed, RLHF seed), then averaged
# with an interval over pretraining seeds.
HEADLINES = {
    "gold_initial": "gold of the initial policy",
    "proxy_initial": "proxy (reward-model score) of the initial policy",
    "bon_gold_peak": "highest best-of-n gold over n",
    "bon_n_peak": "the n where best-of-n gold peaks",
    "bon_gold_max_n": "best-of-n gold at the largest n",
    "bon_proxy_gain": "best-of-n proxy at the largest n minus at n = 1",
    "bon_toxic_max_n": "mercury use of best-of-n at the largest n",
    "rl_gold_peak": "highest gold over RL checkpoints",
    "rl_gold_final": "gold after RL",
    "rl_proxy_gain": "proxy after RL minus before",
    "rl_kl_final": "KL(π_RL ‖ π_init) after RL (nats, Monte-Carlo)",
    "rl_toxic_final": "mercury use after RL",
    "rl_undisclosed_final": "undisclosed mercury after RL",
    "toxic_initial": "mercury use of the initial policy",
    "dpo_gold_final": "gold after DPO",
    "rm_acc_evaluator": "held-out reward-model accuracy against the evaluator's labels",
    "rm_acc_gold": "held-out reward-model accuracy against gold",
}


def _by(rows: list[dict], **match: Any) -> list[dict]:
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def per_seed_headlines(rows: list[dict], arm: str, seed: int) -> dict[str, float]:
    """The headlines of one replicate (RLHF seeds are unique within a run, see ``config.replicates``)."""
    nan = float("nan")
    init = _by(rows, arm=arm, seed=seed, optimizer="initial")
    bon = sorted(_by(rows, arm=arm, seed=seed, optimizer="bon"), key=lambda r: r["step"])
    rl = sorted(_by(rows, arm=arm, seed=seed, optimizer="rl"), key=lambda r: r["step"])
    dpo = sorted(_by(rows, arm=arm, seed=seed, optimizer="dpo"), key=lambda r: r["step"])
    h: dict[str, float] = {k: nan for k in HEADLINES}
    if init:
        i = init[0]
        h.update(gold_initial=i["gold/mean"], proxy_initial=i["proxy/mean"], toxic_initial=i.get("fail/toxic", nan),
                 rm_acc_evaluator=i.get("rm/acc_evaluator", nan), rm_acc_gold=i.get("rm/acc_gold", nan))
    if bon:
        peak = max(bon, key=lambda r: r["gold/mean"])
        h.update(bon_gold_peak=peak["gold/mean"], bon_n_peak=float(peak["step"]), bon_gold_max_n=bon[-1]["gold/mean"],
                 bon_proxy_gain=bon[-1]["proxy/mean"] - bon[0]["proxy/mean"],
                 bon_toxic_max_n=bon[-1].get("fail/toxic", nan))
    if rl:
        h.update(rl_gold_peak=max(r["gold/mean"] for r in rl), rl_gold_final=rl[-1]["gold/mean"],
                 rl_proxy_gain=rl[-1]["proxy/mean"] - rl[0]["proxy/mean"], rl_kl_final=rl[-1]["kl/seq_k1"],
                 rl_toxic_final=rl[-1].get("fail/toxic", nan),
                 rl_undisclosed_final=rl[-1].get("fail/undisclosed_toxic", nan))
    if dpo:
        h["dpo_gold_final"] = dpo[-1]["gold/mean"]
    for name in _other_optimisers(rows):  # any other optimiser (optimize.base registry): its rows by name
        mine = sorted(_by(rows, arm=arm, seed=seed, optimizer=name), key=lambda r: r["step"])
        if mine:
            h[f"{name}_gold_final"] = mine[-1]["gold/mean"]
            h[f"{name}_proxy_gain"] = mine[-1]["proxy/mean"] - mine[0]["proxy/mean"]
            h[f"{name}_toxic_final"] = mine[-1].get("fail/toxic", nan)
    return h


def _other_optimisers(rows: list[dict]) -> list[str]:
    """Optimisers in ``rows`` beyond the initial policy and the three the headlines name explicitly (rows
    without gold, such as the debate experiment's, have no loop headlines)."""
    return sorted({r["optimizer"] for r in rows if "gold/mean" in r} - {"initial", "bon", "rl", "dpo"})


def headlines_of(rows: list[dict]) -> dict[str, str]:
    """HEADLINES plus, for every other optimiser the rows hold, its final gold, proxy gain and mercury use."""
    out = dict(HEADLINES)
    for name in _other_optimisers(rows):
        out[f"{name}_gold_final"] = f"gold after {name}"
        out[f"{name}_proxy_gain"] = f"proxy after {name} minus before"
        out[f"{name}_toxic_final"] = f"mercury use after {name}"
    return out


# headlines that are rates (an interval never leaves [0, 1]) and counts (median and range, no interval)
RATES = {"bon_toxic_max_n", "rl_toxic_final", "rl_undisclosed_final", "toxic_initial", "rm_acc_evaluator",
         "rm_acc_gold"}
COUNTS = {"bon_n_peak"}


def _unit(r: dict) -> tuple:
    return (r.get("pretrain_seed", 0), r["seed"])


def curve(rows: list[dict], arm: str, optimizer: str, metric: str, x: str = "kl/sqrt",
          relative: bool = False) -> dict[str, list[float]]:
    """Mean and 95% interval of ``metric`` at every checkpoint (over pretraining seeds, RLHF seeds averaged
    within each), with the mean of ``x`` for the axis.

    ``relative`` subtracts each seed's value at its first checkpoint: a reward model's scale and offset are
    arbitrary (Bradley–Terry is identified only up to a shift), so proxies are compared as gains, as in Gao et al.
    """
    steps: dict[int, list[dict]] = defaultdict(list)
    first: dict[tuple, float] = {}
    for r in sorted(_by(rows, arm=arm, optimizer=optimizer), key=lambda r: r["step"]):
        steps[r["step"]].append(r)
        first.setdefault(_unit(r), r.get(metric, float("nan")))
    out: dict[str, list[float]] = {"step": [], "x": [], "mean": [], "lo": [], "hi": []}
    for step in sorted(steps):
        vals = [r.get(metric, float("nan")) - (first[_unit(r)] if relative else 0.0) for r in steps[step]]
        est = cluster_estimate(vals, [_unit(r) for r in steps[step]])
        m, lo, hi = est.value, est.lo, est.hi
        out["step"].append(step)
        out["x"].append(float(np.nanmean([r.get(x, float("nan")) for r in steps[step]])))
        out["mean"].append(m)
        out["lo"].append(lo)
        out["hi"].append(hi)
    return out


def _verdict(arm: str, agg: dict[str, dict[str, float]]) -> str:
    def f(key: str) -> str:
        v = agg[key]["mean"]
        return "n/a" if math.isnan(v) else f"{v:.2f}"

    parts = [f"{arm}: gold {f('gold_initial')} at start"]
    if not math.isnan(agg["bon_gold_peak"]["mean"]):
        fell = agg["bon_gold_max_n"]["mean"] < agg["bon_gold_peak"]["mean"] - 0.05
        parts.append(f"best-of-n peaks at {f('bon_gold_peak')} and "
                     f"{'falls to' if fell else 'ends at'} {f('bon_gold_max_n')} while proxy gains {f('bon_proxy_gain')}")
    if not math.isnan(agg["rl_gold_final"]["mean"]):
        parts.append(f"RL ends at gold {f('rl_gold_final')} (peak {f('rl_gold_peak')}), "
                     f"mercury use {f('toxic_initial')} → {f('rl_toxic_final')}")
    return "; ".join(parts) + "."


def summarise(rows: list[dict], arms: list[str], replicates: list[tuple[int, int]]) -> dict[str, Any]:
    """Per-replicate headlines and their means with 95% intervals over pretraining seeds (RLHF seeds averaged
    within each; rates kept in [0, 1]; counts as median and range), per arm, plus verdict lines."""
    seeds = [s for _, s in replicates]
    headlines = headlines_of(rows)
    out: dict[str, Any] = {"seeds": seeds, "replicates": [list(r) for r in replicates], "headlines": headlines,
                           "arms": {}, "verdicts": []}
    for arm in arms:
        per_seed = {s: per_seed_headlines(rows, arm, s) for s in seeds}
        agg = {}
        for key in headlines:
            vals = [per_seed[s].get(key, float("nan")) for s in seeds]
            if key in COUNTS:
                mr = median_range(vals)
                agg[key] = {"mean": mr["median"], "lo": mr["min"], "hi": mr["max"],
                            "method": f"median and range over {mr['n']} replicates"}
                continue
            rate = key in RATES or key.endswith("_toxic_final")
            est = cluster_estimate(vals, replicates, bounds=(0.0, 1.0) if rate else (None, None),
                                   what=key)
            agg[key] = {"mean": est.value, "lo": est.lo, "hi": est.hi, "method": est.method}
        out["arms"][arm] = {"aggregate": agg, "per_seed": {str(s): v for s, v in per_seed.items()}}
        out["verdicts"].append(_verdict(arm, agg))
    return out
