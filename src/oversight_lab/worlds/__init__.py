"""Task domains with hidden gold. One file per world; each registers itself in ``WORLDS``."""

from oversight_lab.worlds.alchemy import AlchemyWorld
from oversight_lab.worlds.banking import BankingWorld
from oversight_lab.worlds.base import WORLDS, Answer, Observation, Task, World, make_world, register_world
from oversight_lab.worlds.opinions import OpinionsWorld
from oversight_lab.worlds.personas import PersonasWorld
from oversight_lab.worlds.supervision import SupervisedWorld

__all__ = [
    "WORLDS",
    "AlchemyWorld",
    "Answer",
    "BankingWorld",
    "Observation",
    "OpinionsWorld",
    "PersonasWorld",
    "SupervisedWorld",
    "Task",
    "World",
    "make_world",
    "register_world",
]
