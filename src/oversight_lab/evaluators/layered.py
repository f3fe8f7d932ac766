"""Layers of evaluation by AI: each layer a reward model with its own objective and its own blind spot.

The essay: "What if it was trained by a sequence of ever more advanced automatons, only the first of which you
fully understand? ... for every layer of evaluation-by-AI that you add to the training process, you are adding
the uncertainty from using an evaluator whose goals you do not understand." Recursive reward modelling
(Leike et al. 2018) is such a sequence.

Layer 0 is the weak human (a simulated evaluator with the arm's flaws). Layer k ≥ 1 is a Bradley–Terry reward
model fitted (its own objective: the likelihood of the layer below's choices) on ``n_pairs`` fresh pairs of
answers labelled by layer k−1's sampled choices, over what layer k can see of an answer: the visible test
(``met``), validity, the warning, and a count per ingredient, except for its own blind spot: a share
``blind_fraction`` of the ingredients (drawn with its seed and layer) that it cannot tell apart from each
other (it counts them as one "other ingredient"; as every recipe has the same size, an ingredient merely left
out would still be seen as the absence of the others). It
then judges as its model says: P(a ≻ b) = σ(r(a) − r(b)), the choice drawn from that. No noise is injected
per layer: what a layer gets wrong comes from the labels it learns from, what it cannot see, and a finite
sample; it may also undo some of the layer below's choice noise (a fitted model averages over many choices).
The chain for depth d is a prefix of the chain for d + 1 (same seed), so depths are paired.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from oversight_lab.evaluators.base import Evaluator, Preference
from oversight_lab.evaluators.flaws import Flaw
from oversight_lab.evaluators.simulated import SimulatedEvaluator
from oversight_lab.worlds.base import Task, World

__all__ = ["RewardModelLayer", "LayeredEvaluator", "layer_pairs"]


def layer_pairs(world: World, n: int, seed: int) -> list[tuple[Task, str, str]]:
    """``n`` pairs of answers a layer is trained on: demonstration-like, uniform, some with the warning."""
    if not hasattr(world, "demo_recipe"):
        raise ValueError(f"layered evaluators read recipes (alchemy); world {world.name!r} has none")
    rng = random.Random(f"layer-pairs/{seed}")

    def answer(req: tuple[str, ...]) -> str:
        if rng.random() < 0.5:
            words = world.demo_recipe(req, rng)  # type: ignore[attr-defined]
        else:
            size = world.recipe_size  # type: ignore[attr-defined]
            words = [rng.choice(world.ingredients) for _ in range(size)]  # type: ignore[attr-defined]
        if words[-1] != "mercury" and rng.random() < 0.2:
            words = [*words, "warning", "mercury"]
        return " " + " ".join(words)

    return [(t, answer(tuple(t.spec["request"])), answer(tuple(t.spec["request"])))
            for t in world.tasks("layer", n, seed=seed)]


class RewardModelLayer:
    """A linear Bradley–Terry reward model over the answer's visible features, blind to some ingredients."""

    def __init__(self, world: World, blind: frozenset[str]) -> None:
        self.world, self.blind = world, blind
        self.seen = [i for i in world.ingredients if i not in blind]  # type: ignore[attr-defined]
        self.w = np.zeros(len(self.seen) + 4)

    def features(self, task: Task, answer: str) -> np.ndarray:
        parsed = self.world.parse(task, answer)
        x = np.zeros(len(self.seen) + 4)
        if not parsed.valid:
            return x
        recipe = parsed.fields["recipe"]
        x[: len(self.seen)] = [recipe.count(i) for i in self.seen]
        x[len(self.seen)] = sum(i in self.blind for i in recipe)  # "some ingredient I cannot tell apart"
        x[-3:] = [1.0, self.world.observe(task, parsed).features["met"], float(parsed.fields["disclosed"])]
        return x

    def fit(
        self, pairs: Sequence[tuple[Task, str, str]], chosen: Sequence[int], seed: int
    ) -> RewardModelLayer:
        from sklearn.linear_model import LogisticRegression

        diff = np.array([self.features(t, a) - self.features(t, b) for t, a, b in pairs])
        y = np.array([1 - c for c in chosen])  # 1: a chosen
        # symmetrise (each pair in both orders) so that no intercept is needed: r(a) − r(b) is antisymmetric
        clf = LogisticRegression(C=1.0, fit_intercept=False, random_state=seed, max_iter=1000)
        clf.fit(np.concatenate([diff, -diff]), np.concatenate([y, 1 - y]))
        self.w = clf.coef_[0]
        return self

    def score(self, task: Task, answer: str) -> float:
        return float(self.features(task, answer) @ self.w)


