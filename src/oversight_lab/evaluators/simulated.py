"""Simulated evaluators: a world's judging rule seen through composable flaws, and the expert (gold)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oversight_lab.evaluators.base import Evaluator, Preference
from oversight_lab.evaluators.flaws import Flaw
from oversight_lab.worlds.base import Task, World

__all__ = ["SimulatedEvaluator", "ExpertEvaluator"]


class SimulatedEvaluator(Evaluator):
    """Judges with the world's rule (``World.judge``) on what its flaws let it know and see.

    With no flaws it knows every hazard, reads everything and always prefers the higher utility (ties at
    random). Its choices are drawn from its own seeded generator, so a run's comparisons are reproducible.
    """

    name = "simulated"

    def __init__(
        self, world: World, flaws: Sequence[Flaw] = (), seed: int = 0, name: str | None = None
    ) -> None:
        self.world = world
        self.flaws = list(flaws)
        self.seed = seed
        if name:
            self.name = name
        know_rng = np.random.default_rng([seed, 1])
        known = frozenset(world.hazards())
        for flaw in self.flaws:
            known &= flaw.knowledge(world.hazards(), know_rng)
        self.known_hazards = known
        self._rng = np.random.default_rng([seed, 2])

    def score(self, task: Task, answer: str) -> float:
        """The evaluator's utility: the world's rule on the perceived observation, plus any biases."""
        obs = self.world.observe(task, self.world.parse(task, answer))
        for flaw in self.flaws:
            obs = flaw.perceive(obs)
        utility = self.world.judge(obs, self.known_hazards)
        for flaw in self.flaws:
            utility = flaw.bias(obs, utility)
        return utility

    def _decide(self, ua: float, ub: float) -> Preference:
        delta = ua - ub
        prob = 0.5 if delta == 0 else float(delta > 0)
        for flaw in self.flaws:
            prob = flaw.choose(delta, prob)
        chosen = 0 if self._rng.random() < prob else 1
        return Preference(prob_a=prob, chosen=chosen, utility_a=ua, utility_b=ub)

    def compare(self, task: Task, a: str, b: str) -> Preference:
        return self._decide(self.score(task, a), self.score(task, b))

    def compare_batch(self, pairs: Sequence[tuple[Task, str, str]]) -> list[Preference]:
        return [self.compare(t, a, b) for t, a, b in pairs]

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "seed": self.seed,
            "flaws": [f.config() for f in self.flaws],
            "known_hazards": sorted(self.known_hazards),
        }


class ExpertEvaluator(SimulatedEvaluator):
    """The expert: its utility is the world's gold. Noise flaws still apply (same budget as a control).

    The sandwiching paradigm's experts "can be used to verify that the trained model is still aligned"
    (Bowman et al. 2022; the essay, Flawed evaluations might lead to catastrophic alignment failures).
    """

    name = "expert"

    def score(self, task: Task, answer: str) -> float:
        return self.world.gold(task, self.world.parse(task, answer))
