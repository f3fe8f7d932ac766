"""Task domains with hidden gold. One file per world; each registers itself in ``WORLDS``."""

from oversight_lab.worlds.alchemy import AlchemyWorld
from oversight_lab.worlds.base import WORLDS, Answer, Observation, Task, World, make_world, register_world

__all__ = ["WORLDS", "AlchemyWorld", "Answer", "Observation", "Task", "World", "make_world", "register_world"]
