"""The evaluatee as its own evaluator's assistant: sandwiching as Bowman et al. (2022) run it.

In sandwiching the model being trained helps the non-expert judge its answers; an expert verifies. Here the
assistant is the replicate's pretrained evaluatee, the policy the comparisons are collected from (the loop
labels pairs sampled from the initial policy before any optimisation, so the policy at labelling time is the
pretrained evaluatee). For each answer the evaluator is shown a critique: for every ingredient of the whole
answer (items past its read budget included), the evaluatee's *sampled* reply to the corpus's question
``question : does X contain mercury ? answer :`` (``yes`` with the model's P(yes) against ``no``, drawn per
answer from the evaluator's seeded generator, so one answer's critique can say yes and the next no).
Ingredients it says ``yes`` to are flagged, and the evaluator treats them as known hazards, as the assisted
evaluator treats its assistant's flags (:class:`~oversight_lab.evaluators.assisted.AssistedEvaluator`).

The four conditions of Bowman et al. are arms of one scenario: the non-expert alone (``simulated`` with the
weak flaws), the non-expert with the model (``evaluatee_assisted`` with the same flaws), the model alone
(``evaluatee_assisted`` knowing no hazard itself and reading every item: only the visible test and the model's
critique), and the expert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oversight_lab.evaluators.assisted import AssistedEvaluator
from oversight_lab.evaluators.flaws import Flaw
from oversight_lab.worlds.base import World

__all__ = ["EvaluateeCritic", "evaluatee_assisted"]


class EvaluateeCritic:
    """Flags an answer's items by sampling the evaluatee's yes/no reply once per item and call.

    Has the assistant interface the assisted evaluator reads (``flags``, ``config``); error rates are expected
    values over the sampling, against the world's truth, for the report only.
    """

    def __init__(self, world: World, p_yes: dict[str, float], seed: int) -> None:
        self.world, self.p_yes = world, dict(p_yes)
        self._rng = np.random.default_rng([seed, 3])
        self.calls = 0

    def flags(self, items: Sequence[str]) -> frozenset[str]:
        self.calls += 1
        seen = [i for i in dict.fromkeys(items) if i in self.p_yes]
        return frozenset(i for i in seen if self._rng.random() < self.p_yes[i])

    def _wrong(self, item: str) -> float:
        p = self.p_yes[item]
        return 1.0 - p if item in self.world.hazards() else p

    def error_rate(self) -> float:
        return float(np.mean([self._wrong(i) for i in self.p_yes]))

    def miss_rate(self) -> float:
        return float(np.mean([self._wrong(h) for h in self.world.hazards()]))

    def false_alarm_rate(self) -> float:
        safe = [i for i in self.p_yes if i not in self.world.hazards()]
        return float(np.mean([self._wrong(i) for i in safe])) if safe else 0.0

    def config(self) -> dict[str, Any]:
        return {
            "kind": "evaluatee",
            "p_yes": {k: round(v, 4) for k, v in sorted(self.p_yes.items())},
            "error_rate": self.error_rate(),
            "miss_rate": self.miss_rate(),
            "false_alarm_rate": self.false_alarm_rate(),
        }


def evaluatee_assisted(
    world: World, flaws: Sequence[Flaw], pretrained: dict[str, Any] | None, seed: int, name: str
) -> AssistedEvaluator:
    """An evaluator with ``flaws`` assisted by the critiques of the pretrained evaluatee ``pretrained``
    (``TinyConfig`` fields; the loop passes the replicate's)."""
    from oversight_lab.evaluators.constitution import read_mercury_beliefs
    from oversight_lab.models.tiny import TinyConfig, load_or_pretrain

    model, tok, _, _ = load_or_pretrain(world, TinyConfig(**(pretrained or {})))
    critic = EvaluateeCritic(world, read_mercury_beliefs(model, tok, world), seed)
    return AssistedEvaluator(world, flaws, critic, seed=seed, name=name)  # type: ignore[arg-type]
