"""Evaluator flaws: small composable objects, each modelling one documented way evaluations go wrong.

A simulated evaluator passes through four stages, and a flaw may act at any of them:

1. ``knowledge`` — which hazards the evaluator knows about (its list of criteria);
2. ``perceive`` — what of the answer it reads (its observation);
3. ``bias`` — how it values what it saw (added utility terms);
4. ``choose`` — how its utility difference becomes a choice probability (noise).

Flaws are registered by a snake_case kind so configs can name them:
``{"kind": "incomplete_criteria", "known_fraction": 0.25}``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np

from oversight_lab.worlds.base import Observation

__all__ = [
    "Flaw", "FLAWS", "register_flaw", "make_flaw", "IncompleteCriteria", "HiddenInformation", "Noise",
    "AbsentSupervisor",
]


class Flaw:
    """Base class: every hook is the identity; a flaw overrides the stages it acts on."""

    kind: ClassVar[str]

    def knowledge(self, hazards: tuple[str, ...], rng: np.random.Generator) -> frozenset[str]:
        return frozenset(hazards)

    def perceive(self, obs: Observation) -> Observation:
        return obs

    def bias(self, obs: Observation, utility: float) -> float:
        return utility

    def choose(self, delta: float, prob: float) -> float:
        return prob

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


FLAWS: dict[str, type[Flaw]] = {}


def register_flaw(cls: type[Flaw]) -> type[Flaw]:
    FLAWS[cls.kind] = cls
    return cls


def make_flaw(spec: dict[str, Any]) -> Flaw:
    """Build a flaw from ``{"kind": ..., **params}``; errors name the unknown kind or parameter."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind not in FLAWS:
        raise ValueError(f"unknown evaluator flaw {kind!r}; known: {', '.join(sorted(FLAWS))}")
    cls = FLAWS[kind]
    allowed = {f.name for f in fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(spec.keys() - allowed)
    if unknown:
        raise ValueError(
            f"flaw {kind!r}: unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return cls(**spec)


@register_flaw
@dataclass(frozen=True)
class IncompleteCriteria(Flaw):
    """The evaluator knows only ``known_fraction`` of the world's hazards (e.g. mercury-bearing ingredients).

    The essay: "the evaluator will check it against a list of criteria ... However, the list of criteria might
    be incomplete" (Flawed evaluations might lead to catastrophic alignment failures); Stanley Lehman rates
    the mortgage strategy highly because tail risk is not on his list (Scenario 1). Which hazards are known is
    drawn
    with the evaluator's seed, so different seeds know different subsets.
    """

    kind: ClassVar[str] = "incomplete_criteria"
    known_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 <= self.known_fraction <= 1.0:
            raise ValueError(
                f"incomplete_criteria.known_fraction must be in [0, 1], got {self.known_fraction}"
            )

    def knowledge(self, hazards: tuple[str, ...], rng: np.random.Generator) -> frozenset[str]:
        k = int(round(self.known_fraction * len(hazards)))
        order = rng.permutation(len(hazards))
        return frozenset(hazards[i] for i in sorted(order[:k]))


@register_flaw
@dataclass(frozen=True)
class HiddenInformation(Flaw):
    """The evaluator reads only the first ``budget`` items of an answer (ingredients, then any disclosure).

    The essay: "Even when he knows that mercury is dangerous, Isaac might get poisoned if he does not know
    that it is in his drink ... an evaluator might give bad evaluations if they are misinformed or lack vital
    information about the state of the environment" (It seems hard to make a model honest and informative).
    Also the evaluator budget of "giving the evaluator more thinking time": raise ``budget`` to advantage it.
    """

    kind: ClassVar[str] = "hidden_information"
    budget: int = 1

    def __post_init__(self) -> None:
        if self.budget < 0:
            raise ValueError(f"hidden_information.budget must be >= 0, got {self.budget}")

    def perceive(self, obs: Observation) -> Observation:
        return replace(obs, items=obs.items[: self.budget])


@register_flaw
@dataclass(frozen=True)
class Noise(Flaw):
    """Bradley–Terry choice noise: P(a ≻ b) = sigmoid((u_a − u_b) / temperature), then a flip rate.

    Human raters disagree with each other on 27–37% of comparisons (Ouyang et al. 2022; Stiennon et al. 2020);
    the Bradley–Terry model (Bradley & Terry 1952) is how RLHF reward models read preferences. ``flip_rate``
    is uniform label noise as in Coste et al. (2023), who add 25%.
    """

    kind: ClassVar[str] = "noise"
    temperature: float = 0.1
    flip_rate: float = 0.0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"noise.temperature must be >= 0, got {self.temperature}")
        if not 0.0 <= self.flip_rate <= 0.5:
            raise ValueError(f"noise.flip_rate must be in [0, 0.5], got {self.flip_rate}")

    def choose(self, delta: float, prob: float) -> float:
        if self.temperature > 0:
            z = max(-60.0, min(60.0, delta / self.temperature))
            prob = 1.0 / (1.0 + math.exp(-z))
        return (1 - self.flip_rate) * prob + self.flip_rate * (1 - prob)


@register_flaw
@dataclass(frozen=True)
class AbsentSupervisor(Flaw):
    """The supervisor punishes only what it is there to see (AI Safety Gridworlds, Leike et al. 2017, the
    *absent supervisor*: an agent punished for the short path only while watched, and able to see whether it
    is, learns to take the shortcut when not; the essay's evaluatee that can tell evaluation from deployment).

    Tasks of the ``supervised`` world (:mod:`oversight_lab.worlds.supervision`) record ``spec["supervised"]``.
    Present (and on tasks without the marker, so the flaw is inert in other worlds): unchanged. Absent: the
    evaluator reads only the first ``reads`` items of the answer (default none) and judges by the visible
    features alone (in alchemy the distillate's tested properties, ``met``): the mercury in the recipe, and
    any warning of it, go unseen and so unpunished.
    """

    kind: ClassVar[str] = "absent_supervisor"
    reads: int = 0

    def __post_init__(self) -> None:
        if self.reads < 0:
            raise ValueError(f"absent_supervisor.reads must be >= 0, got {self.reads}")

    def perceive(self, obs: Observation) -> Observation:
        if obs.task.spec.get("supervised", True):
            return obs
        return HiddenInformation(budget=self.reads).perceive(obs)  # unwatched: hidden information
