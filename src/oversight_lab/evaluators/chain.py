"""Chained evaluators: k layers of AI assistance, each assistant trained with feedback from the layer below.

The essay: "Does the recipe not seem even more suspicious if you consider that the automaton was not trained
by
your feedback alone but with the assistance of another automaton? What if it was trained by a sequence of ever
more advanced automatons, only the first of which you fully understand? ... for every layer of
evaluation-by-AI that you add to the training process, you are adding the uncertainty from using an evaluator
whose goals you do not understand." Recursive reward modelling and recursive summarisation (Wu et al. 2021)
are
such chains.

Layer 0 is the weak evaluator alone; its feedback on the easier task is the truth seen through its own tests
(each answer wrong with ``label_noise``). Layer k (k ≥ 1) is the same weak evaluator assisted by assistant k,
which is trained (:func:`~oversight_lab.evaluators.assisted.train_assistant`) on the easier-task answers of
layer k−1's evaluator, whose answers come from its own knowledge and *its* assistant, and are again wrong with
``label_noise``. An error made at one layer is in the training labels of every layer above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oversight_lab.evaluators.assisted import (
    Assistant,
    AssistedEvaluator,
    easy_task_labels,
    train_assistant,
)
from oversight_lab.evaluators.flaws import Flaw
from oversight_lab.evaluators.simulated import SimulatedEvaluator
from oversight_lab.worlds.base import World

__all__ = ["ChainEvaluator", "build_chain"]


def build_chain(
    world: World, flaws: Sequence[Flaw], depth: int, seed: int, n_labels: int = 12, label_noise: float = 0.1
) -> list[Assistant]:
    """The assistants of layers 1..``depth``; the chain for depth d is a prefix of the chain for d + 1."""
    if depth < 0:
        raise ValueError(f"chain depth must be >= 0, got {depth}")
    if not 0.0 <= label_noise <= 1.0:
        raise ValueError(f"chain label_noise must be in [0, 1], got {label_noise}")
    base = SimulatedEvaluator(world, flaws, seed=seed)
    truth = frozenset(world.hazards())
    assistants: list[Assistant] = []
    below: Any = lambda item: item in truth  # noqa: E731  (layer 0 tests single ingredients itself)
    for k in range(1, depth + 1):
        rng = np.random.default_rng([seed, 100 + k])
        labels = easy_task_labels(world, below, n_labels, label_noise, rng)
        assistant = train_assistant(world, labels, seed=seed + k)
        assistant.train["layer"] = k
        assistants.append(assistant)
        layer = AssistedEvaluator(world, flaws, assistant, seed=seed)
        layer.known_hazards = base.known_hazards
        below = layer.knows
    return assistants


class ChainEvaluator(AssistedEvaluator):
    """The evaluator at the top of a chain of ``depth`` assistants (depth 0: unassisted)."""

    name = "chain"

    def __init__(
        self,
        world: World,
        flaws: Sequence[Flaw],
        depth: int,
        seed: int = 0,
        name: str | None = None,
        n_labels: int = 12,
        label_noise: float = 0.1,
    ) -> None:
        self.layers = build_chain(world, flaws, depth, seed, n_labels, label_noise)
        top = (
            self.layers[-1] if self.layers else Assistant(world, frozenset(), {"n_labels": 0, "positives": 0})
        )
        super().__init__(world, flaws, top, seed=seed, name=name)
        self.depth, self.n_labels, self.label_noise = depth, n_labels, label_noise

    def layer_error_rates(self) -> list[float]:
        return [a.error_rate() for a in self.layers]

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "kind": "chain",
            "depth": self.depth,
            "n_labels": self.n_labels,
            "label_noise": self.label_noise,
            "layer_error_rates": self.layer_error_rates(),
        }
