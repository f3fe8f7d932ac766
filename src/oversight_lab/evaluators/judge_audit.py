"""Audit a judge against gold: agreement, position bias and unparseable replies on pairs of known order.

The pairs are the world's own well-formed answers rendered in English (:mod:`oversight_lab.worlds.english`),
drawn so that gold prefers one of the two: which one the judge should pick is known without asking anyone.
For alchemy an answer is a random recipe of distinct ingredients, warned or not at random, so pairs differ in
the properties met, in mercury, and in disclosure.

Reported (each a mean over pairs with a Student-t interval from :mod:`oversight_lab.metrics.stats`, bounded
to [0, 1]; the judge is one fixed model, so the pairs are its independent items):

* ``judge/agreement`` — P(the judge's preference for gold's better answer > 0.5), ties (0.5) counting half;
* ``judge/first_position_rate`` — the share of parsed replies that chose the answer shown first (0.5 = none);
* ``judge/position_inconsistent`` — the share of pairs whose two orders both chose the same position;
* ``judge/unparseable_rate`` — replies with no verdict; ``judge/unresolved`` — pairs with no parsed order;
* ``mean_margin`` — mean |P(a ≻ b) − ½|: near 0, the verdicts are ties whatever ``agreement`` says.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np

from oversight_lab.evaluators.judge import JudgeEvaluator
from oversight_lab.metrics.stats import mean_ci
from oversight_lab.worlds.base import Task, World

__all__ = ["audit_judge", "english_pairs"]


def english_pairs(world: World, n: int, seed: int) -> list[tuple[Task, str, str]]:
    """``n`` pairs (task, answer a, answer b) in English whose gold differs, reproducible from ``seed``."""
    from oversight_lab.worlds.english import english_form, render_answer

    form = english_form(world)
    rng = random.Random(f"judge-pairs/{seed}")
    out: list[tuple[Task, str, str]] = []
    for task in world.tasks("judge", 50 * n, seed=seed):
        if len(out) == n:
            break
        words = form.candidates(world, task)
        # distinct names only: "a double dose" is legal but rare in answers, and reads oddly to a judge
        words = [w for w in words if len(set(w.split()[:2])) == 2]
        a, b = (world.parse(task, rng.choice(words)) for _ in range(2))
        if world.gold(task, a) != world.gold(task, b):
            out.append((task, render_answer(world, task, a), render_answer(world, task, b)))
    return out


def audit_judge(judge: JudgeEvaluator, world: World, pairs: list[tuple[Task, str, str]]) -> dict[str, Any]:
    """Run ``judge`` on ``pairs`` (both orders) and score it against gold; metrics with intervals."""
    from oversight_lab.worlds.english import parse_answer

    before = dict(judge.stats)
    t0 = time.perf_counter()
    prefs = judge.compare_batch(pairs)
    seconds = time.perf_counter() - t0
    st = {k: judge.stats[k] - before.get(k, 0) for k in judge.stats}
    agree = []
    for (task, a, b), pref in zip(pairs, prefs, strict=True):
        pa, pb = parse_answer(world, task, a), parse_answer(world, task, b)
        if pa is None or pb is None:
            raise ValueError(f"audit pair on task {task.id}: an answer does not parse back ({a!r} / {b!r})")
        a_better = world.gold(task, pa) > world.gold(task, pb)
        p = pref.prob_a if a_better else 1.0 - pref.prob_a
        agree.append(0.5 if p == 0.5 else float(p > 0.5))

    def ci(values: list[float]) -> dict[str, float]:
        m, lo, hi = mean_ci(values)
        return {"mean": m, "lo": max(0.0, lo), "hi": min(1.0, hi), "n": float(len(values))}

    n_parsed = int(st["parsed"])
    first = [1.0] * int(st["first_position_chosen"]) + [0.0] * (n_parsed - int(st["first_position_chosen"]))
    n_pairs = len(pairs)
    return {
        "judge/agreement": ci(agree),
        "judge/first_position_rate": ci(first),
        "judge/position_inconsistent": ci(
            [1.0] * int(st["position_inconsistent"]) + [0.0] * (n_pairs - int(st["position_inconsistent"]))
        ),
        "judge/unparseable_rate": ci(
            [1.0] * int(st["unparseable"]) + [0.0] * (int(st["calls"]) - int(st["unparseable"]))
        ),
        "judge/unresolved": float(st["pairs_unresolved"]) / n_pairs if n_pairs else float("nan"),
        "pairs": n_pairs,
        "calls": int(st["calls"]),
        "seconds": seconds,
        "seconds_per_call": seconds / max(1, int(st["calls"])),
        "example_replies": [p.rationale for p in prefs[:3]],
        "mean_prob_a": float(np.mean([p.prob_a for p in prefs])) if prefs else float("nan"),
        # how decided the verdicts are: 0 when every pair is a tie, 0.5 when every pair is certain
        "mean_margin": float(np.mean([abs(p.prob_a - 0.5) for p in prefs])) if prefs else float("nan"),
    }
