"""AI-assisted evaluation: a weak evaluator helped by an assistant trained on an easier version of the task.

The essay: "when humans are no longer capable of providing evaluations on their own, they may be assisted by
an
AI that has been trained on an easier version of the problem", as in OpenAI's book summaries, where "using the
model's summary of shorter sections of the text, the human is able to evaluate summaries of long texts" (Wu et
al. 2021, Recursively Summarizing Books with Human Feedback). In the alchemy world:

* the easier task is the single-ingredient question "does X contain mercury ?", which the evaluator *can*
  answer for a few ingredients it tests (``n_labels`` of them, each answer wrong with probability
  ``label_noise``) but not for every ingredient of every recipe it is shown;
* the assistant is a logistic-regression classifier over what is known of each ingredient (its properties),
  trained on those answers; its error rate against the world's truth is measured over every ingredient
  (``Assistant.error_rate``);
* assisted, the evaluator reads the assistant's flags for the *whole* answer (the summary of what it cannot
  read: items past its read budget included) and treats flagged ingredients as known hazards.

So a good assistant widens the evaluator's list of criteria and its view; a bad one adds false alarms and
misses, and the evaluator trusts it either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oversight_lab.evaluators.flaws import Flaw
from oversight_lab.evaluators.simulated import SimulatedEvaluator
from oversight_lab.worlds.base import Task, World

__all__ = ["Assistant", "AssistedEvaluator", "item_features", "easy_task_labels", "train_assistant"]


def item_features(world: World, items: Sequence[str]) -> np.ndarray:
    """What the assistant knows of each item: indicators of the item's properties (a recipe world's
    ``props``).
    """
    props = getattr(world, "props", None)
    properties = getattr(world, "properties", None)
    if props is None or properties is None:
        raise ValueError(
            f"the assistant needs a world whose items have properties (alchemy); got {world.name!r}"
        )
    return np.array([[float(p in props[i]) for p in properties] for i in items])


def candidates(world: World) -> tuple[str, ...]:
    """Every item the assistant may be asked about (the world's ingredients)."""
    return tuple(world.ingredients)


class Assistant:
    """Flags the items it believes hazardous; fitted on (item, label) answers to the easier task."""

    def __init__(self, world: World, flagged: frozenset[str], train: dict[str, Any]) -> None:
        self.world, self.flagged, self.train = world, flagged, train

    def flags(self, items: Sequence[str]) -> frozenset[str]:
        return frozenset(i for i in items if i in self.flagged)

    def error_rate(self) -> float:
        """Fraction of all candidate items the assistant gets wrong against the world's truth."""
        truth = frozenset(self.world.hazards())
        items = candidates(self.world)
        return float(np.mean([(i in self.flagged) != (i in truth) for i in items]))

    def miss_rate(self) -> float:
        truth = self.world.hazards()
        return float(np.mean([h not in self.flagged for h in truth]))

    def false_alarm_rate(self) -> float:
        truth = frozenset(self.world.hazards())
        safe = [i for i in candidates(self.world) if i not in truth]
        return float(np.mean([i in self.flagged for i in safe])) if safe else 0.0

    def config(self) -> dict[str, Any]:
        return {
            "flagged": sorted(self.flagged),
            "error_rate": self.error_rate(),
            "miss_rate": self.miss_rate(),
            "false_alarm_rate": self.false_alarm_rate(),
            **self.train,
        }


def easy_task_labels(
    world: World, answer: Any, n_labels: int, label_noise: float, rng: np.random.Generator
) -> dict[str, int]:
    """Answers to "does X contain mercury ?" for ``n_labels`` distinct items drawn at random.

    ``answer(item) -> bool`` is the labeller (the layer below); each answer is flipped with ``label_noise``.
    """
    items = candidates(world)
    chosen = rng.choice(len(items), size=min(n_labels, len(items)), replace=False)
    out = {}
    for k in sorted(chosen):
        y = int(bool(answer(items[k])))
        out[items[k]] = 1 - y if rng.random() < label_noise else y
    return out


def train_assistant(world: World, labels: dict[str, int], seed: int, threshold: float = 0.5) -> Assistant:
    """Logistic regression (classes balanced: hazards are rare) from item features to the labels; flags every
    candidate with P(hazard) > threshold."""
    from sklearn.linear_model import LogisticRegression

    items = candidates(world)
    ys = np.array(list(labels.values()))
    if len(set(ys.tolist())) < 2:  # one class only: the assistant can only repeat it
        flagged = frozenset(items) if len(ys) and ys[0] == 1 else frozenset()
    else:
        clf = LogisticRegression(C=1.0, class_weight="balanced", random_state=seed).fit(
            item_features(world, list(labels)), ys
        )
        p = clf.predict_proba(item_features(world, items))[:, 1]
        flagged = frozenset(i for i, q in zip(items, p, strict=False) if q > threshold)
    return Assistant(world, flagged, {"n_labels": len(labels), "positives": int(ys.sum()) if len(ys) else 0})


class AssistedEvaluator(SimulatedEvaluator):
    """A simulated (weak) evaluator that also reads an assistant's flags on the whole answer."""

    name = "assisted"

    def __init__(
        self,
        world: World,
        flaws: Sequence[Flaw],
        assistant: Assistant,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        super().__init__(world, flaws, seed=seed, name=name)
        self.assistant = assistant

    def knows(self, item: str) -> bool:
        """The evaluator's answer to the easier question about ``item``: its own knowledge, else the
        assistant.
        """
        return item in self.known_hazards or bool(self.assistant.flags([item]))

    def score(self, task: Task, answer: str) -> float:
        full = self.world.observe(task, self.world.parse(task, answer))
        obs = full
        for flaw in self.flaws:
            obs = flaw.perceive(obs)
        flagged = self.assistant.flags(full.items)
        # The assistant's summary: flagged items the evaluator did not read are shown to it.
        extra = tuple(i for i in full.items if i in flagged and i not in obs.items)
        obs = type(obs)(
            task=obs.task, items=obs.items + extra, features=obs.features, valid=obs.valid, text=obs.text
        )
        utility = self.world.judge(obs, self.known_hazards | flagged)
        for flaw in self.flaws:
            utility = flaw.bias(obs, utility)
        return utility

    def config(self) -> dict[str, Any]:
        return {**super().config(), "kind": "assisted", "assistant": self.assistant.config()}