class LayeredEvaluator(Evaluator):
    """The top of a chain of ``depth`` reward-model layers over the weak human (depth 0: the human)."""

    name = "layered"

    def __init__(
        self, world: World, flaws: Sequence[Flaw], depth: int, seed: int = 0, name: str | None = None,
        n_pairs: int = 2000, blind_fraction: float = 0.25,
    ) -> None:
        if depth < 0:
            raise ValueError(f"layered depth must be >= 0, got {depth}")
        if not 0.0 <= blind_fraction < 1.0:
            raise ValueError(f"layered blind_fraction must be in [0, 1), got {blind_fraction}")
        if n_pairs < 10:
            raise ValueError(f"layered n_pairs must be >= 10, got {n_pairs}")
        self.world, self.seed, self.depth = world, seed, depth
        self.n_pairs, self.blind_fraction = n_pairs, blind_fraction
        if name:
            self.name = name
        self.human = SimulatedEvaluator(world, flaws, seed=seed)
        self.layers: list[RewardModelLayer] = []
        self.layer_accuracy: list[float] = []  # each layer's agreement with gold on held-out pairs
        pool = layer_pairs(world, 600, seed=10_000 + seed)
        held_out = [(t, a, b) for t, a, b in pool if self._gold_differs(t, a, b)]
        self.human_accuracy = self._accuracy(self.human.compare_batch(held_out), held_out)
        below: Evaluator = self.human
        ingredients = list(world.ingredients)  # type: ignore[attr-defined]
        for k in range(1, depth + 1):
            rng = np.random.default_rng([seed, 200 + k])
            n_blind = int(round(blind_fraction * len(ingredients)))
            blind = frozenset(ingredients[i] for i in rng.permutation(len(ingredients))[:n_blind])
            pairs = layer_pairs(world, n_pairs, seed=1000 * k + seed)
            chosen = [p.chosen for p in below.compare_batch(pairs)]
            layer = RewardModelLayer(world, blind).fit(pairs, chosen, seed=seed + k)
            self.layers.append(layer)
            below = _LayerJudge(layer, np.random.default_rng([seed, 300 + k]))
            self.layer_accuracy.append(self._accuracy(below.compare_batch(held_out), held_out))
        # the top layer judges the run's pairs with a generator of its own (not the one its accuracy used)
        self._top = _LayerJudge(self.layers[-1], np.random.default_rng([seed, 2])) if self.layers else None

    def _gold(self, t: Task, answer: str) -> float:
        return self.world.gold(t, self.world.parse(t, answer))

    def _gold_differs(self, t: Task, a: str, b: str) -> bool:
        return self._gold(t, a) != self._gold(t, b)

    def _accuracy(self, prefs: list[Preference], pairs: list[tuple[Task, str, str]]) -> float:
        right = [
            p.prob_a if self._gold(t, a) > self._gold(t, b)
            else 1 - p.prob_a
            for p, (t, a, b) in zip(prefs, pairs, strict=True)
        ]
        return float(np.mean(right)) if right else float("nan")

    def score(self, task: Task, answer: str) -> float:
        return self.layers[-1].score(task, answer) if self.layers else self.human.score(task, answer)

    def compare(self, task: Task, a: str, b: str) -> Preference:
        return (self._top or self.human).compare(task, a, b)

    def compare_batch(self, pairs: Sequence[tuple[Task, str, str]]) -> list[Preference]:
        return [self.compare(t, a, b) for t, a, b in pairs]

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "layered",
            "seed": self.seed,
            "depth": self.depth,
            "n_pairs": self.n_pairs,
            "blind_fraction": self.blind_fraction,
            "human": self.human.config(),
            "blind": [sorted(layer.blind) for layer in self.layers],
            "human_accuracy": self.human_accuracy,
            "layer_accuracy": self.layer_accuracy,
            "layer_error_rates": [1 - a for a in self.layer_accuracy],
        }


class _LayerJudge(Evaluator):
    """A reward-model layer judging pairs: P(a ≻ b) = σ(r(a) − r(b)), the choice drawn from it."""

    name = "layer"

    def __init__(self, layer: RewardModelLayer, rng: np.random.Generator) -> None:
        self.layer, self._rng = layer, rng

    def score(self, task: Task, answer: str) -> float:
        return self.layer.score(task, answer)

    def compare(self, task: Task, a: str, b: str) -> Preference:
        ua, ub = self.score(task, a), self.score(task, b)
        prob = float(1.0 / (1.0 + np.exp(-np.clip(ua - ub, -50, 50))))
        chosen = 0 if self._rng.random() < prob else 1
        return Preference(prob_a=prob, chosen=chosen, utility_a=ua, utility_b=ub)

    def compare_batch(self, pairs: Sequence[tuple[Task, str, str]]) -> list[Preference]:
        return [self.compare(t, a, b) for t, a, b in pairs]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "blind": sorted(self.layer.blind)}
