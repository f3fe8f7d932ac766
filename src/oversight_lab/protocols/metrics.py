"""Protocol metrics: evaluator accuracy against gold, the sandwich gap, and performance gap recovered.

Sandwiching (Bowman et al. 2022, Measuring Progress on Scalable Oversight for Large Language Models; Cotra
2021):
non-experts, unaided and assisted, oversee a model on a task where experts can verify. With a quantity Q
measured
for the unaided non-expert (u), the assisted non-expert (a) and the expert (e),

    gap recovered = (Q_a − Q_u) / (Q_e − Q_u)

0 means assistance did nothing, 1 that it closed the whole gap to the expert. Applied to the evaluators'
label accuracy against gold it is the *sandwich gap* reported here; applied to the gold of the policies
trained
on each evaluator's feedback it is the *performance gap recovered* (PGR, as in Burns et al. 2023). Both are
computed per seed and averaged with a Student-t CI, and as a ratio of seed means with a bootstrap CI over
seeds
(robust when one seed's denominator is small).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from oversight_lab.feedback.records import Comparison
from oversight_lab.metrics.stats import cluster_estimate
from oversight_lab.worlds.base import Task, World

__all__ = ["accuracy_on_pairs", "evaluator_accuracy", "gap_recovered", "gap_recovered_ci", "sandwich_gap"]


def evaluator_accuracy(world: World, comparisons: Iterable[Comparison]) -> dict[str, float]:
    """Agreement of an evaluator's comparisons with gold, over pairs whose gold differs.

    ``acc/expected``: mean P(the evaluator prefers the gold-better answer) (its ``prob_a``, lower variance);
    ``acc/choice``: the fraction of recorded choices that pick it; ``acc/n``: pairs with a gold difference.
    """
    expected, choice = [], []
    for c in comparisons:
        task = Task(c.task_id, c.prompt, c.task_spec)
        ga = world.gold(task, world.parse(task, c.answer_a))
        gb = world.gold(task, world.parse(task, c.answer_b))
        if ga == gb:
            continue
        a_better = ga > gb
        expected.append(c.prob_a if a_better else 1.0 - c.prob_a)
        choice.append(float((c.chosen == 0) == a_better))
    nan = float("nan")
    return {
        "acc/expected": float(np.mean(expected)) if expected else nan,
        "acc/choice": float(np.mean(choice)) if choice else nan,
        "acc/n": float(len(expected)),
    }


def gap_recovered(unaided: float, assisted: float, expert: float) -> float:
    """(assisted − unaided) / (expert − unaided); NaN when the expert is no better than the unaided one."""
    den = expert - unaided
    if any(map(math.isnan, (unaided, assisted, expert))) or abs(den) < 1e-12:
        return float("nan")
    return (assisted - unaided) / den


sandwich_gap = gap_recovered  # the same formula; the name says it is taken over evaluator accuracy


def gap_recovered_ci(
    unaided: Sequence[float],
    assisted: Sequence[float],
    expert: Sequence[float],
    units: Sequence[tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """The gap recovered per replicate, its mean and 95% interval over pretraining seeds (the one statistics
    layer; ``units`` are the replicates' (pretraining seed, RLHF seed), default one pretraining seed), and the
    ratio of the means as a point estimate. No bootstrap over a handful of seeds: it is the min–max range."""
    u, a, e = (np.asarray(x, dtype=float) for x in (unaided, assisted, expert))
    per_seed = [gap_recovered(*t) for t in zip(u, a, e, strict=True)]
    units = list(units or [(0, k) for k in range(len(per_seed))])[: len(per_seed)]
    est = cluster_estimate(per_seed, units)
    return {
        "per_seed": per_seed,
        "mean": est.value,
        "lo": est.lo,
        "hi": est.hi,
        "method": est.method,
        "ratio_of_means": gap_recovered(float(u.mean()), float(a.mean()), float(e.mean())),
    }


def accuracy_on_pairs(world: World, evaluator: Any, pairs: Sequence[tuple[Task, str, str]]) -> float:
    """P(the evaluator prefers the gold-better answer), averaged over ``pairs`` whose gold differs."""
    prefs = evaluator.compare_batch(list(pairs))
    vals = []
    for (t, a, b), p in zip(pairs, prefs, strict=False):
        ga, gb = world.gold(t, world.parse(t, a)), world.gold(t, world.parse(t, b))
        if ga != gb:
            vals.append(p.prob_a if ga > gb else 1.0 - p.prob_a)
    return float(np.mean(vals)) if vals else float("nan")
