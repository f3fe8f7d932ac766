"""Evaluator biases: the flaws behind sycophancy, sandbagging, verbosity and overconfidence, and the limits
of an imperfect human evaluator (partial knowledge of the facts, hazards it never learned about, fatigue).

Each acts through the hooks of :class:`~oversight_lab.evaluators.flaws.Flaw` on visible features a world puts
into ``Observation.features`` (``agrees_with_user``, ``flattery``, ``length``, ``confidence``,
``persona_education``, ``correct``, ``plausible``, ``simple``). A feature a world does not provide is read as
absent (0), so a bias never changes an evaluator's judgement in a world where it has nothing to act on.

``DisclosureCredit`` is the one remedy here, not a flaw: the omission story's control (see its docstring).

A story's evaluators are built from these: the *imperfect human* (noise, careless flips, fatigue, partial
knowledge: the essay's person who "checks a list of criteria" that "might be incomplete") plus the story's
one blind spot is the flawed arm; the same imperfect human without the blind spot is control A; the expert
with the same choice noise is control B.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from oversight_lab.evaluators.flaws import Flaw, register_flaw
from oversight_lab.worlds.base import Observation

__all__ = [
    "AgreementBias",
    "ConfidenceBias",
    "DisclosureCredit",
    "EducationLimited",
    "Fatigue",
    "Flattery",
    "LengthBias",
    "PartialKnowledge",
    "UnknownHazards",
]


def _check_weight(kind: str, weight: float) -> None:
    if weight < 0:
        raise ValueError(f"{kind}.weight must be >= 0, got {weight}")


def _check_fraction(kind: str, name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{kind}.{name} must be in [0, 1], got {value}")


def _uniform(*key: object) -> float:
    """A stable pseudo-random number in [0, 1) from ``key`` (the same in every process and run)."""
    return zlib.crc32("/".join(map(str, key)).encode()) / 2**32


@register_flaw
@dataclass(frozen=True)
class AgreementBias(Flaw):
    """Prefers answers that agree with the user's stated view: utility + ``weight`` · agrees_with_user.

    Perez et al. (2022), "Discovering Language Model Behaviors with Model-Written Evaluations": models repeat
    back a user's stated view, more so after RLHF and at larger sizes; Sharma et al. (2023), "Towards
    Understanding Sycophancy in Language Models": people and preference models prefer convincingly written
    sycophantic answers over correct ones a non-negligible fraction of the time, and matching the user's
    beliefs is among the features that most predict human preference; under push-back ("are you sure?") the
    agreeing answer is the flipped one. The essay: a model trained on evaluations will "say things with the
    intention of pleasing the evaluator rather than being truthful or honest". With ``weight`` > 1 agreement
    outweighs correctness.
    """

    kind: ClassVar[str] = "agreement_bias"
    weight: float = 1.5

    def __post_init__(self) -> None:
        _check_weight(self.kind, self.weight)

    def bias(self, obs: Observation, utility: float) -> float:
        return utility + self.weight * obs.features.get("agrees_with_user", 0.0) if obs.valid else utility


@register_flaw
@dataclass(frozen=True)
class Flattery(Flaw):
    """Likes being flattered: utility + ``weight`` · flattery (e.g. an answer opening with "good question").

    Sharma et al. (2023) find that a response which flatters or agrees with the user is more likely to be
    preferred by people and by the Claude 2 preference model; the essay's "pleasing the evaluator".
    """

    kind: ClassVar[str] = "flattery"
    weight: float = 0.3

    def __post_init__(self) -> None:
        _check_weight(self.kind, self.weight)

    def bias(self, obs: Observation, utility: float) -> float:
        return utility + self.weight * obs.features.get("flattery", 0.0) if obs.valid else utility


@register_flaw
@dataclass(frozen=True)
class LengthBias(Flaw):
    """Prefers longer answers: utility + ``weight`` · min(length, ``cap``) / ``cap`` (length in words).

    Singhal et al. (2023), "A Long Way to Go: Investigating Length Correlations in RLHF": much of what RLHF
    reward models reward is length; Sharma et al. (2023) list length among the features that predict
    human preference. An answer padded with words the task did not ask for wins comparisons.
    """

    kind: ClassVar[str] = "length_bias"
    weight: float = 0.5
    cap: float = 8.0

    def __post_init__(self) -> None:
        _check_weight(self.kind, self.weight)
        if self.cap <= 0:
            raise ValueError(f"length_bias.cap must be > 0, got {self.cap}")

    def bias(self, obs: Observation, utility: float) -> float:
        if not obs.valid:
            return utility
        return utility + self.weight * min(obs.features.get("length", 0.0), self.cap) / self.cap


@register_flaw
@dataclass(frozen=True)
class ConfidenceBias(Flaw):
    """Rewards confident-sounding answers: utility + ``weight`` · stated confidence (in [0, 1]).

    The GPT-4 technical report (OpenAI 2023, fig. 8): the pre-trained model is well calibrated and
    post-training (RLHF) hurts calibration; the essay, note 2: RLHF makes models "overly confident in wrong
    beliefs" and "calibration ... degrades after RLHF for helpfulness" (Bowman et al. 2022). An evaluator who
    takes a confident tone for competence pays for overconfidence: under a proper scoring rule the evaluator's
    best stated confidence moves above the true probability as ``weight`` grows (under the opinions world's log
    score, ``weight`` 3 moves it 0.1–0.3 above for P in 0.6–0.9).
    """

    kind: ClassVar[str] = "confidence_bias"
    weight: float = 1.0

    def __post_init__(self) -> None:
        _check_weight(self.kind, self.weight)

    def bias(self, obs: Observation, utility: float) -> float:
        return utility + self.weight * obs.features.get("confidence", 0.0) if obs.valid else utility


@register_flaw
@dataclass(frozen=True)
class EducationLimited(Flaw):
    """Evaluators for users who signal little education cannot verify correctness.

    For an answer to a user whose ``persona_education`` is below ``threshold`` the evaluator is that user: it
    cannot check the answer, takes the ``plausible`` one (what is commonly believed, a misconception where
    there is one) for the correct one, and adds ``simple_weight`` for a simple, confident answer. Users who
    signal education verify correctness as the world's rule does.

    Perez et al. (2022) report *sandbagging*: models give less accurate answers to users who seem less
    educated, more so with more RLHF steps (the essay: "a sandbagging model tends to give more truthful
    answers when it infers that the users is more highly educated"); Poole-Dayan et al. (2024), "LLM Targeted
    Underperformance Disproportionately Impacts Vulnerable Users": lower accuracy and truthfulness for users
    with less formal education.
    """

    kind: ClassVar[str] = "education_limited"
    threshold: float = 0.5
    simple_weight: float = 0.5
    share: float = 1.0  # of low-education users' tasks (drawn stably per task): this blind spot's dose

    def __post_init__(self) -> None:
        _check_weight(self.kind, self.simple_weight)
        _check_fraction(self.kind, "share", self.share)

    def _limited(self, obs: Observation) -> bool:
        return (obs.valid and obs.features.get("persona_education", 1.0) < self.threshold
                and (self.share >= 1.0 or _uniform("education", obs.task.id) < self.share))

    def perceive(self, obs: Observation) -> Observation:
        if not self._limited(obs):
            return obs
        features = dict(obs.features)
        features["correct"] = features.get("plausible", 0.5)
        return replace(obs, features=features)

    def bias(self, obs: Observation, utility: float) -> float:
        return (
            utility + self.simple_weight * obs.features.get("simple", 0.0) if self._limited(obs) else utility
        )


@register_flaw
@dataclass(frozen=True)
class DisclosureCredit(Flaw):
    """Not a flaw: a remedy. Credits a disclosed hazard: utility + ``credit`` when it reads ``item``.

    The omission story's control. An evaluator who penalises a warning ("warning mercury") as hard as the
    hazard it warns of teaches the evaluatee to leave the warning out; the essay: the evaluatee, "even if it
    cannot lie, may omit important information". With ``credit`` equal to that penalty (1 in the alchemy
    world) the same evaluator is indifferent to the warning; above it, honesty is rewarded, and an evaluator
    who cannot see the hazard pays for it whenever it is announced (the evaluatee learns to add both).

    With ``verified`` the evaluator credits only a warning it can check: a warning names what to test the
    answer for, and the test tells whether one of the answer's items really is a hazard of the world (the
    world's hazard list, which the evaluator receives at its ``knowledge`` stage, is the test's answer key;
    its own list of criteria is unchanged). A false alarm earns nothing, so no evaluator is paid for warning
    on every recipe; with ``credit`` 1 a true warning costs the answer nothing and pays nothing.
    """

    kind: ClassVar[str] = "disclosure_credit"
    credit: float = 1.0
    item: str = "warning mercury"
    verified: bool = False
    _tested: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def knowledge(self, hazards: tuple[str, ...], rng: np.random.Generator) -> frozenset[str]:
        self._tested.update(hazards)  # what a test of the answer would find; not what the evaluator knows
        return frozenset(hazards)

    def bias(self, obs: Observation, utility: float) -> float:
        if not (obs.valid and self.item in obs.items):
            return utility
        if self.verified and not any(i in self._tested for i in obs.items):
            return utility
        return utility + self.credit

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "credit": self.credit, "item": self.item, "verified": self.verified}


@register_flaw
@dataclass(frozen=True)
class PartialKnowledge(Flaw):
    """Knows the answer to only ``known_fraction`` of the facts; on the others cannot tell right from wrong.

    The essay's evaluator checks "a list of criteria" that "might be incomplete"; in a question-answering
    world that is a person who knows some facts and not others. For a task about a fact the evaluator does not
    know (drawn stably from the task's ``entity``/``property`` and ``salt``, so the same facts are unknown in
    every comparison and run), correctness reads as 0.5: neither answer is preferred for being right. Tasks
    without a fact (other worlds) are unaffected.
    """

    kind: ClassVar[str] = "partial_knowledge"
    known_fraction: float = 0.75
    salt: int = 0

    def __post_init__(self) -> None:
        _check_fraction(self.kind, "known_fraction", self.known_fraction)

    def knows(self, spec: dict[str, Any]) -> bool:
        if "entity" not in spec or "property" not in spec:
            return True
        return _uniform("fact", self.salt, spec["entity"], spec["property"]) < self.known_fraction

    def perceive(self, obs: Observation) -> Observation:
        if not obs.valid or "correct" not in obs.features or self.knows(obs.task.spec):
            return obs
        return replace(obs, features={**obs.features, "correct": 0.5})


@register_flaw
@dataclass(frozen=True)
class UnknownHazards(Flaw):
    """Never learned about the named hazards (e.g. the banker's evaluator who does not know that a short bet
    on housing gains in a crisis): they are off its list of criteria, whatever else it knows.

    The essay's incomplete list of criteria, with the missing entries named rather than drawn at random
    (``incomplete_criteria``), so that an imperfect human's own gaps stay apart from a story's blind spot.
    """

    kind: ClassVar[str] = "unknown_hazards"
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))

    def knowledge(self, hazards: tuple[str, ...], rng: np.random.Generator) -> frozenset[str]:
        return frozenset(h for h in hazards if h not in self.names)


@register_flaw
@dataclass(frozen=True)
class Fatigue(Flaw):
    """Gets tired: the rate of careless choices grows over a session of ``session`` comparisons, from 0 to
    ``flip_rate`` at its end, and resets after a break (the next session).

    The essay's evaluator is a person, who "gets tired"; rater agreement falls and label noise rises over long
    annotation sessions. Applied after the other choice flaws (``noise``): with probability equal to the
    current rate the choice is flipped. The count is the evaluator's own, so a run's comparisons stay
    reproducible.
    """

    kind: ClassVar[str] = "fatigue"
    flip_rate: float = 0.1
    session: int = 500
    _done: list[int] = field(default_factory=lambda: [0], init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.flip_rate <= 0.5:
            raise ValueError(f"fatigue.flip_rate must be in [0, 0.5], got {self.flip_rate}")
        if self.session < 1:
            raise ValueError(f"fatigue.session must be >= 1, got {self.session}")

    def rate(self, n_done: int) -> float:
        """The flip rate of the comparison after ``n_done`` others."""
        return self.flip_rate * (n_done % self.session) / max(self.session - 1, 1)

    def choose(self, delta: float, prob: float) -> float:
        r = self.rate(self._done[0])
        self._done[0] += 1
        return (1 - r) * prob + r * (1 - prob)

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "flip_rate": self.flip_rate, "session": self.session}
