"""What a scenario file holds: the dataclasses the loader builds from it (and code may build directly)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Dose", "Measure", "Preregistration", "Scenario", "Story"]


@dataclass(frozen=True)
class Preregistration:
    """What counts as a scenario's result, declared before its confirmation runs.

    ``primary``: the measure (a metric of the run or a story measure), read at ``optimizer``'s last
    checkpoint; ``contrast``: what is compared (e.g. the flawed arm's change minus the control's);
    ``direction``: ``up`` when the failure is a rise; ``min_effect``: the smallest contrast that counts.
    ``blocks``: the seed blocks reserved for confirmation (``config.SEED_BLOCKS``), never used in development.
    ``registered``: when, and ``history``: what was changed after seeing results during development (those
    changes are why development results are exploratory).
    """

    primary: str
    optimizer: str
    direction: Literal["up", "down"]
    min_effect: float
    contrast: str = "flawed change − control change (paired within replicates)"
    blocks: tuple[str, ...] = ("confirm", "replicate")
    registered: str = "2026-12-01"
    history: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.direction not in ("up", "down"):
            raise ValueError(f"preregistration.direction must be 'up' or 'down', got {self.direction!r}")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sources: tuple[str, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)
    prereg: Preregistration | None = None


@dataclass(frozen=True)
class Measure:
    """One failure metric of a story.

    ``source="items"``: ``key`` is a field of the per-item records (restricted to records matching ``where``),
    compared before/after on the same items; ``binary`` fields also get McNemar's test; ``ece_of`` makes the
    measure the expected calibration error of that confidence field against ``key`` (correctness).
    ``source="checkpoint"``: ``key`` is a metric of the checkpoint rows (sampled answers).
    ``failure_up``: a rise is the failure (False: a fall is). A change counts when its 95% interval
    excludes zero and it is at least ``min_effect``. ``bounds``: the measure's range (binary indicators and
    rates are in [0, 1]), which every interval respects. A story's first measure is its pre-registered primary
    measure.
    """

    key: str
    label: str
    source: Literal["items", "checkpoint"] = "items"
    binary: bool = False
    failure_up: bool = True
    where: dict[str, Any] = field(default_factory=dict)
    ece_of: str | None = None
    min_effect: float = 0.05  # smallest change that counts as the failure emerging
    bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.bounds is None and self.binary and not self.ece_of:
            object.__setattr__(self, "bounds", (0.0, 1.0))


@dataclass(frozen=True)
class Dose:
    """A story's blind spot by strength: parameter ``param`` of the flawed arm's flaw ``flaw`` (its kind)
    takes ``values``, ordered from none (the first: the flawed arm is then control A) to strong; ``label`` names
    it. ``oversight-lab run STORY --dose`` runs one arm per value (:mod:`oversight_lab.analyses.dose`)."""

    flaw: str
    param: str
    values: tuple[float, ...]
    label: str

    def __post_init__(self) -> None:
        if len(self.values) < 2:
            raise ValueError(f"dose of {self.flaw}.{self.param}: at least two values (none, strong)")


@dataclass(frozen=True)
class Story:
    """A scenario read as one of the essay's failures: its measures (the first is the primary one), its
    question in one sentence (the report opens with it) and its dose (the blind spot by strength)."""

    name: str
    failure: str  # the failure in plain words, for the verdict
    measures: tuple[Measure, ...]
    optimizer: str = "rl"  # whose final checkpoint is "after RLHF"
    question: str = ""
    dose: Dose | None = None

    @property
    def scenario(self) -> Scenario:
        from oversight_lab.scenarios import get_scenario

        return get_scenario(self.name)

    @property
    def primary(self) -> Measure:
        return self.measures[0]

    def preregistration(self, **given: Any) -> Preregistration:
        """The pre-registration a story declares by its first measure (direction, minimum effect) at its
        optimiser's end; ``given`` fields (a scenario file's ``prereg``) replace the derived ones."""
        m = self.primary
        derived = {
            "primary": f"{m.key}: {m.label}",
            "optimizer": self.optimizer,
            "direction": "up" if m.failure_up else "down",
            "min_effect": m.min_effect,
        }
        return Preregistration(**{**derived, **given})
