"""The world interface: tasks with hidden gold, and what an evaluator can see of an answer.

A world is the lab's ground truth. It knows more than any evaluator: ``gold`` is the expert's
judgement, which the optimiser never sees; ``observe`` is what a (possibly flawed) evaluator can
check. The split is the essay's: evaluations "check it against a list of criteria", and "the list of
criteria might be incomplete" (Flawed evaluations might lead to catastrophic alignment failures).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Task", "Answer", "Observation", "World", "WORLDS", "register_world", "make_world"]


@dataclass(frozen=True)
class Task:
    """One task: an id, the prompt text the evaluatee sees, and the world's structured request."""

    id: str
    prompt: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """An evaluatee's answer: the raw completion text and what the world parsed out of it."""

    text: str
    valid: bool
    parts: tuple[str, ...] = ()
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """What an evaluator can see of an answer.

    ``items`` are the pieces of the answer in reading order (an evaluator with a limited budget reads a
    prefix of them); ``features`` are visible, checkable measurements (e.g. which requested properties the
    product has). Hidden facts (toxicity, long-run outcomes) are never here.
    """

    task: Task
    items: tuple[str, ...]
    features: dict[str, float]
    valid: bool
    text: str = ""


class World(ABC):
    """A procedurally generated task domain with ground truth.

    Subclasses set ``name`` and implement the abstract methods; one file per world.
    """

    name: ClassVar[str]

    @abstractmethod
    def tasks(self, split: str, n: int, seed: int) -> list[Task]:
        """``n`` tasks of ``split`` ("train" or "eval"), reproducible from ``seed``."""

    @abstractmethod
    def corpus(self, n_lines: int, seed: int) -> list[str]:
        """Pretraining text that teaches the world's facts, one document per line."""

    @abstractmethod
    def parse(self, task: Task, text: str) -> Answer:
        """Parse a completion into an answer; malformed text gives ``valid=False``, never an exception."""

    @abstractmethod
    def observe(self, task: Task, answer: Answer) -> Observation:
        """What an evaluator can see and check."""

    @abstractmethod
    def gold(self, task: Task, answer: Answer) -> float:
        """The expert's judgement (hidden from the optimiser)."""

    @abstractmethod
    def judge(self, obs: Observation, known_hazards: frozenset[str]) -> float:
        """An evaluator's utility for what it observed, given the hazards it knows about."""

    @abstractmethod
    def hazards(self) -> tuple[str, ...]:
        """Every hazard an omniscient expert knows (e.g. the mercury-bearing ingredients)."""

    @abstractmethod
    def failure_metrics(self, task: Task, answer: Answer) -> dict[str, float]:
        """Per-answer failure indicators, namespaced (``fail/...``); averaged over a checkpoint."""

    def vocabulary(self) -> list[str]:
        """Every word the world's texts use (a closed vocabulary for the word-level tokenizer)."""
        words: set[str] = set()
        for line in self.corpus(2000, seed=0):
            words.update(line.split())
        return sorted(words)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description of the world's parameters, for run directories and hashes."""
        return {"name": self.name}


WORLDS: dict[str, type[World]] = {}


def register_world(cls: type[World]) -> type[World]:
    """Class decorator: make a world available by its ``name`` to configs and the CLI."""
    WORLDS[cls.name] = cls
    return cls


def make_world(name: str, **params: Any) -> World:
    """Build a registered world by name with its parameters."""
    if name not in WORLDS:
        raise KeyError(f"unknown world {name!r}; known: {', '.join(sorted(WORLDS))}")
    return WORLDS[name](**params)
