"""Paired comparison of two models (or two checkpoints of one run) on the same items.

For each task, samples are joined by id. Per item: the change in hit (B − A) and in the probability of the
target. Per task: McNemar's test on hits, and every task metric's difference B − A with a cluster-bootstrap
interval: items are clustered by ``group`` (the question: one question asked under several templates or
personas is one cluster), by ``template``, or not at all (``item``). Remember the direction of each metric:
for ``syco/…`` a positive delta means B is *more* sycophantic.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from oversight_lab.evals.items import Scored
from oversight_lab.evals.logs import EvalLog, _clean, read_eval_log
from oversight_lab.metrics.stats import bootstrap_mean_ci, cluster_bootstrap, cluster_indices
from oversight_lab.evals.tasks.base import make_task
from oversight_lab.metrics.calibration import mcnemar_counts

__all__ = ["CLUSTERS", "compare_logs", "write_comparison"]

CLUSTERS = ("group", "template", "item")


def _key(s: Scored, cluster: str) -> str:
    if cluster == "group":
        return s.item.group or s.item.id
    if cluster == "template":
        return s.item.template
    if cluster == "item":
        return s.item.id
    raise ValueError(f"unknown clustering {cluster!r}; use one of {', '.join(CLUSTERS)}")


def _mcnemar(b: int, c: int) -> dict[str, float]:
    """McNemar's test on hits (the lab's one implementation), exact and continuity-corrected χ²."""
    exact, chi2 = mcnemar_counts(b, c, exact=True), mcnemar_counts(b, c, exact=False)
    return {"b": b, "c": c, "p_exact": exact.p_value, "chi2": chi2.statistic, "p_chi2": chi2.p_value}


def _compare_task(
    task: str, a: list[Scored], b: list[Scored], cluster: str, n_boot: int, seed: int, options: dict[str, Any]
) -> dict[str, Any]:
    by_id = {s.item.id: s for s in b}
    pairs = [(x, by_id[x.item.id]) for x in a if x.item.id in by_id]
    a_p, b_p = [x for x, _ in pairs], [y for _, y in pairs]
    changed_prompts = sum(x.item.prompt != y.item.prompt for x, y in pairs)
    keys = [_key(x, cluster) for x in a_p]
    spec = make_task(task, **options)
    m_a, m_b = spec.metrics(a_p), spec.metrics(b_p)

    def statistic(idx: np.ndarray) -> dict[str, float]:
        ra, rb = (
            spec.metrics([a_p[i] for i in idx], fast=True),
            spec.metrics([b_p[i] for i in idx], fast=True),
        )
        return {k: rb[k] - ra[k] for k in ra if k in rb and not k.endswith("/n")}

    cis = cluster_bootstrap(cluster_indices(keys), statistic, n_boot, seed)
    metrics = {}
    for k in m_a:
        if k in m_b and not k.endswith("/n"):
            delta = m_b[k] - m_a[k]
            lo, hi = cis.get(k, (float("nan"), float("nan")))
            metrics[k] = {
                "a": m_a[k],
                "b": m_b[k],
                "delta": delta,
                "ci": [lo, hi],
                "excludes_zero": bool(math.isfinite(lo) and (lo > 0 or hi < 0)),
            }
    items = []
    scored_pairs = [(x, y) for x, y in pairs if x.item.target is not None]
    for x, y in scored_pairs:
        items.append(
            {
                "id": x.item.id,
                "group": x.item.group,
                "template": x.item.template,
                "hit_a": x.hit,
                "hit_b": y.hit,
                "p_target_a": x.p_target,
                "p_target_b": y.p_target,
                "delta_p_target": y.p_target - x.p_target,
            }
        )  # type: ignore[operator]
    b_count = sum(1 for x, y in scored_pairs if x.hit and not y.hit)  # an unparsed answer is not a hit
    c_count = sum(1 for x, y in scored_pairs if not x.hit and y.hit)
    deltas = np.array([it["delta_p_target"] for it in items])
    mean, lo, hi = (
        bootstrap_mean_ci(deltas, [_key(x, cluster) for x, _ in scored_pairs], n_boot, seed)
        if len(items)
        else (float("nan"),) * 3
    )
    return {
        "n_pairs": len(pairs),
        "n_unmatched": len(a) + len(b) - 2 * len(pairs),
        "changed_prompts": changed_prompts,
        "n_clusters": len(set(keys)),
        "mcnemar": _mcnemar(b_count, c_count),
        "delta_p_target": {"mean": mean, "ci": [lo, hi]},
        "metrics": metrics,
        "items": items,
    }


def compare_logs(
    log_a: str | Path | EvalLog,
    log_b: str | Path | EvalLog,
    cluster: str = "group",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The paired comparison of two eval logs (A = baseline, B = the other; deltas are B − A)."""
    a = log_a if isinstance(log_a, EvalLog) else read_eval_log(log_a)
    b = log_b if isinstance(log_b, EvalLog) else read_eval_log(log_b)
    ta, tb = a.by_task(), b.by_task()
    tasks = [t for t in ta if t in tb]
    if not tasks:
        raise ValueError(f"{a.path} and {b.path} share no task")
    out = {
        "a": {"model": a.header.get("model"), "log": str(a.path)},
        "b": {"model": b.header.get("model"), "log": str(b.path)},
        "cluster": cluster,
        "n_boot": n_boot,
        "seed": seed,
        "tasks": {},
    }
    for t in tasks:
        options = a.header.get("tasks", {}).get(t, {}).get("options", {})
        out["tasks"][t] = _compare_task(t, ta[t], tb[t], cluster, n_boot, seed, options)
    return out


def write_comparison(result: dict[str, Any], out_dir: str | Path) -> Path:
    """``compare.json`` (summary) and ``items.jsonl`` (per-item deltas) under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        **result,
        "tasks": {t: {k: v for k, v in r.items() if k != "items"} for t, r in result["tasks"].items()},
    }
    (out / "compare.json").write_text(json.dumps(_clean(summary), indent=2))
    with (out / "items.jsonl").open("w") as fh:
        for t, r in result["tasks"].items():
            for it in r["items"]:
                fh.write(json.dumps(_clean({"task": t, **it})) + "\n")
    return out / "compare.json"
