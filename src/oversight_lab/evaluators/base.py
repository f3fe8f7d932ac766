"""The one evaluator interface: compare two answers to a task, return a preference.

Simulated evaluators with flaws, the expert, model judges, assisted and chained evaluators and people in the
web app all implement ``Evaluator``; their output is the same ``Preference``, turned into the same
``Comparison`` records, fed to the same reward model and optimisers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from oversight_lab.feedback.records import Comparison
from oversight_lab.worlds.base import Task

__all__ = ["Preference", "Evaluator", "to_comparison"]


@dataclass(frozen=True)
class Preference:
    """``prob_a`` = the evaluator's P(answer a preferred over b); ``chosen`` = 0 (a) or 1 (b)."""

    prob_a: float
    chosen: int
    rationale: str | None = None
    utility_a: float | None = None
    utility_b: float | None = None
    margin: float | None = None


class Evaluator(ABC):
    """Compares pairs of answers (completion texts) to tasks."""

    name: str = "evaluator"

    @abstractmethod
    def compare(self, task: Task, a: str, b: str) -> Preference:
        """The evaluator's preference between completions ``a`` and ``b`` of ``task``."""

    def compare_batch(self, pairs: Sequence[tuple[Task, str, str]]) -> list[Preference]:
        """Many comparisons; implementations that can batch (model judges, HTTP) override this."""
        return [self.compare(t, a, b) for t, a, b in pairs]

    def score(self, task: Task, answer: str) -> float | None:
        """The evaluator's own utility for one answer, where it has one (simulated evaluators); else None."""
        return None

    def config(self) -> dict[str, Any]:
        """A JSON-serialisable description, stored with every comparison."""
        return {"name": self.name}


def to_comparison(
    task: Task, a: str, b: str, pref: Preference, evaluator: Evaluator, policy: str, **meta: Any
) -> Comparison:
    """Turn an evaluator's preference into the feedback record the reward model reads."""
    return Comparison(
        task_id=task.id,
        prompt=task.prompt,
        answer_a=a,
        answer_b=b,
        chosen=pref.chosen,
        prob_a=float(pref.prob_a),
        evaluator=evaluator.name,
        policy=policy,
        task_spec=dict(task.spec),
        evaluator_config=evaluator.config(),
        rationale=pref.rationale,
        margin=pref.margin,
        meta=dict(meta),
    )
