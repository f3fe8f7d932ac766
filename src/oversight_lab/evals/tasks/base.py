"""The eval-task interface and its registry (one of the project's real extension points).

A task turns rows of a public data format into :class:`Item` s, optionally asks follow-up items once the first
answers are known (a second turn), and reduces the scored samples to namespaced metrics. Tasks never call a
model: the runner scores items with whichever backend it was given, so every task runs on every backend.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from oversight_lab.evals.data import Row, load_rows, shipped
from oversight_lab.evals.formats import PromptFormat
from oversight_lab.evals.items import Item, Scored

__all__ = [
    "TASKS",
    "EvalTask",
    "by_template",
    "choice_order",
    "hit_metrics",
    "make_task",
    "mean",
    "register_task",
    "reorder",
    "unparsed_rate",
]


class EvalTask(ABC):
    """A registered evaluation. Subclasses set the class variables and implement ``build`` and ``metrics``."""

    name: ClassVar[str]
    namespace: ClassVar[str]  # "syco", "calib", "truth", "sandbag"
    description: ClassVar[str]
    hub: ClassVar[tuple[str, str | None, str, str | None]]  # (dataset id, config, split, data_files)
    sample_file: ClassVar[str]  # the small file the project ships in the same format

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.notes: dict[str, Any] = {}  # e.g. rows skipped and why; written into the eval log header

    @property
    def order_seed(self) -> int:
        """Seed of the per-item choice order (task option ``order_seed``, default 0)."""
        return int(self.options.get("order_seed", 0))

    def csv_fieldnames(self, path: Any) -> list[str] | None:
        return None  # CSV files have a header row unless the original format has none

    def rows(self, source: str, limit: int | None = None) -> list[Row]:
        """Rows from ``"hub"`` (the real dataset), ``"sample"`` (the shipped file), ``hf:<id>`` or a path."""
        if source == "sample":
            source = str(shipped(self.sample_file))
        return load_rows(source, hub=self.hub, csv_fieldnames=self.csv_fieldnames, limit=limit)

    @abstractmethod
    def build(self, rows: list[Row], fmt: PromptFormat) -> list[Item]:
        """Items to score; malformed rows raise :class:`DataFormatError` naming file and line."""

    def followup(self, scored: list[Scored], fmt: PromptFormat) -> list[Item]:
        """Items that depend on the first answers (e.g. after push-back); none by default."""
        return []

    @abstractmethod
    def metrics(self, scored: list[Scored], fast: bool = False) -> dict[str, float]:
        """Namespaced scalar metrics. ``fast`` skips expensive fits (used inside bootstrap resampling)."""


TASKS: dict[str, Callable[..., EvalTask]] = {}


def register_task(cls: type[EvalTask]) -> type[EvalTask]:
    TASKS[cls.name] = cls
    return cls


def make_task(name: str, **options: Any) -> EvalTask:
    import oversight_lab.evals.tasks  # noqa: F401  (registers the built-in tasks)

    if name not in TASKS:
        raise KeyError(f"unknown eval task {name!r}; known: {', '.join(sorted(TASKS))}")
    return TASKS[name](**options)


def mean(values: list[float] | np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def by_template(scored: list[Scored]) -> dict[str, list[Scored]]:
    out: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        out[s.item.template].append(s)
    return dict(out)


def choice_order(key: str, n_choices: int, seed: int = 0) -> list[int]:
    """A seeded random order of ``n_choices`` for the item ``key``: ``order[j]`` is the dataset's index of
    the choice shown at position ``j``.

    Datasets that always list the target first (TruthfulQA, model-written evals, sycophancy-eval's answer and
    feedback) are shown in this order, recorded per sample as ``meta["order"]``, so no position (the first
    choice winning a tie, a scorer that prefers the first option) can help a model.
    """
    order = list(range(n_choices))
    random.Random(f"choice-order/{seed}/{key}").shuffle(order)
    return order


def reorder(values: Sequence[Any], order: list[int]) -> list[Any]:
    """``values`` (in the dataset's order) in the shown order."""
    return [values[i] for i in order]


def unparsed_rate(scored: list[Scored]) -> float:
    """The share of answers that picked no choice (see ``Scored``)."""
    return mean([float(s.unparsed) for s in scored])


def hit_metrics(prefix: str, scored: list[Scored]) -> dict[str, float]:
    """Accuracy, lm-eval's length-normalised accuracy, mean probability of the target and the unparsed
    rate (an unparsed answer is not a hit and gives the target probability 0)."""
    with_target = [s for s in scored if s.item.target is not None]
    return {
        f"{prefix}/acc": mean([float(bool(s.hit)) for s in with_target]),
        f"{prefix}/acc_norm": mean([float(bool(s.hit_norm)) for s in with_target]),
        f"{prefix}/p_target": mean([s.p_target for s in with_target]),  # type: ignore[misc]
        f"{prefix}/unparsed_rate": unparsed_rate(with_target),
        f"{prefix}/n": float(len(with_target)),
    }
