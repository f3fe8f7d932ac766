"""Contexts the evaluator never rated: a world's tasks split into rated and unrated ones.

The issue behind this: a failure measured on the very prompts the evaluator compared answers to, and the
optimiser trained on, says nothing about what the evaluatee does where nobody rated it. Wrapping a world in
:class:`HeldOutContexts` holds out a stable ``fraction`` of its *contexts* — a fact
(``entity``/``property``) in the question-answering worlds, otherwise the prompt itself (an alchemy request, a
banking client with a goal) — from every training split: comparisons and RL prompts are drawn only from rated
contexts. Evaluation tasks are drawn as before, from all contexts, and each carries ``spec["rated"]``, so
every checkpoint metric can be read on both (``rated/…`` and ``unrated/…``,
:func:`oversight_lab.loop.evaluate_checkpoint`).

Everything else (corpus, parsing, observation, gold, the judging rule, hazards, failure metrics, item
evaluation) is the wrapped world's: the pretraining corpus and the pretrained evaluatee are unchanged.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from typing import Any

from oversight_lab.worlds.base import Answer, Observation, Task, World

__all__ = ["HeldOutContexts", "context_of"]

TRAIN_SPLITS = ("train",)


def context_of(task: Task) -> str:
    """What a held-out context is: the fact a question is about, else the whole prompt."""
    if "entity" in task.spec and "property" in task.spec:
        return f"fact/{task.spec['entity']}/{task.spec['property']}"
    return f"prompt/{task.prompt}"


class HeldOutContexts(World):
    """``inner`` with a stable ``fraction`` of its contexts never used for training (comparisons, RL)."""

    def __init__(self, inner: World, fraction: float, salt: int = 0) -> None:
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"eval.unrated_fraction must be in (0, 1), got {fraction}")
        self.inner = inner
        self.fraction = fraction
        self.salt = salt
        self.name = inner.name  # type: ignore[misc]  (the instance's name: the wrapped world's)

    def rated(self, task: Task) -> bool:
        key = f"{self.salt}/{context_of(task)}"
        return zlib.crc32(key.encode()) / 2**32 >= self.fraction

    def tasks(self, split: str, n: int, seed: int) -> list[Task]:
        if split not in TRAIN_SPLITS:
            tasks = self.inner.tasks(split, n, seed)
            if split != "eval":
                return tasks
            return [replace(t, spec={**t.spec, "rated": self.rated(t)}) for t in tasks]
        # the first n rated tasks of the inner world's sequence (a longer draw extends it: same seed, same
        # prefix)
        want = n
        for _ in range(6):
            want = int(want / (1.0 - self.fraction)) + 16
            rated = [t for t in self.inner.tasks(split, want, seed) if self.rated(t)]
            if len(rated) >= n:
                return rated[:n]
        raise ValueError(f"eval.unrated_fraction {self.fraction}: too few rated contexts in world "
                         f"{self.name!r}")

    # -- everything else is the wrapped world's -------------------------------------------------------------
    def corpus(self, n_lines: int, seed: int) -> list[str]:
        return self.inner.corpus(n_lines, seed)

    def parse(self, task: Task, text: str) -> Answer:
        return self.inner.parse(task, text)

    def observe(self, task: Task, answer: Answer) -> Observation:
        return self.inner.observe(task, answer)

    def gold(self, task: Task, answer: Answer) -> float:
        return self.inner.gold(task, answer)

    def judge(self, obs: Observation, known_hazards: frozenset[str]) -> float:
        return self.inner.judge(obs, known_hazards)

    def hazards(self) -> tuple[str, ...]:
        return self.inner.hazards()

    def failure_metrics(self, task: Task, answer: Answer) -> dict[str, float]:
        return self.inner.failure_metrics(task, answer)

    def vocabulary(self) -> list[str]:
        return self.inner.vocabulary()

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "unrated_fraction": self.fraction}

    def __getattr__(self, attr: str) -> Any:  # world-specific hooks and data (derived_metrics, toxic …)
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)
