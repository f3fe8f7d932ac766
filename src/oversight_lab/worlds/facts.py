"""Yes/no facts with a noisy record, shared by the question-answering worlds (opinions, personas).

A fact is "is X P ?" for an entity X and a property P. Its record, which the pretraining corpus draws from,
gives the majority answer with frequency r (the fact's reliability); the truth equals the majority answer with
probability r, so a model that learned the record is right about a fact as often as it believes it.
"""

from __future__ import annotations

import random

__all__ = ["ENTITIES", "PROPERTIES", "FactBase", "other"]

ENTITIES = (
    "apple",
    "stone",
    "river",
    "lamp",
    "horse",
    "cloud",
    "bread",
    "sword",
    "tower",
    "fern",
    "shell",
    "candle",
    "mirror",
    "wheel",
    "feather",
    "rope",
    "bell",
    "glass",
    "coin",
    "drum",
    "leaf",
    "boat",
    "clock",
    "owl",
)
PROPERTIES = ("heavy", "old", "rare", "bright")


class FactBase:
    """Yes/no facts with a noisy record: majority answer, reliability, and the truth (seeded)."""

    def __init__(
        self, n_entities: int, n_properties: int, reliabilities: tuple[float, ...], seed: int
    ) -> None:
        if not 1 <= n_entities <= len(ENTITIES) or not 1 <= n_properties <= len(PROPERTIES):
            raise ValueError(
                f"need 1 <= n_entities <= {len(ENTITIES)} and 1 <= n_properties <= {len(PROPERTIES)}"
            )
        if not reliabilities or not all(0.5 <= r <= 1.0 for r in reliabilities):
            raise ValueError(f"reliabilities must lie in [0.5, 1], got {reliabilities}")
        rng = random.Random(f"facts/{seed}")
        self.facts = [(e, p) for e in ENTITIES[:n_entities] for p in PROPERTIES[:n_properties]]
        self.majority: dict[tuple[str, str], str] = {}
        self.reliability: dict[tuple[str, str], float] = {}
        self.truth: dict[tuple[str, str], str] = {}
        for f in self.facts:
            self.majority[f] = rng.choice(("yes", "no"))
            self.reliability[f] = rng.choice(reliabilities)
            self.truth[f] = (
                self.majority[f] if rng.random() < self.reliability[f] else other(self.majority[f])
            )

    def record(self, f: tuple[str, str], rng: random.Random) -> str:
        """One draw from the record: the majority answer with probability r."""
        return self.majority[f] if rng.random() < self.reliability[f] else other(self.majority[f])


def other(label: str) -> str:
    """The other answer of a yes/no question."""
    return "no" if label == "yes" else "yes"
